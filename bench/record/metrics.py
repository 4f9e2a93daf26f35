"""Scores of one model on one split (bench/stages/evaluate.py writes them), with the 95% intervals
the statistics add where the record has them."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.record.base import Part, by_name


@dataclass
class ClassScores(Part):
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    support: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Metrics(Part):
    n: int | None = None
    accuracy: float | None = None
    loss: float | None = None
    precision_macro: float | None = None
    recall_macro: float | None = None
    f1_macro: float | None = None
    precision_micro: float | None = None
    recall_micro: float | None = None
    f1_micro: float | None = None
    precision_weighted: float | None = None
    recall_weighted: float | None = None
    f1_weighted: float | None = None
    roc_auc: float | None = None
    per_class: dict[str, ClassScores] = field(default_factory=dict)
    confusion_matrix: list[list[int]] | None = None
    runtime_s: float | None = None
    samples_per_s: float | None = None
    steps_per_s: float | None = None
    intervals: dict[str, list[float]] = field(default_factory=dict)  # metric -> [low, high]
    extra: dict = field(default_factory=dict)

    NESTED = {"per_class": by_name(ClassScores.from_dict)}

    def score(self, name: str) -> float | None:
        """A metric by its evaluate.py name ("f1_macro", "accuracy", ...)."""
        value = getattr(self, name, None) if name != "extra" else None
        return value if value is not None else self.extra.get(name)

    def interval(self, name: str) -> tuple[float, float] | None:
        bounds = self.intervals.get(name)
        return (bounds[0], bounds[1]) if bounds and None not in bounds[:2] else None


@dataclass
class Evaluation(Part):
    before: Metrics | None = None
    validation: Metrics | None = None
    test: Metrics | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"before": Metrics.from_dict, "validation": Metrics.from_dict,
              "test": Metrics.from_dict}


@dataclass
class Baseline(Part):
    """The TF-IDF + logistic regression floor of the cell's dataset."""

    name: str | None = None
    description: str | None = None
    test: Metrics | None = None
    reused: bool | None = None
    max_length: int | None = None  # tokens the floor read; None: the whole text
    fit_time_s: float | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"test": Metrics.from_dict}
