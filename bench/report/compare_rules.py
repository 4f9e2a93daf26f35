"""How `bench compare` judges each figure: which way is better and how far it may move. The
scores judged are the registered metrics that name a threshold (bench/metric_registry.py); speed
and size figures are judged by kind (the figure's name up to its first space)."""
from __future__ import annotations

from dataclasses import dataclass

from bench.metric_registry import METRICS, Metric
from bench.specs import CompareThresholds

EPSILON = 1e-9  # float noise never counts as a regression


@dataclass(frozen=True)
class Rule:
    """How one kind of metric is judged: which way is better, and the allowed change."""

    higher_is_better: bool
    relative: bool
    limit: float

    def regressed(self, old: float, new: float) -> bool:
        worse_by = (old - new) if self.higher_is_better else (new - old)
        if self.relative:
            return old > 0 and worse_by / old > self.limit + EPSILON
        return worse_by > self.limit + EPSILON

    def describe(self) -> str:
        sign = "-" if self.higher_is_better else "+"
        return f"{sign}{self.limit:.0%}" if self.relative else f"{sign}{self.limit:g}"


def gated() -> list[Metric]:
    """The registered metrics `bench compare` judges: those that name a threshold."""
    return [m for m in METRICS.values() if m.threshold]


def rules_from(limits: CompareThresholds) -> dict[str, Rule]:
    """The rule of each score (by its label) and of each kind of speed and size figure (the
    figure's name up to its first space)."""
    scores = {m.label: Rule(m.higher_is_better, False, getattr(limits, m.threshold))
              for m in gated()}
    return {**scores, "p50": Rule(False, True, limits.max_latency_increase),
            "disk": Rule(False, True, limits.max_size_increase)}


def rule_of(metric: str, rules: dict[str, Rule]) -> Rule:
    return rules.get(metric) or rules[metric.split()[0]]
