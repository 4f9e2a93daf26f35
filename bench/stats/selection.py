"""Choices a report makes ("the best method", "the fastest variant within 1 point of fp32"),
made on validation scores and reported on test: choosing on the test split and then reporting
that same split overstates the winner. A "within N points" verdict checks accuracy and
macro-F1 alike, so that a variant that keeps F1 but loses accuracy (or the reverse) is not let
through, and judges their paired intervals, not their point estimates.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CHECKED = ("f1_macro", "accuracy")  # every choice looks at both; best ranks F1 first


@dataclass
class Candidate:
    name: str
    validation: dict[str, float | None]  # at least accuracy and f1_macro, or None if unscored
    test: dict[str, float | None]  # what the report shows for it
    extra: dict = field(default_factory=dict)  # anything the caller ranks by (latency...)

    def scored(self) -> bool:
        return all(self.validation.get(m) is not None for m in CHECKED)


@dataclass
class Selection:
    chosen: Candidate | None
    eligible: list[Candidate]
    excluded: dict[str, str]  # candidate name -> why it could not be chosen
    rule: str  # one line for the report: how the choice was made


def unscored(candidates: list[Candidate]) -> dict[str, str]:
    return {c.name: "no validation score" for c in candidates if not c.scored()}


def select_best(candidates: list[Candidate], metric: str = "f1_macro") -> Selection:
    """Highest validation `metric` (macro-F1 by default), ties broken by validation macro-F1,
    then accuracy, then the earlier candidate in the list."""
    scored = [c for c in candidates if c.scored() and c.validation.get(metric) is not None]
    chosen = max(scored, key=lambda c: tuple(c.validation[m] for m in (metric, *CHECKED)),
                 default=None)  # max keeps the first of equal keys
    excluded = {**unscored(candidates), **{c.name: f"no validation {metric}" for c in candidates
                                           if c.scored() and c not in scored}}
    ranked = "macro-F1 (then accuracy)" if metric == "f1_macro" else (
        f"{metric} (then macro-F1, accuracy)")
    return Selection(chosen, scored, excluded,
                     f"highest validation {ranked}; figures shown are test")


WITHIN, OUTSIDE, INCONCLUSIVE = "within budget", "outside budget", "inconclusive"


@dataclass
class Change:
    """One metric of a variant minus the reference's, on the same examples, with its 95% paired
    bootstrap interval (bench/stats/bootstrap.py paired_verdict)."""

    metric: str
    difference: float
    low: float
    high: float


def budget_verdict(changes: list[Change], points: float) -> str:
    """Judged on intervals, not point estimates: a variant that lost 0.5 point of F1 on a small
    validation set may have lost 3. Within budget: the lower end of every metric's interval is
    above -`points` (percentage points); outside: the upper end of some metric's is below it;
    otherwise inconclusive (these examples cannot tell), which cannot be chosen either."""
    margin = points / 100
    if any(c.high < -margin for c in changes):
        return OUTSIDE
    if changes and all(c.low > -margin for c in changes):
        return WITHIN
    return INCONCLUSIVE
