"""Per-example predictions of a cell, kept beside its result file (`<cell id>.predictions.npz`)
so that any two cells or variants scored on the same examples can be compared pair by pair
later (bench/stats/bootstrap.py), without rerunning anything.

Rows are in the split's original order (not the length-sorted order evaluation runs in), so
row i of two cells of the same dataset spec is the same example. Probabilities are stored as
float32, the dtype evaluation scored them in: the metrics recomputed from a sidecar equal its
record's (bench/record/sidecar_check.py). Format 1 sidecars (no `__format__` entry) stored
float16, whose rounding can move an argmax between two near-equal classes; they still load, and
the check names those that no longer reproduce their record. Labels are integers (multi-label:
a 0/1 matrix).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.atomic import atomic_file

SUFFIX = ".predictions.npz"
FORMAT = 2  # 2: float32 probabilities (reproduce the record); 1 (no `__format__`): float16
FORMAT_KEY = "__format__"


@dataclass
class SplitPredictions:
    labels: np.ndarray  # (n,) class indices, or (n, classes) 0/1 for multi-label
    probs: np.ndarray  # (n, classes): softmax (single-label) or sigmoid (multi-label)
    format: int = FORMAT  # of the file it was read from: 1 stored float16 probabilities

    def in_original_order(self, order: np.ndarray | None) -> "SplitPredictions":
        """Undo `dataset.select(order)`: row i here was row order[i] of the original split."""
        if order is None:
            return self
        labels, probs = np.empty_like(self.labels), np.empty_like(self.probs)
        labels[order], probs[order] = self.labels, self.probs
        return SplitPredictions(labels, probs, self.format)


def sidecar_path(record_path: Path) -> Path:
    """`<dir>/<cell id>.json` -> `<dir>/<cell id>.predictions.npz`."""
    return record_path.with_name(record_path.name.removesuffix(".json") + SUFFIX)


def save_predictions(path: Path, predictions: dict[str, SplitPredictions]) -> None:
    """One compressed npz; keys `<key>/labels`, `<key>/probs` and the format. Written
    atomically."""
    arrays = {FORMAT_KEY: np.asarray(FORMAT, dtype=np.int16)}
    for key, split in predictions.items():
        arrays[f"{key}/labels"] = np.asarray(split.labels).astype(np.int16 if np.asarray(
            split.labels).ndim == 2 else np.int32)
        arrays[f"{key}/probs"] = np.asarray(split.probs).astype(np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with atomic_file(path, "wb") as handle:
        handle.write(buffer.getvalue())


def load_predictions(path: Path) -> dict[str, SplitPredictions]:
    with np.load(path) as archive:
        version = int(archive[FORMAT_KEY]) if FORMAT_KEY in archive.files else 1
        keys = sorted({name.rsplit("/", 1)[0] for name in archive.files if "/" in name})
        return {key: SplitPredictions(archive[f"{key}/labels"].astype(np.int64),
                                      archive[f"{key}/probs"].astype(np.float32), version)
                for key in keys}


def deploy_key(variant: str, backend: str, split: str = "test") -> str:
    return f"deploy/{variant}/{backend}/{split}"


def find_predictions(record: dict, folder: Path) -> dict[str, SplitPredictions] | None:
    """The predictions of a record loaded from anywhere under `folder` (records may sit in
    sub-folders), or None: an older record, or a file that was not kept."""
    name = record.get("predictions_file")
    if not name:
        return None
    for path in [Path(folder) / name, *sorted(Path(folder).rglob(name))]:
        if path.is_file() and ".staging" not in path.parts:
            return load_predictions(path)
    return None
