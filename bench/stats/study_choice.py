"""The choice of a [study] (bench/suite/study.py) for one model, dataset and method entry: the
trial with the best validation score, made the same way by `bench run` (study.json) and the
report's study section."""
from __future__ import annotations

from bench.record.study import StudyChoice, TrialScore
from bench.stats.selection import CHECKED, Candidate, select_best


def scored_metrics(metric: str) -> tuple[str, ...]:
    """The validation scores a trial keeps: the study's metric, then the tie-breakers."""
    return tuple(dict.fromkeys((metric, *CHECKED)))


def choose(unit: str, trials: list[TrialScore], metric: str) -> StudyChoice:
    """The trial with the highest validation `metric` (bench/stats/selection.py: then macro-F1,
    accuracy, then the lower trial number). No choice while a trial has no result: every
    method is chosen among all of its trials. A failed trial (diverged) counts, unscored."""
    missing = [t.trial for t in trials if t.status == "missing"]
    if missing:
        return StudyChoice(unit, trials, reason=f"no choice yet: trial(s) {missing} have no "
                                                 "result of their configuration")
    candidates = [Candidate(str(t.trial), t.validation, {}, {"trial": t})
                  for t in sorted(trials, key=lambda t: t.trial) if t.status == "ok"]
    chosen = select_best(candidates, metric).chosen
    if chosen is None:
        return StudyChoice(unit, trials, reason=f"no choice: none of the {len(trials)} trial(s) "
                                                f"has a validation {metric}")
    best: TrialScore = chosen.extra["trial"]
    failed = len(trials) - len(candidates)
    reason = (f"trial {best.trial}: highest validation {metric} "
              f"{best.validation[metric]:.4f} of {len(candidates)} scored trial(s)"
              + (f" ({failed} failed)" if failed else ""))
    if best.may_not_have_converged:
        reason += ("; its best epoch was its last: it may not have converged (a larger "
                   "epoch budget may help it)")
    return StudyChoice(unit, trials, best.trial, best.values, reason,
                       bool(best.may_not_have_converged))
