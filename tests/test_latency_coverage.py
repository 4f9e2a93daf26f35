"""benchmarks/latency_coverage.py: the coverage count on synthetic runs, and the script end to
end on a tiny BERT cell that the test trains and saves (2 runs of 2 timing processes)."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from bench.cli import main as bench_main
from bench.record.deployment import DeployedVariant
from bench.record.timing import Speedup
from test_deploy_repro import SUITE  # a tiny BERT cell, int8 on torch and onnxruntime

ROOT = Path(__file__).resolve().parent.parent


def load_script(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # as when run as a script
    spec = importlib.util.spec_from_file_location("latency_coverage",
                                                  ROOT / "benchmarks" / "latency_coverage.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "latency_coverage", module)  # its dataclass looks it up
    spec.loader.exec_module(module)
    return module


def timed(variant: str, ratio: float, low: float, high: float) -> DeployedVariant:
    return DeployedVariant(variant, [] if variant == "fp32" else [variant], "torch", status="ok",
                           reference="fp32/torch",
                           speedup={1: Speedup(ratio, low, high), 8: Speedup(ratio, low, high)})


def test_coverage_counts_every_ordered_pair_variant_and_batch_size(monkeypatch):
    script = load_script(monkeypatch)
    runs = [[timed("fp32", 1.0, 1.0, 1.0), timed("int8", 1.5, 1.4, 1.6)],
            [timed("fp32", 1.0, 1.0, 1.0), timed("int8", 1.55, 1.5, 1.7)],
            [timed("fp32", 1.0, 1.0, 1.0), timed("int8", 1.8, 1.7, 1.9)]]
    checks = script.coverage_checks(runs)
    assert len(checks) == 3 * 2 * 2  # ordered pairs x batch sizes; the reference is no check
    inside = {(c.interval_run, c.estimate_run) for c in checks if c.inside}
    assert inside == {(1, 2), (2, 1)}  # 1.55 in [1.4, 1.6], 1.5 in [1.5, 1.7]; 1.8 in neither
    assert all(c.variant == "int8 / torch" for c in checks)


@pytest.mark.slow
def test_latency_coverage_measures_a_saved_tiny_cell_twice(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("repro.toml").write_text(SUITE)
    assert bench_main(["run", "repro.toml"]) == 0
    (cell_id,) = [p.stem for p in (tmp_path / "runs" / "repro").glob("*.json")]
    script = load_script(monkeypatch)
    assert script.main(["runs/repro", "--cell", cell_id, "--runs", "2",
                        "--timing-processes", "2", "--json", "out.json"]) == 0
    summary = json.loads(Path("out.json").read_text())
    assert summary["runs"] == 2 and summary["processes_per_run"] == 2
    assert summary["checks"] == 2 * 3 * 2  # ordered pairs x 3 variants x batch sizes 1 and 8
    assert 0 <= summary["coverage"] <= 1
    assert summary["inside"] == sum(d["inside"] for d in summary["details"])
    assert summary["coverage"] == summary["inside"] / summary["checks"]
    assert isinstance(summary["cpu_flags"]["avx2"], bool) and summary["commit"]
    assert summary["settings"]["timing_processes"] == 2
    assert "repeat-run speed-ups inside another run's interval" in capsys.readouterr().out


def test_latency_coverage_names_what_is_wrong_in_one_line(tmp_path, monkeypatch, capsys):
    script = load_script(monkeypatch)
    assert script.main([str(tmp_path), "--cell", "x", "--runs", "1"]) == 2
    assert capsys.readouterr().err.strip() == "error: --runs: expected at least 2 (pairs of " \
                                              "runs), got 1"
    assert script.main([str(tmp_path), "--cell", "no-such-cell"]) == 2
    assert "expected one deployed cell matching 'no-such-cell', found: none" in \
        capsys.readouterr().err
