"""`bench compare`: the regression gate between two result folders, on synthetic records."""
from pathlib import Path

import pytest

from bench.cli import main
from bench.record.store import SCHEMA_VERSION, write_json_atomic

CELL = "minilm--lora--tweets"
ENVIRONMENT = {"hardware": {"cpu": "AMD EPYC", "torch_threads": 2},
               "cpu": {"model": "AMD EPYC", "logical_cores": 2,
                       "flags": {"avx2": True, "avx512f": True, "avx512_vnni": True,
                                 "avx512_bf16": True, "amx": False}}}


def record(cell_id: str = CELL, f1: float = 0.80, accuracy: float = 0.85,
           p50_b32: float = 40.0, file_bytes: int = 2_000_000) -> dict:
    """A finished cell with one deployment variant (int8 on onnxruntime)."""
    return {
        "schema_version": SCHEMA_VERSION, "cell_id": cell_id, "suite": "t", "status": "ok",
        "environment": ENVIRONMENT,
        "evaluation": {"test": {"accuracy": accuracy, "f1_macro": f1}},
        "artefacts": {"bytes": 1_000_000},
        "deployment": [{
            "variant": "int8", "backend": "onnxruntime", "status": "ok", "reason": None,
            "metrics": {"accuracy": accuracy - 0.01, "f1_macro": f1 - 0.01},
            "latency": {"1": {"p50_ms": 4.0}, "32": {"p50_ms": p50_b32}},
            "footprint": {"file_bytes": file_bytes}}],
    }


def write(folder: Path, *records: dict) -> Path:
    for r in records:
        write_json_atomic(folder / f"{r['cell_id']}.json", r)
    return folder


@pytest.fixture
def baseline(tmp_path) -> Path:
    return write(tmp_path / "baseline", record(), record("minilm--full--tweets", f1=0.82))


def compare(baseline: Path, new: Path, *options: str) -> int:
    return main(["compare", str(baseline), str(new), "--md", *options])


def test_improvement_passes(baseline, tmp_path, capsys):
    new = write(tmp_path / "new", record(f1=0.83, accuracy=0.88, p50_b32=30.0),
                record("minilm--full--tweets", f1=0.82))
    assert compare(baseline, new) == 0
    out, err = capsys.readouterr()
    assert "| minilm--lora--tweets | fine-tuned | F1 macro | 0.8000 | 0.8300 | +0.0300 | better |" in out
    assert "| int8/onnxruntime | p50 ms (b=32) | 40.00 | 30.00 | -25.0% | better |" in out
    assert "no regression" in err


def test_f1_drop_beyond_threshold_fails_and_names_cell_and_metric(baseline, tmp_path, capsys):
    new = write(tmp_path / "new", record(f1=0.75), record("minilm--full--tweets", f1=0.82))
    assert compare(baseline, new) == 1
    out, err = capsys.readouterr()
    assert "| minilm--lora--tweets | fine-tuned | F1 macro | 0.8000 | 0.7500 | -0.0500 | " \
           "**REGRESSION: limit -0.01** |" in out
    assert "regression: minilm--lora--tweets fine-tuned F1 macro: 0.8000 -> 0.7500 " \
           "(-0.0500; limit -0.01)" in err
    assert "minilm--full--tweets" not in err  # unchanged cells are not blamed


def test_latency_regression_fails(baseline, tmp_path, capsys):
    new = write(tmp_path / "new", record(p50_b32=48.0), record("minilm--full--tweets", f1=0.82))
    assert compare(baseline, new) == 1
    err = capsys.readouterr().err
    assert "minilm--lora--tweets int8/onnxruntime p50 ms (b=32): 40.00 -> 48.00 " \
           "(+20.0%; limit +15%)" in err
    assert "b=1" not in err


def test_size_regression_fails(baseline, tmp_path, capsys):
    new = write(tmp_path / "new", record(file_bytes=2_500_000), record("minilm--full--tweets", f1=0.82))
    assert compare(baseline, new) == 1
    assert "int8/onnxruntime disk MB: 2.00 -> 2.50 (+25.0%; limit +5%)" in capsys.readouterr().err


def test_thresholds_from_the_command_line_change_the_outcome(baseline, tmp_path):
    new = write(tmp_path / "new", record(f1=0.77, p50_b32=44.0),
                record("minilm--full--tweets", f1=0.82))
    assert compare(baseline, new) == 1  # defaults: 0.01 F1 drop, 15% latency: F1 fails
    assert compare(baseline, new, "--max-f1-drop", "0.05") == 0
    assert compare(baseline, new, "--max-f1-drop", "0.05", "--max-latency-increase", "0.05") == 1


def test_thresholds_from_a_suite_and_the_command_line_overrides_them(baseline, tmp_path):
    new = write(tmp_path / "new", record(f1=0.77, p50_b32=44.0),
                record("minilm--full--tweets", f1=0.82))
    suite = tmp_path / "suite.toml"
    suite.write_text("[models.m]\n[datasets.d]\n[methods.lora]\n"
                     "[compare]\nmax_f1_drop = 0.05\nmax_latency_increase = 0.05\n")
    assert compare(baseline, new, "--suite", str(suite)) == 1  # latency +10% > 5%
    assert compare(baseline, new, "--suite", str(suite), "--max-latency-increase", "0.2") == 0
    suite.write_text("[models.m]\n[datasets.d]\n[methods.lora]\n[compare]\nmax_f1_dorp = 1\n")
    assert compare(baseline, new, "--suite", str(suite)) == 2  # a mistyped key is bad input


def test_missing_cell_or_variant_in_new_is_a_regression(baseline, tmp_path, capsys):
    lost_variant = record("minilm--full--tweets", f1=0.82)
    lost_variant["deployment"][0].update(status="failed", reason="export failed")
    new = write(tmp_path / "new", lost_variant, record("minilm--ia3--tweets"))
    assert compare(baseline, new) == 1
    out, err = capsys.readouterr()
    assert "regression: minilm--lora--tweets (cell) status: ok -> missing (missing in new)" in err
    assert "minilm--full--tweets int8/onnxruntime status: ok -> failed (export failed)" in err
    assert "| minilm--ia3--tweets | (cell) | status | missing | ok |  | only in new |" in out
    assert "ia3" not in err


def test_failed_cell_in_new_is_a_regression(baseline, tmp_path, capsys):
    failed = {"schema_version": SCHEMA_VERSION, "cell_id": CELL, "suite": "t", "status": "failed",
              "error": {"phase": "train", "type": "CellFailed", "message": "loss is NaN"}}
    new = write(tmp_path / "new", record("minilm--full--tweets", f1=0.82))
    write_json_atomic(new / "failed" / f"{CELL}.json", failed)
    assert compare(baseline, new) == 1
    assert "fine-tuned status: ok -> failed (loss is NaN)" in capsys.readouterr().err


def test_rich_table_is_the_default_output(baseline, tmp_path, capsys):
    new = write(tmp_path / "new", record(), record("minilm--full--tweets", f1=0.82))
    assert main(["compare", str(baseline), str(new)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].strip() == "minilm--full--tweets"  # one table per cell
    assert "minilm--lora--tweets" in out and "p50 ms (b=32)" in out and "| " not in out


@pytest.mark.parametrize("which", ["baseline", "new"])
def test_bad_folder_is_one_line_exit_2(baseline, tmp_path, capsys, which):
    empty = tmp_path / "empty"
    empty.mkdir()
    folders = {"baseline": [str(empty), str(baseline)], "new": [str(baseline), str(tmp_path / "nope")]}
    assert main(["compare", *folders[which]]) == 2
    err = capsys.readouterr().err
    assert ("no result files" in err) if which == "baseline" else ("not found" in err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_cell_that_failed_in_the_baseline_and_now_passes_is_better(tmp_path, capsys):
    failed = {"schema_version": SCHEMA_VERSION, "cell_id": CELL, "suite": "t", "status": "failed",
              "error": {"phase": "train", "type": "CellFailed", "message": "loss is NaN"}}
    old = write(tmp_path / "old", record("minilm--full--tweets"))
    write_json_atomic(old / "failed" / f"{CELL}.json", failed)
    new = write(tmp_path / "new", record("minilm--full--tweets"), record())
    assert compare(old, new) == 0
    assert "| minilm--lora--tweets | fine-tuned | status | failed | ok |  | better |" in \
        capsys.readouterr().out
