"""Prediction sidecars reproduce their records: the metrics recomputed from any committed
sidecar equal the record's. The float16 sidecars (format 1) whose rounding moved an argmax went
with the reruns of the methods and backends suites (2026-12-07); a sidecar that fails now is a
bug, or an old file to regenerate."""
from pathlib import Path

import numpy as np

from bench.record.predictions import SplitPredictions, load_predictions, save_predictions
from bench.record.sidecar_check import check_folder, recompute

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_every_committed_sidecar_reproduces_its_record():
    checks = check_folder(RESULTS)
    assert len(checks) >= 50 and all(c.path is not None for c in checks)
    assert sum(c.splits_checked for c in checks) >= 100
    failing = {str(c.path.relative_to(RESULTS)): c.mismatches[:1]
               for c in checks if not c.reproduces}
    assert failing == {}


def test_near_tied_probabilities_survive_the_sidecar(tmp_path):
    """Two classes 1e-4 apart: float16 makes them equal (argmax picks the first), float32
    keeps the record's prediction."""
    probs = np.array([[0.49995, 0.50005, 0.0]] * 4 + [[0.9, 0.05, 0.05]] * 4, dtype=np.float32)
    labels = np.array([1] * 4 + [0] * 4)
    assert (probs.astype(np.float16).argmax(1)[:4] == 0).all()  # what format 1 lost
    path = tmp_path / "cell.predictions.npz"
    save_predictions(path, {"test": SplitPredictions(labels, probs)})
    loaded = load_predictions(path)["test"]
    assert loaded.format == 2 and loaded.probs.dtype == np.float32
    assert recompute(loaded, 3, False)["accuracy"] == 1.0
