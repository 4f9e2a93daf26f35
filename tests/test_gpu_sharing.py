"""Several cells on one GPU (the Ray executor's fractional share), shown on CPU with a custom Ray
resource standing in for the GPU: k cells really run at once, never more; their records are
marked, and the report keeps their training times out of every cost column."""
import json
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from bench.cli import main
from bench.executors.gpu_sharing import GpuShare, share_from_records, suite_share
from bench.record import CellRecord
from bench.record.rows import cell_row
from bench.suite.parser import load_suite, parse_suite
from test_ray import interval, needs_ray, small_scaleout_suite

GIB = 1 << 30


def test_cells_per_gpu_is_checked_where_it_is_written(tmp_path):
    for value, message in (("0", "expected a count >= 1 or 'auto', got 0"),
                           ("'some'", "expected an integer or one of 'auto'"),
                           ("2\ngpus_per_cell = 1", "set either cells_per_gpu or gpus_per_cell")):
        path = small_scaleout_suite(tmp_path)
        path.write_text(path.read_text().replace("cpus_per_cell = 1",
                                                 f"cpus_per_cell = 1\ncells_per_gpu = {value}"))
        _, problems = parse_suite(path)
        assert any(p.startswith(f"{path} [suite].cells_per_gpu: {message}") for p in problems), \
            problems


def measured(cell_id: str, reserved_gib: float | None, gpu_gib: float = 80) -> CellRecord:
    return CellRecord.from_dict({
        "cell_id": cell_id, "status": "ok",
        "training": {"cuda_max_reserved_bytes": None if reserved_gib is None
                     else int(reserved_gib * GIB)},
        "environment": {"hardware": {"gpu_memory_bytes": int(gpu_gib * GIB)}}})


def test_auto_packs_as_many_cells_as_the_largest_measured_peak_allows():
    share = share_from_records([measured("a", 2.5), measured("b", 6.0), measured("cpu", None)])
    assert share.cells_per_gpu == 10  # 80% of 80 GiB over the 6 GiB peak of b
    assert share.fraction == pytest.approx(0.1)
    assert "(b: 6.00 GiB)" in share.basis
    alone = share_from_records([measured("cpu", None)])
    assert alone.cells_per_gpu == 1 and alone.mark() is None
    assert "no earlier record" in alone.basis


def test_a_fraction_of_a_gpu_per_cell_shares_it_too():
    assert suite_share(None, 0.5, []).cells_per_gpu == 2
    assert suite_share(None, 1, []).mark() is None
    assert suite_share(None, 0, []) is None
    assert suite_share(4, 0, []).fraction == 0.25


def at_once(spans: list) -> int:
    """The most spans that overlap at one moment (they start at one of the starts)."""
    return max(sum(s[0] <= start < s[1] for s in spans) for start, _ in spans)


@needs_ray
@pytest.mark.slow  # Ray starts a cluster: minutes on a busy two-core host
def test_k_cells_share_a_stand_in_gpu_at_once_and_are_marked(tmp_path, monkeypatch):
    import ray

    from bench.executors.ray_tasks import RayExecutor
    from bench.executors.runner import run_suite

    monkeypatch.chdir(tmp_path)
    path = small_scaleout_suite(tmp_path)
    path.write_text(path.read_text().replace("cpus_per_cell = 1",
                                             "cpus_per_cell = 1\ncells_per_gpu = 2"))
    suite = replace(load_suite(path), output_dir=tmp_path / "results")
    share = suite_share(suite.cells_per_gpu, suite.gpus_per_cell, [])
    # four CPUs: without the stand-in GPU's share all four cells could run at once
    ray.init(num_cpus=4, resources={"fake_gpu": 1}, include_dashboard=False,
             log_to_driver=False)
    try:
        executor = RayExecutor(cpus_per_cell=1, gpu_share=share, gpu_resource="fake_gpu")
        summary = run_suite(suite, suite.cells, executor, console=Console(stderr=True))
    finally:
        ray.shutdown()
    assert len(summary.records) == 4 and not summary.failed
    records = [json.loads(p.read_text()) for p in sorted(suite.output_dir.glob("*.json"))]
    assert [r["device_sharing"] for r in records] == [
        {"resource": "fake_gpu", "cells_per_device": 2, "fraction": 0.5,
         "basis": "cells_per_gpu = 2"}] * 4
    spans = [interval(r) for r in records]
    assert at_once(spans) == 2, spans  # two at once, never the four the CPUs allowed

    rows = [cell_row(CellRecord.from_dict(r)) for r in records]
    assert all(row.train_runtime_s is None and row.train_samples_per_s is None
               and row.device_shared_by == 2 and row.f1_macro is not None for row in rows)
    assert all(r["training"]["runtime_s"] > 0 for r in records)  # kept in the record, marked
    report = tmp_path / "REPORT.md"
    assert main(["report", str(suite.output_dir), "--md", "-o", str(report)]) == 0
    text = report.read_text()
    assert "**Shared GPU:** 4 cell(s) ran with up to 2 cells on one GPU at once" in text
    assert "with up to 2 cells at once (cells_per_gpu = 2): the times below are not" in text


def test_cells_per_gpu_needs_the_ray_executor(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = small_scaleout_suite(tmp_path)
    path.write_text(path.read_text().replace("cpus_per_cell = 1",
                                             "cpus_per_cell = 1\ncells_per_gpu = 2"))
    assert main(["run", str(path), "--only", "full"]) == 2
    assert f"{path} [suite].cells_per_gpu: several cells on one GPU need the Ray executor" in \
        capsys.readouterr().err
    assert not Path("runs").exists() or not list(Path("runs").rglob("*.json"))


def test_a_whole_gpu_per_cell_marks_nothing():
    assert GpuShare.of_cells(1, "x").mark() is None
    assert GpuShare(0.4, "gpus_per_cell = 0.4").mark().cells_per_device == 2
