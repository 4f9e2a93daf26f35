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


def select_best(candidates: list[Candidate]) -> Selection:
    """Highest validation macro-F1, ties broken by validation accuracy."""
    scored = [c for c in candidates if c.scored()]
    chosen = max(scored, key=lambda c: tuple(c.validation[m] for m in CHECKED), default=None)
    return Selection(chosen, scored, unscored(candidates),
                     "highest validation macro-F1 (then accuracy); figures shown are test")


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
