"""`bench compare` knows seeds: with 3 or more seeds of a cell on both sides, a seed whose score
dropped beyond the threshold is judged by the method-level test of its group (seed and example
noise), so the gate does not fire on seed noise; a drop of the whole group still fails it. A
cell whose configuration key changed says so."""
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from bench.cli import main
from bench.record.predictions import SplitPredictions, save_predictions
from bench.record.store import SCHEMA_VERSION, write_json_atomic

GROUP = "minilm--lora--tweets"
DATASET = {"name": "tweets", "source": "tweets", "seed": 42}


def write_seed(folder: Path, seed: int, labels: np.ndarray, preds: np.ndarray,
               config_hash: str = "a" * 16) -> None:
    cell = f"{GROUP}--seed{seed}"
    probs = np.eye(3)[preds] * 0.9 + 0.1 / 3
    save_predictions(folder / f"{cell}.predictions.npz", {"test": SplitPredictions(labels, probs)})
    write_json_atomic(folder / f"{cell}.json", {
        "schema_version": SCHEMA_VERSION, "cell_id": cell, "suite": "t", "status": "ok",
        "seed": seed, "seed_group": GROUP, "config_hash": config_hash,
        "config": {"dataset": DATASET, "training": {"learning_rate": 0.004, "seed": seed}},
        "predictions_file": f"{cell}.predictions.npz",
        "evaluation": {"test": {"accuracy": accuracy_score(labels, preds),
                                "f1_macro": f1_score(labels, preds, average="macro")}}})


def seeds(rng, labels: np.ndarray, accuracies: list[float]) -> list[np.ndarray]:
    return [np.where(rng.random(len(labels)) < accuracy, labels, (labels + 1) % 3)
            for accuracy in accuracies]


def write_group(folder: Path, labels, predictions, **keys) -> Path:
    for seed, preds in enumerate(predictions, start=1):
        write_seed(folder, seed, labels, preds, **keys)
    return folder


def test_one_seed_below_another_is_seed_noise_when_the_groups_agree(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    old_runs = seeds(rng, labels, [0.80, 0.74, 0.77])
    new_runs = seeds(rng, labels, [0.74, 0.80, 0.77])  # seed 1 drops 6 points, seed 2 gains
    old = write_group(tmp_path / "old", labels, old_runs)
    new = write_group(tmp_path / "new", labels, new_runs)
    assert main(["compare", str(old), str(new), "--md"]) == 0
    out = capsys.readouterr().out
    assert "seed group, 3 vs 3 seeds" in out and "noise, not a regression" in out


def test_a_whole_group_that_dropped_is_a_regression(tmp_path, capsys):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 600)
    old = write_group(tmp_path / "old", labels, seeds(rng, labels, [0.80, 0.79, 0.81]))
    new = write_group(tmp_path / "new", labels, seeds(rng, labels, [0.70, 0.69, 0.71]))
    assert main(["compare", str(old), str(new), "--md"]) == 1
    err = capsys.readouterr().err
    assert "worse at 95% (seed group, 3 vs 3 seeds: mean -0.09" in err


def test_a_changed_configuration_is_named(tmp_path, capsys):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 300)
    runs = seeds(rng, labels, [0.8, 0.8, 0.8])
    old = write_group(tmp_path / "old", labels, runs)
    new = write_group(tmp_path / "new", labels, runs, config_hash="b" * 16)
    for path in new.glob("*.json"):  # the new folder ran at another rate
        path.write_text(path.read_text().replace('"learning_rate": 0.004', '"learning_rate": 0.002'))
    assert main(["compare", str(old), str(new), "--md"]) == 0
    out = capsys.readouterr().out
    assert "configurations differ: training.learning_rate: 0.004 -> 0.002" in out
