"""The Ray executor: cells of one suite run at once on a local Ray, and every record is stored."""
import importlib.util
import json
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.cli import main
from bench.errors import BenchInputError

SMOKE = Path(__file__).resolve().parent.parent / "suites" / "smoke.toml"
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray is not installed (pip install 'peft-bench[ray]')")

# suites/scaleout.toml (benchmarks/ray_speedup.py times it), with cells cut down to seconds.
SCALEOUT = Path(__file__).resolve().parent.parent / "suites" / "scaleout.toml"
SMALLER = {"train_size = 4000": "train_size = 64", "validation_size = 300": "validation_size = 16",
           "test_size = 500": "test_size = 32", "epochs = 3": "epochs = 1"}


def small_scaleout_suite(folder: Path) -> Path:
    text = SCALEOUT.read_text()
    for old, new in SMALLER.items():
        assert old in text, f"suites/scaleout.toml no longer says {old!r}"
        text = text.replace(old, new)
    path = folder / "scaleout.toml"
    path.write_text(text)
    return path


def interval(record: dict) -> tuple[datetime, datetime]:
    return (datetime.fromisoformat(record["started_at"]),
            datetime.fromisoformat(record["finished_at"]))


@needs_ray
@pytest.mark.slow  # a Ray cluster starts: about a minute
def test_two_workers_run_cells_at_once_and_every_record_is_stored(tmp_path, monkeypatch, capsys):
    import ray

    monkeypatch.chdir(tmp_path)
    assert main(["run", str(small_scaleout_suite(tmp_path)), "--executor", "ray",
                 "--workers", "2"]) == 0
    files = sorted((tmp_path / "runs" / "scaleout").glob("*.json"))
    records = [json.loads(path.read_text()) for path in files]
    assert [r["cell_id"] for r in records] == [
        "tiny-bert--full--tweets", "tiny-bert--ia3--tweets", "tiny-bert--lora--tweets",
        "tiny-bert--lora-r8--tweets"]
    assert all(r["status"] == "ok" and r["evaluation"]["test"]["n"] == 32 for r in records)
    spans = [interval(r) for r in records]
    overlapping = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:]
                   if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, f"no two cells ran at once: {spans}"
    assert all(r["device"]["torch_threads"] == 1 for r in records)
    assert not ray.is_initialized()  # the executor started Ray, so it shut it down
    assert "4 ok, 0 failed" in capsys.readouterr().err


def test_missing_ray_is_one_line(monkeypatch):
    from bench.executors.ray_tasks import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(BenchInputError, match=r"^the Ray executor needs the ray package: "
                                              r"pip install 'peft-bench\[ray\]'$"):
        RayExecutor()


@needs_ray
def test_workers_with_an_address_is_bad_input(capsys):
    assert main(["run", str(SMOKE), "--executor", "ray", "--address", "ray://x:10001",
                 "--workers", "2"]) == 2
    assert "--workers applies to a local Ray only" in capsys.readouterr().err


@needs_ray
def test_a_cell_asking_for_more_than_the_cluster_has_is_refused():
    """Ray would keep such a task waiting forever; the executor says why instead."""
    from bench.executors.ray_tasks import RayExecutor

    executor = RayExecutor(gpus_per_cell=1)
    executor.ray = SimpleNamespace(cluster_resources=lambda: {"CPU": 2.0})
    with pytest.raises(BenchInputError, match=r"asks for 1 GPU\(s\).*cluster has 0"):
        executor.check_resources()

