"""Method-level verdicts: is method A better than method B, not "is this run better than that
run". Two seeds of one method often differ more than two methods do, so a test that sees only
the noise of the test examples (bench/stats/bootstrap.py paired_verdict) calls seeds of one
method different. This test sees both kinds of noise:

- seeds: the sample variance of each method's per-seed scores, over its K seeds;
- examples: the jackknife variance, over test examples, of the difference of seed-averaged
  scores (leave one example out; exact, no resampling, so no Monte-Carlo error can flip a
  verdict), split into what more seeds would average away and what they would not.

The difference of seed means is judged with a Welch t (Satterthwaite degrees of freedom, the
example part counted as known). Outcomes, at level `alpha` (docs/statistics.md):
better / worse (the 95% interval excludes 0), equivalent (two one-sided tests within
+-margin: the 90% interval inside it), inconclusive (with the seeds per method that would
settle it at the observed spread). Fewer than MIN_SEEDS a side: no method verdict.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from bench.stats.bootstrap import indicator_matrices

MIN_SEEDS = 3
RUNS_NOT_METHODS = "runs, not methods"
POWER = 0.8
MAX_SEEDS_ASKED = 200  # beyond this, more seeds are not the answer (a larger test set is)


@dataclass
class SeedRuns:
    """One method's runs (one per seed) scored on the same test examples, as 0/1 indicator
    matrices: truth (n, classes), predicted (seeds, n, classes)."""

    truth: np.ndarray
    predicted: np.ndarray

    @classmethod
    def of(cls, labels: np.ndarray, predictions: list[np.ndarray],
           num_classes: int) -> "SeedRuns":
        """From integer labels and each seed's predicted classes (or a multi-label 0/1 matrix)."""
        truth, _ = indicator_matrices(labels, np.asarray(predictions[0]), num_classes)
        stacked = [indicator_matrices(labels, np.asarray(p), num_classes)[1] for p in predictions]
        return cls(truth, np.stack(stacked))

    @property
    def seeds(self) -> int:
        return len(self.predicted)


def metric_of(metric: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(leave_one_out(metric, truth, predicted, whole=True)[0])


def leave_one_out(metric: str, truth: np.ndarray, predicted: np.ndarray,
                  whole: bool = False) -> np.ndarray:
    """`metric` with each example left out in turn, (n,); `whole`: on all examples, (1,).
    Every metric here is a ratio of counts, so leaving a row out subtracts its own counts."""
    hits, said, true = truth * predicted, predicted, truth
    if metric == "accuracy":
        hits = (truth == predicted).all(axis=1, keepdims=True).astype(np.float64)
        said = true = np.ones_like(hits)  # accuracy = hits / rows = 2 hits / (said + true)
    totals = [part.sum(axis=0, keepdims=True) for part in (hits, said, true)]
    tp, said, true = totals if whole else [t - part for t, part in zip(totals, (hits, said, true))]
    if metric == "f1_micro":
        tp, said, true = (x.sum(axis=1, keepdims=True) for x in (tp, said, true))
    elif metric not in ("accuracy", "f1_macro"):
        raise ValueError(f"no method-level test for metric {metric!r}")
    denominator = said + true
    f1 = np.divide(2 * tp, denominator, out=np.zeros(denominator.shape), where=denominator > 0)
    return f1.mean(axis=1)


def seed_scores(metric: str, runs: SeedRuns) -> np.ndarray:
    return np.array([metric_of(metric, runs.truth, p) for p in runs.predicted])


@dataclass
class ExampleNoise:
    """Jackknife variance over test examples of mean_seeds(A) - mean_seeds(B), split into the
    part the methods share on each example (it stays with more seeds) and each method's
    seed-by-example part for one seed (it shrinks as 1 / seeds): so that "how many seeds would
    settle it" is not read off the example noise of the seeds at hand."""

    observed: float  # at the seeds at hand: the jackknife variance itself
    seeds: tuple[int, int]
    one_seed_a: float
    one_seed_b: float

    def variance(self, seeds_a, seeds_b):
        """At other seed counts: the observed variance with the seed-by-example parts rescaled
        (never below 0)."""
        change = (self.one_seed_a * (1 / seeds_a - 1 / self.seeds[0])
                  + self.one_seed_b * (1 / seeds_b - 1 / self.seeds[1]))
        return np.maximum(self.observed + change, 0.0)


def example_noise(metric: str, a: SeedRuns, b: SeedRuns) -> ExampleNoise:
    def left_out(runs: SeedRuns) -> np.ndarray:
        return np.stack([leave_one_out(metric, runs.truth, p) for p in runs.predicted])

    def one_seed(values: np.ndarray) -> float:  # across-seed spread of each example's value
        centred = values - values.mean(axis=1, keepdims=True)
        return float(scale * centred.var(axis=0, ddof=1).sum())

    values_a, values_b = left_out(a), left_out(b)
    n = values_a.shape[1]
    scale = (n - 1) / n
    difference = values_a.mean(axis=0) - values_b.mean(axis=0)
    total = float(scale * np.sum((difference - difference.mean()) ** 2))
    return ExampleNoise(total, (a.seeds, b.seeds), one_seed(values_a), one_seed(values_b))


@dataclass
class MethodComparison:
    """A against B over seeds and examples; `difference` = mean over A's seeds - mean over
    B's seeds of `metric`. Without MIN_SEEDS a side only the difference and the seed counts
    are filled, and the verdict is RUNS_NOT_METHODS."""

    metric: str
    difference: float
    seeds_a: int
    seeds_b: int
    verdict: str  # better | worse | equivalent | inconclusive | runs, not methods
    margin: float
    alpha: float = 0.05
    standard_error: float | None = None
    df: float | None = None
    low: float | None = None  # 95% interval of the difference
    high: float | None = None
    p_value: float | None = None  # two-sided, of "no difference"
    equivalence_p: float | None = None  # two one-sided tests within +-margin
    noninferiority_p: float | None = None  # one-sided, of "A is worse by margin or more"
    detectable: float | None = None  # smallest difference found with 80% power
    seeds_to_settle: int | None = None  # per method, when inconclusive; None: seeds cannot
    seed_std_a: float | None = None
    seed_std_b: float | None = None
    example_se: float | None = None

    @property
    def method_level(self) -> bool:
        return self.verdict != RUNS_NOT_METHODS

    @property
    def noninferior(self) -> bool:
        return self.noninferiority_p is not None and self.noninferiority_p < self.alpha


def welch_parts(scores_a: np.ndarray, scores_b: np.ndarray, examples: ExampleNoise,
                seeds: tuple | None = None) -> tuple:
    """(standard error, Satterthwaite df) of the difference of seed means; `seeds`: project to
    other seed counts (numbers or arrays) at the observed spreads."""
    k_a, k_b = seeds or (len(scores_a), len(scores_b))
    part_a = scores_a.var(ddof=1) / k_a
    part_b = scores_b.var(ddof=1) / k_b
    variance = part_a + part_b + examples.variance(k_a, k_b)
    seed_df = part_a ** 2 / (k_a - 1) + part_b ** 2 / (k_b - 1)
    df = np.minimum(np.divide(variance ** 2, seed_df, out=np.full_like(np.asarray(
        variance, dtype=np.float64), 1e6), where=np.asarray(seed_df) > 0), 1e6)
    return np.sqrt(variance), df


def verdict_of(difference: float, se: float, df: float, margin: float, alpha: float
               ) -> tuple[str, float, float, float]:
    """(verdict, two-sided p, equivalence p, non-inferiority p)."""
    t = scipy_stats.t(df)
    se = max(se, 1e-12)  # identical predictions everywhere: the limit of a vanishing spread
    p = float(2 * t.sf(abs(difference) / se))
    noninferiority = float(t.sf((difference + margin) / se))
    equivalence = max(noninferiority, float(t.cdf((difference - margin) / se)))
    if p < alpha:
        verdict = "better" if difference > 0 else "worse"
    elif equivalence < alpha:
        verdict = "equivalent"
    else:
        verdict = "inconclusive"
    return verdict, p, equivalence, noninferiority


def detectable_difference(se: float, df: float, alpha: float, power: float = POWER) -> float:
    """The true difference a two-sided test at `alpha` finds with probability `power`."""
    t = scipy_stats.t(df)
    return float((t.ppf(1 - alpha / 2) + t.ppf(power)) * se)


def seeds_to_settle(difference: float, scores_a: np.ndarray, scores_b: np.ndarray,
                    examples: ExampleNoise, margin: float, alpha: float) -> int | None:
    """The fewest seeds per method that would make the observed difference either significant
    or equivalent within the margin, at the observed spread; None if no count up to
    MAX_SEEDS_ASKED would (the examples' own noise is too large: a larger test set is)."""
    k = np.arange(MIN_SEEDS, MAX_SEEDS_ASKED + 1, dtype=np.float64)
    se, df = welch_parts(scores_a, scores_b, examples, (k, k))
    significant = abs(difference) > scipy_stats.t.ppf(1 - alpha / 2, df) * se
    equivalent = abs(difference) + scipy_stats.t.ppf(1 - alpha, df) * se < margin
    settled = np.flatnonzero(significant | equivalent)
    return int(k[settled[0]]) if len(settled) else None


def compare_methods(a: SeedRuns, b: SeedRuns, metric: str = "f1_macro", *,
                    margin: float = 0.02, alpha: float = 0.05) -> MethodComparison:
    """A against B on the same test examples (the same rows, in the same order)."""
    if a.truth.shape != b.truth.shape or not np.array_equal(a.truth, b.truth):
        raise ValueError("method-level comparison needs both methods scored on the same examples")
    scores_a, scores_b = seed_scores(metric, a), seed_scores(metric, b)
    difference = float(scores_a.mean() - scores_b.mean())
    if min(a.seeds, b.seeds) < MIN_SEEDS:
        return MethodComparison(metric, difference, a.seeds, b.seeds, RUNS_NOT_METHODS, margin,
                                alpha)
    examples = example_noise(metric, a, b)
    se, df = (float(x) for x in welch_parts(scores_a, scores_b, examples))
    verdict, p, equivalence, noninferiority = verdict_of(difference, se, df, margin, alpha)
    half = float(scipy_stats.t(df).ppf(1 - alpha / 2)) * se
    settle = (seeds_to_settle(difference, scores_a, scores_b, examples, margin, alpha)
              if verdict == "inconclusive" else None)
    return MethodComparison(
        metric, difference, a.seeds, b.seeds, verdict, margin, alpha, se, df,
        difference - half, difference + half, p, equivalence, noninferiority,
        detectable_difference(se, df, alpha), settle, float(scores_a.std(ddof=1)),
        float(scores_b.std(ddof=1)), float(np.sqrt(examples.variance(a.seeds, b.seeds))))
