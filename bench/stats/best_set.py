"""A set, not a winner. The method with the highest validation score is the winner of a search
on those rows and is optimistic there; a single seed of it says little about the method. So
the report does not name one best method: it compares every method with the best on
validation (one family, Holm-corrected), and names the SET of methods not shown worse than it
on test, each with its probability of being best under a bootstrap over seeds and examples,
and the cheapest member non-inferior to the best within the margin, per cost axis.

Only methods with MIN_SEEDS seeds or more can be the reference or be shown worse: a method
with fewer is in the set as "runs, not methods", never named alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.stats.bootstrap import (resample_counts, resampled_seed_means,
                                   seed_scores_under_weights)
from bench.stats.methods import (MIN_SEEDS, RUNS_NOT_METHODS, MethodComparison, SeedRuns,
                                 compare_methods)

CORRECTION = "Holm"
RESAMPLES = 4000  # Monte-Carlo error of a probability of being best: at most 0.008
COST_AXES = ("trainable_params", "train_runtime_s", "train_peak_memory_mb")


@dataclass
class Contender:
    """One method on one dataset: its runs on the test examples, its mean validation score
    (what the reference is chosen on), convergence and costs per axis."""

    name: str
    runs: SeedRuns | None  # None: no sidecar on the shared test examples
    validation: float | None
    converged: bool = True
    cost: dict[str, float | None] = field(default_factory=dict)

    @property
    def seeds(self) -> int:
        return self.runs.seeds if self.runs is not None else 0

    @property
    def method_level(self) -> bool:
        return self.seeds >= MIN_SEEDS


@dataclass
class Member:
    name: str
    why: str  # "reference", "not shown worse", RUNS_NOT_METHODS
    comparison: MethodComparison | None = None  # against the reference
    adjusted_p: float | None = None  # Holm-adjusted, of "no difference"
    probability_best: float | None = None


@dataclass
class BestSet:
    reference: str | None  # None: no method has MIN_SEEDS seeds; no method verdict at all
    members: list[Member]
    shown_worse: list[Member]
    cheapest: dict[str, str]  # cost axis -> the cheapest member non-inferior to the reference
    margin: float
    resamples: int = RESAMPLES
    alpha: float = 0.05

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    @property
    def named_alone(self) -> str | None:
        """The one method the answer may name as best: the only member, judged at method
        level (and converged, which the caller states in `Contender.converged`)."""
        judged = [m for m in self.members if m.why != RUNS_NOT_METHODS]
        return self.reference if len(self.members) == 1 and judged else None


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order."""
    order = np.argsort(p_values)
    adjusted, running = np.empty(len(p_values)), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def probability_best(contenders: list[Contender], metric: str, resamples: int = RESAMPLES,
                     seed: int = 0) -> dict[str, float]:
    """Share of bootstrap resamples in which each contender's seed-averaged score is highest:
    the test examples resampled once for all (they are shared), each method's seeds resampled
    with replacement on its own."""
    if not contenders:
        return {}
    truth = contenders[0].runs.truth
    weights = resample_counts(len(truth), resamples, seed)
    rng = np.random.default_rng(seed + 1)
    means = [resampled_seed_means(seed_scores_under_weights(metric, truth,
                                                            c.runs.predicted, weights), rng)
             for c in contenders]
    wins = np.bincount(np.argmax(np.stack(means), axis=0), minlength=len(contenders))
    return {c.name: float(w / resamples) for c, w in zip(contenders, wins)}


def cheapest_members(reference: Contender, candidates: list[tuple[Contender, Member]]
                     ) -> dict[str, str]:
    """Per cost axis, the cheapest of the reference and the members non-inferior to it."""
    eligible = [reference] + [c for c, m in candidates
                              if m.comparison is not None and m.comparison.noninferior]
    out = {}
    for axis in COST_AXES:
        known = [c for c in eligible if c.cost.get(axis) is not None]
        if known:
            out[axis] = min(known, key=lambda c: c.cost[axis]).name
    return out


def best_set(contenders: list[Contender], metric: str = "f1_macro", *, margin: float = 0.02,
             alpha: float = 0.05, resamples: int = RESAMPLES) -> BestSet:
    """The set of methods not shown worse than the validation best (docs/statistics.md)."""
    judged = [c for c in contenders if c.method_level and c.validation is not None]
    few = [Member(c.name, RUNS_NOT_METHODS) for c in contenders if c not in judged]
    if not judged:
        return BestSet(None, few, [], {}, margin, resamples, alpha)
    reference = max(judged, key=lambda c: c.validation)
    others = [c for c in judged if c is not reference]
    comparisons = [compare_methods(c.runs, reference.runs, metric, margin=margin, alpha=alpha)
                   for c in others]
    adjusted = holm([c.p_value for c in comparisons])
    members, worse, pairs = [Member(reference.name, "reference")], [], []
    for contender, comparison, p in zip(others, comparisons, adjusted):
        shown_worse = p < alpha and comparison.difference < 0
        member = Member(contender.name, "shown worse" if shown_worse else "not shown worse",
                        comparison, p)
        (worse if shown_worse else members).append(member)
        pairs.append((contender, member))
    chances = probability_best(judged, metric, resamples)
    for member in members + worse:
        member.probability_best = chances.get(member.name)
    cheapest = cheapest_members(reference, [(c, m) for c, m in pairs if m in members])
    return BestSet(reference.name, members + few, worse, cheapest, margin, resamples, alpha)
