"""Every classification metric, one entry each: its name in the record, how it is computed from
a split's labels and predictions, which way is better, which tasks it applies to, and where it
is shown. Evaluation computes every entry that applies (bench/stages/evaluate.py); the record
reads and writes scores by these names (bench/record/metrics.py); rows, tables, the CSV,
`bench compare` and the suite's `metric_for_best` take their lists from here. Adding a metric is
one entry plus its test.

sklearn is imported inside the functions: bench/specs.py reads this registry, and `bench ls` and
`bench validate` must stay instant.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np

SINGLE_LABEL = "single-label"
MULTI_LABEL = "multi-label"
BINARY = "binary"  # single-label with two classes
EVERY_TASK = frozenset({SINGLE_LABEL, MULTI_LABEL})


@dataclass(frozen=True)
class Scored:
    """What a metric reads: one split's true labels, the model's predicted labels and its class
    probabilities."""

    labels: np.ndarray  # class index per row; multi-label: multi-hot rows
    predicted: np.ndarray  # the same shape as labels
    probabilities: np.ndarray  # [rows, classes]: softmax, or one sigmoid per class
    num_labels: int
    multi_label: bool
    # sklearn's (precision, recall, F1) per average, computed once for the three metrics that
    # read it: the sidecar check recomputes every committed split, and this is most of its time
    averages: dict[str, tuple] = field(default_factory=dict, compare=False, repr=False)

    @property
    def kinds(self) -> set[str]:
        if self.multi_label:
            return {MULTI_LABEL}
        return {SINGLE_LABEL, BINARY} if self.num_labels == 2 else {SINGLE_LABEL}


@dataclass(frozen=True)
class Metric:
    name: str  # its key in the record's metrics
    compute: Callable[[Scored], float | None]
    label: str  # how tables and `bench compare` name it
    higher_is_better: bool = True
    applies_to: frozenset[str] = EVERY_TASK
    shown: bool = False  # a column of the scores table and of the CSV
    threshold: str | None = None  # the CompareThresholds field `bench compare` gates it by

    def applies(self, scored: Scored) -> bool:
        return bool(self.applies_to & scored.kinds)


METRICS: dict[str, Metric] = {}


def register(entry: Metric) -> Metric:
    if entry.name in METRICS:
        raise ValueError(f"metric {entry.name!r} is registered twice")
    METRICS[entry.name] = entry
    return entry


def metric(name: str, label: str, **details) -> Callable[[Callable], Callable]:
    """Decorator: registers the function as the metric `name` (details: Metric's fields)."""
    def decorate(compute: Callable[[Scored], float | None]) -> Callable:
        register(Metric(name, compute, label, **details))
        return compute
    return decorate


def shown() -> list[Metric]:
    """The metrics every scores table and the CSV show, in registry order."""
    return [m for m in METRICS.values() if m.shown]


def scores() -> list[str]:
    """Names of the metrics where higher is better: what `metric_for_best` may name."""
    return [m.name for m in METRICS.values() if m.higher_is_better]


def compute_all(scored: Scored) -> dict[str, float | None]:
    """Every registered metric that applies to the task, by name."""
    return {m.name: m.compute(scored) for m in METRICS.values() if m.applies(scored)}


# ------------------------------------------------------------------------------- entries

@metric("accuracy", "accuracy", shown=True, threshold="max_accuracy_drop")
def accuracy(s: Scored) -> float:
    """Multi-label: every label of a row right (the same as subset accuracy)."""
    from sklearn.metrics import accuracy_score
    return float(accuracy_score(s.labels, s.predicted))


def averaged(kind: int, average: str) -> Callable[[Scored], float]:
    """precision (0), recall (1) or F1 (2) with an sklearn average; absent classes score 0."""
    def compute(s: Scored) -> float:
        from sklearn.metrics import precision_recall_fscore_support
        if average not in s.averages:
            classes = None if s.multi_label else list(range(s.num_labels))
            s.averages[average] = precision_recall_fscore_support(
                s.labels, s.predicted, labels=classes, average=average, zero_division=0)
        return float(s.averages[average][kind])
    return compute


def register_averages() -> None:
    """precision, recall and F1, each macro, micro and weighted: nine entries."""
    shown_ones = {"precision_macro", "recall_macro", "f1_macro", "f1_micro", "f1_weighted"}
    for average in ("macro", "micro", "weighted"):
        for kind, (name, label) in enumerate((("precision", "precision"),
                                              ("recall", "recall"), ("f1", "F1"))):
            key = f"{name}_{average}"
            register(Metric(key, averaged(kind, average), f"{label} {average}",
                            shown=key in shown_ones,
                            threshold="max_f1_drop" if key == "f1_macro" else None))


register_averages()


@metric("roc_auc", "ROC-AUC", shown=True)
def roc_auc(s: Scored) -> float | None:
    """One-vs-rest, macro over classes; None when a class (or, multi-label, a label's absence)
    is missing from the split."""
    import numpy as np
    from sklearn.metrics import roc_auc_score
    if s.multi_label:
        present = s.labels.sum(axis=0)
        if not ((present > 0) & (present < len(s.labels))).all():
            return None
        return float(roc_auc_score(s.labels, s.probabilities, average="macro"))
    if len(np.unique(s.labels)) < s.num_labels:
        return None
    if s.num_labels == 2:
        return float(roc_auc_score(s.labels, s.probabilities[:, 1]))
    return float(roc_auc_score(s.labels, s.probabilities, multi_class="ovr", average="macro"))


@metric("subset_accuracy", "subset accuracy", applies_to=frozenset({MULTI_LABEL}))
def subset_accuracy(s: Scored) -> float:
    return accuracy(s)


@metric("hamming_loss", "Hamming loss", higher_is_better=False,
        applies_to=frozenset({MULTI_LABEL}))
def hamming_loss(s: Scored) -> float:
    from sklearn.metrics import hamming_loss as hamming
    return float(hamming(s.labels, s.predicted))


@metric("balanced_accuracy", "balanced accuracy", applies_to=frozenset({SINGLE_LABEL}),
        shown=True)
def balanced_accuracy(s: Scored) -> float:
    """The mean of per-class recall: a majority-class guess scores 1 / classes."""
    from sklearn.metrics import balanced_accuracy_score
    return float(balanced_accuracy_score(s.labels, s.predicted))
