"""Choices a report makes ("the best method", "the fastest variant within 1 point of fp32"),
made on validation scores and reported on test: choosing on the test split and then reporting
that same split overstates the winner. A "within N points" choice checks accuracy and macro-F1
alike, so that a variant that keeps F1 but loses accuracy (or the reverse) is not let through.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

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


def select_within(candidates: list[Candidate], reference: Candidate, points: float,
                  prefer: Callable[[Candidate], float]) -> Selection:
    """Of the candidates whose validation accuracy and macro-F1 are both no more than `points`
    (percentage points) below `reference`'s, the one with the lowest `prefer` (e.g. latency)."""
    if not reference.scored():
        return Selection(None, [], {reference.name: "reference has no validation score"},
                         f"within {points:g} pt of {reference.name}: no validation reference")
    excluded = unscored(candidates)
    eligible = []
    for candidate in (c for c in candidates if c.scored()):
        drops = {m: 100 * (reference.validation[m] - candidate.validation[m]) for m in CHECKED}
        too_far = {m: d for m, d in drops.items() if d > points + 1e-9}
        if too_far:
            excluded[candidate.name] = "; ".join(f"validation {m} {d:.2f} pt below"
                                                 for m, d in too_far.items())
        else:
            eligible.append(candidate)
    chosen = min(eligible, key=prefer, default=None)
    return Selection(chosen, eligible, excluded,
                     f"within {points:g} pt of {reference.name} in validation accuracy and "
                     "macro-F1; figures shown are test")
