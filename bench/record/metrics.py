"""Scores of one model on one split (bench/stages/evaluate.py writes them), with the 95% intervals
the statistics add where the record has them."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.metric_registry import METRICS
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
    """A model's scores on one split. The registry's metrics (bench/metric_registry.py) are keys
    of the file's object beside `n` and `loss`, and `scores` in here: a metric added to the
    registry is read and written with no change to this class."""

    n: int | None = None
    loss: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)  # registry name -> value
    per_class: dict[str, ClassScores] = field(default_factory=dict)
    confusion_matrix: list[list[int]] | None = None
    runtime_s: float | None = None
    samples_per_s: float | None = None
    steps_per_s: float | None = None
    intervals: dict[str, list[float]] = field(default_factory=dict)  # metric -> [low, high]
    extra: dict = field(default_factory=dict)

    NESTED = {"per_class": by_name(ClassScores.from_dict)}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Metrics | None":
        if data is None:
            return None
        metrics = super().from_dict({k: v for k, v in data.items() if k not in METRICS})
        metrics.scores = {k: v for k, v in data.items() if k in METRICS}
        return metrics

    def to_dict(self) -> dict:
        out = super().to_dict()
        return {"n": out.pop("n"), **out.pop("scores"), **out}

    def score(self, name: str) -> float | None:
        """A registered metric ("f1_macro", "accuracy", ...) or a figure of the split ("loss",
        "runtime_s", ...) by name."""
        if name in METRICS:
            return self.scores.get(name)
        value = getattr(self, name, None) if name not in ("extra", "scores") else None
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
