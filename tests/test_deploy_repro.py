"""benchmarks/deploy_repro.py end to end on a tiny BERT cell that the test trains and saves:
the saved model is reloaded, its variants built once and measured twice."""
import importlib.util
import json
from pathlib import Path

import pytest

from bench.cli import main as bench_main

ROOT = Path(__file__).resolve().parent.parent
SUITE = """
[suite]
name = "repro"
[defaults.training]
epochs = 1
batch_size = 16
threads = 1
baseline = false
evaluate_before = false
[defaults.dataset]
train_size = 64
validation_size = 16
test_size = 32
max_length = 32
[models.tiny-bert]
source = "tiny-bert"
[datasets.tweets]
source = "tweets"
[methods.lora]
r = 4
[deploy]
variants = [["int8"]]
batch_sizes = [1, 8]
sequence_length = 16
warmup_calls = 1
rounds = 6
timing_processes = 1
round_min_calls = 2
round_min_duration_s = 0.0
"""


def load_script():
    spec = importlib.util.spec_from_file_location("deploy_repro", ROOT / "benchmarks" / "deploy_repro.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # a tiny cell trained, then deployed and timed twice: over a minute
def test_deploy_repro_measures_the_saved_cell_twice(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEFT_BENCH_SOURCE_COMMIT", "abc1234")  # also outside a git checkout
    Path("repro.toml").write_text(SUITE)
    assert bench_main(["run", "repro.toml"]) == 0
    (cell_id,) = [p.stem for p in (tmp_path / "runs" / "repro").glob("*.json")]
    script = load_script()
    capsys.readouterr()
    assert script.main(["repro.toml", cell_id, "--round-min-calls", "1", "--json", "out.json"]) == 0
    out = "\n".join(line for line in capsys.readouterr().out.splitlines()
                    if not line.lstrip().startswith("timing batch"))  # the progress lines
    assert out.index("batch 8:") < out.index("batch 1:") and "run 2 / run 1" in out
    summary = json.loads(Path("out.json").read_text())
    assert summary["settings"]["rounds"] == 6 and summary["settings"]["round_min_calls"] == 1
    assert summary["git"]["commit"] == "abc1234" and summary["versions"]["torch"]
    assert isinstance(summary["cpu"]["flags"]["avx2"], bool) and summary["threads"] == 1
    assert len(summary["machine_load"]) == 2
    for size in ("1", "8"):
        ratios = summary["second_over_first"][size]
        assert set(ratios) == {"fp32/torch", "fp32/onnxruntime", "int8/torch", "int8/onnxruntime"}
        assert ratios["fp32/torch"] == 1.0  # the reference against itself, in both runs
        for name, ratio in ratios.items():
            first, second = (run[size]["speedup"]["ratio"]
                             for run in summary["variants"][name]["runs"])
            assert abs(ratio - second / first) < 1e-12 and ratio > 0
        assert summary["largest_disagreement"][size] == max(abs(r - 1) for r in ratios.values())


def test_deploy_repro_names_a_missing_cell(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("repro.toml").write_text(SUITE)
    assert load_script().main(["repro.toml", "no-such-cell"]) == 2
    assert "no deployed cell 'no-such-cell'" in capsys.readouterr().err
