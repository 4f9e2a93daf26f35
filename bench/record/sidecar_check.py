"""Does a prediction sidecar reproduce its record? Every statistic the report derives from a
sidecar (paired and method-level verdicts, the probability of being best) is only as good as
the sidecar's agreement with the scores the record states: a sidecar whose recomputed F1
differs from the record's would let a verdict and the table beside it disagree.

The check recomputes, from the stored labels and probabilities, every registered metric the
record holds for each split the sidecar has (the fine-tuned model's validation and test, each
deployed variant's test and validation), and names the first disagreement of each split.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.metric_registry import METRICS, Scored
from bench.record import CellRecord, Metrics
from bench.record.predictions import SplitPredictions, deploy_key, load_predictions

TOLERANCE = 1e-9  # float32 probabilities give the record's own predictions: equal up to rounding
PROBABILITY_METRICS = ("roc_auc",)  # read probabilities; the others read the predicted class


@dataclass
class SidecarCheck:
    """The outcome for one record: which splits were compared and what differed."""

    cell_id: str
    path: Path | None
    format: int | None = None
    splits_checked: int = 0
    mismatches: list[str] = field(default_factory=list)  # "<split> <metric>: record x, sidecar y"

    @property
    def reproduces(self) -> bool:
        return self.path is not None and not self.mismatches


def recorded_splits(record: CellRecord) -> dict[str, Metrics]:
    """Prediction key -> the metrics the record states for it."""
    splits = {"test": record.evaluation.test, "validation": record.evaluation.validation}
    for variant in record.variants + record.deployment_controls:
        if variant.status == "ok":
            splits[deploy_key(variant.variant, variant.backend)] = variant.metrics
            splits[deploy_key(variant.variant, variant.backend, "validation")] = (
                variant.validation_metrics)
    return {key: metrics for key, metrics in splits.items() if metrics is not None}


def recompute(split: SplitPredictions, num_labels: int, multi_label: bool) -> dict[str, float]:
    """The registry's metrics from a sidecar split, predicted the way evaluation predicts."""
    probs = split.probs
    if split.format < 2 and not multi_label:  # float16 rows need not sum to 1 (sklearn asks)
        probs = probs / probs.sum(axis=1, keepdims=True)
    predicted = (probs >= 0.5).astype(int) if multi_label else probs.argmax(axis=1)
    scored = Scored(split.labels, predicted, probs, num_labels, multi_label)
    return {m.name: m.compute(scored) for m in METRICS.values() if m.applies(scored)}


def differences(stated: Metrics, recomputed: dict[str, float | None], key: str,
                format_version: int) -> list[str]:
    out = []
    for name, value in stated.scores.items():
        if value is None or recomputed.get(name) is None:
            continue
        # float16 probabilities (format 1) cannot give ROC-AUC to the last digit; their
        # predicted classes are what must (and may fail to) reproduce
        tolerance = 1e-3 if name in PROBABILITY_METRICS and format_version < 2 else TOLERANCE
        if abs(value - recomputed[name]) > tolerance:
            out.append(f"{key} {name}: record {value:.6f}, sidecar {recomputed[name]:.6f}")
    return out


def check_record(record: CellRecord, folder: Path) -> SidecarCheck:
    """Recompute the record's metrics from its sidecar in `folder` (path None: no sidecar)."""
    path = folder / record.predictions_file if record.predictions_file else None
    if path is None or not path.is_file():
        return SidecarCheck(record.cell_id, None)
    predictions = load_predictions(path)
    label_names = record.task.label_names
    multi_label = bool(record.task.multi_label)
    check = SidecarCheck(record.cell_id, path)
    for key, stated in recorded_splits(record).items():
        split = predictions.get(key)
        if split is None or (stated.n is not None and stated.n != len(split.labels)):
            continue
        num_labels = len(label_names) or split.probs.shape[1]
        check.format = split.format
        check.splits_checked += 1
        check.mismatches += differences(stated, recompute(split, num_labels, multi_label), key,
                                        split.format)
    return check


def check_folder(root: Path) -> list[SidecarCheck]:
    """Every finished record under `root` (sub-folders included, each beside its own sidecar)
    that names a sidecar, checked. Folders are not merged: the same cell id in two suites'
    folders is two records."""
    from bench.record.store import iter_files

    checks = []
    for path, data, problem in iter_files(Path(root), include_failed=False):
        if problem or not isinstance(data, dict) or data.get("status") != "ok":
            continue
        record = CellRecord.from_dict(data)
        if record.predictions_file:
            checks.append(check_record(record, path.parent))
    return checks
