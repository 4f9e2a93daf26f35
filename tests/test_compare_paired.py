"""`bench compare` with per-example predictions on both sides: a score drop beyond the
threshold fails only when the paired test also calls the new run worse."""
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from bench.cli import main
from bench.record.predictions import SplitPredictions, save_predictions
from bench.record.store import SCHEMA_VERSION, write_json_atomic

CELL = "minilm--lora--tweets"
DATASET = {"name": "tweets", "source": "tweets", "seed": 42}


def write_run(folder: Path, labels: np.ndarray, preds: np.ndarray, dataset=DATASET) -> Path:
    probs = np.eye(3)[preds] * 0.9 + 0.1 / 3
    save_predictions(folder / f"{CELL}.predictions.npz", {"test": SplitPredictions(labels, probs)})
    write_json_atomic(folder / f"{CELL}.json", {
        "schema_version": SCHEMA_VERSION, "cell_id": CELL, "suite": "t", "status": "ok",
        "config": {"dataset": dataset}, "predictions_file": f"{CELL}.predictions.npz",
        "evaluation": {"test": {"accuracy": accuracy_score(labels, preds),
                                "f1_macro": f1_score(labels, preds, average="macro")}}})
    return folder


def spoil(rng, labels, preds, count):
    """`count` examples that were right become wrong."""
    spoiled = preds.copy()
    right = rng.choice(np.flatnonzero(preds == labels), count, replace=False)
    spoiled[right] = (labels[right] + 1) % 3
    return spoiled


def compare(old: Path, new: Path) -> int:
    return main(["compare", str(old), str(new), "--md"])


def test_a_drop_inside_the_noise_is_not_a_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 150)
    preds = np.where(rng.random(150) < 0.75, labels, (labels + 1) % 3)
    old = write_run(tmp_path / "old", labels, preds)
    new = write_run(tmp_path / "new", labels, spoil(rng, labels, preds, 3))  # -2 points
    assert compare(old, new) == 0
    out, _ = capsys.readouterr()
    assert "beyond limit -0.01, but tied at 95%" in out and "noise, not a regression" in out


def test_a_real_drop_is_a_regression_with_its_paired_evidence(tmp_path, capsys):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 1000)
    preds = np.where(rng.random(1000) < 0.8, labels, (labels + 1) % 3)
    old = write_run(tmp_path / "old", labels, preds)
    new = write_run(tmp_path / "new", labels, spoil(rng, labels, preds, 80))  # -8 points
    assert compare(old, new) == 1
    _, err = capsys.readouterr()
    assert "limit -0.01; worse at 95% (paired interval" in err and "McNemar p=" in err


def test_other_test_examples_fall_back_to_the_threshold(tmp_path, capsys):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 150)
    preds = np.where(rng.random(150) < 0.75, labels, (labels + 1) % 3)
    old = write_run(tmp_path / "old", labels, preds)
    new = write_run(tmp_path / "new", labels, spoil(rng, labels, preds, 3),
                    dataset={**DATASET, "seed": 7})  # another split: not pairable
    assert compare(old, new) == 1
    _, err = capsys.readouterr()
    assert "(-0.0200; limit -0.01)" in err
