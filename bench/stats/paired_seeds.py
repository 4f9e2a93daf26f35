"""Two variants of one method trained with the same seeds (a training lever on and off, e.g.
length-grouped against random batches), compared pair by pair: is the lever free of cost in
accuracy? Seed s of A and seed s of B share their initial weights, so what the seed moves in
both cancels in their difference; the test examples are shared too.

The mean paired difference gets its standard error from a two-level bootstrap: the test
examples resampled once for all runs, then the seed pairs resampled with replacement
(bench/stats/bootstrap.py). The verdict is methods.py's (two one-sided tests for equivalence),
with Student t on pairs - 1 degrees of freedom: with 10 pairs a normal interval would be too
narrow. Seeds added because a verdict came out inconclusive are sequential testing: each look
at the verdict is another chance to call a harmful lever "equivalent", so `looks` (how many
times the verdict has been read to decide whether to add seeds, this one included) splits
alpha evenly over them (Bonferroni: valid for looks at any seed counts, and conservative).
docs/statistics.md, "Paired seeds", writes the rules out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from bench.stats.bootstrap import (resample_counts, resampled_seed_means,
                                   seed_scores_under_weights)
from bench.stats.methods import SeedRuns, seed_scores, verdict_of

MIN_PAIRS = 10
NOT_ENOUGH_SEEDS = "not enough seeds"
RESAMPLES = 4000


@dataclass
class PairedSeedComparison:
    """A against B, seed by seed; `difference` = mean over pairs of metric(A_s) - metric(B_s).
    Intervals are difference +- t * standard_error at 90% and 95%, as read once; the verdict
    reads `interval_verdict`, at 1 - 2 * alpha / looks (the 90% one after a single look). The
    verdict is NOT_ENOUGH_SEEDS below `min_pairs` pairs (the figures are still given)."""

    metric: str
    pairs: int
    difference: float
    per_pair: list[float]  # metric(A_s) - metric(B_s), in the order the pairs were given
    verdict: str  # better | worse | equivalent | inconclusive | not enough seeds
    margin: float
    alpha: float
    min_pairs: int
    resamples: int
    looks: int = 1
    standard_error: float | None = None
    df: float | None = None
    interval_90: tuple[float, float] | None = None
    interval_95: tuple[float, float] | None = None
    interval_verdict: tuple[float, float] | None = None  # inside +-margin: "equivalent"
    p_value: float | None = None  # two-sided, of "no difference"
    equivalence_p: float | None = None  # two one-sided tests within +-margin


def compare_paired_seeds(a: SeedRuns, b: SeedRuns, metric: str = "f1_macro", *,
                         margin: float = 0.01, alpha: float = 0.05, looks: int = 1,
                         min_pairs: int = MIN_PAIRS, resamples: int = RESAMPLES,
                         seed: int = 0) -> PairedSeedComparison:
    """Run i of `a` and run i of `b` are one pair (the same training seed); `looks`: the
    verdicts read so far on these seeds and their predecessors, this one included."""
    if looks < 1:
        raise ValueError(f"paired seeds: looks {looks}, expected at least 1")
    if a.seeds != b.seeds:
        raise ValueError(f"paired seeds: {a.seeds} runs against {b.seeds}; pair them first")
    if a.truth.shape != b.truth.shape or not np.array_equal(a.truth, b.truth):
        raise ValueError("paired seeds need both sides scored on the same test examples")
    per_pair = seed_scores(metric, a) - seed_scores(metric, b)
    difference = float(per_pair.mean())
    result = PairedSeedComparison(metric, a.seeds, difference, per_pair.tolist(),
                                  NOT_ENOUGH_SEEDS, margin, alpha, min_pairs, resamples, looks)
    if a.seeds < 2:
        return result
    weights = resample_counts(len(a.truth), resamples, seed)
    paired = (seed_scores_under_weights(metric, a.truth, a.predicted, weights)
              - seed_scores_under_weights(metric, b.truth, b.predicted, weights))
    means = resampled_seed_means(paired, np.random.default_rng(seed + 1))
    se, df = float(means.std(ddof=1)), float(a.seeds - 1)
    alpha_per_look = alpha / looks
    verdict, p, equivalence, _ = verdict_of(difference, se, df, margin, alpha_per_look)
    result.standard_error, result.df, result.p_value, result.equivalence_p = se, df, p, equivalence
    result.interval_90 = t_interval(difference, se, df, 1 - 2 * alpha)
    result.interval_95 = t_interval(difference, se, df, 1 - alpha)
    result.interval_verdict = t_interval(difference, se, df, 1 - 2 * alpha_per_look)
    if a.seeds >= min_pairs:
        result.verdict = verdict
    return result


def t_interval(estimate: float, se: float, df: float, confidence: float) -> tuple[float, float]:
    half = float(scipy_stats.t(df).ppf((1 + confidence) / 2)) * se
    return estimate - half, estimate + half
