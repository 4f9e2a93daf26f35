"""Is the method-level test (bench/stats/methods.py) honest? Split many seeds of ONE method
into two pseudo-methods of K seeds, again and again: every verdict "better" or "worse" is a
false one, and their share should sit near the test's level (5%). Power is measured the same
way with a difference planted in one pseudo-method: a known share of its right answers made
wrong. The same code reads real seeds (benchmarks/same_method_calibration.py) and synthetic
ones (`synthetic_seeds`), so the statistics are checked without training anything.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as scipy_stats

from bench.stats.bootstrap import paired_verdict
from bench.stats.methods import SeedRuns, compare_methods


@dataclass
class Share:
    """How often an event happened over `trials`, with its 95% Clopper-Pearson interval (the
    Monte-Carlo error of the share)."""

    rate: float
    low: float
    high: float
    hits: int
    trials: int

    @classmethod
    def of(cls, hits: int, trials: int) -> "Share":
        interval = scipy_stats.binomtest(hits, trials).proportion_ci(0.95, method="exact")
        return cls(hits / trials, float(interval.low), float(interval.high), hits, trials)

    def to_dict(self) -> dict:
        return asdict(self)


def synthetic_seeds(seeds: int, *, examples: int = 1000, classes: int = 2, skill: float = 1.6,
                    seed_sd: float = 0.12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(labels (n,), predicted classes (seeds, n)) of one synthetic method. Each example has a
    difficulty shared by every seed (runs agree on easy examples, as real ones do); each seed
    shifts the method's skill by N(0, seed_sd) on the logit scale (the training-seed noise:
    0.12 gives a seed-to-seed std of F1 of about 2 points at 1,000 examples, as the committed
    tweets runs show), and each answer is then right with probability
    sigmoid(skill + shift - difficulty); a wrong answer is another class at random."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, examples)
    difficulty = rng.normal(0.0, 1.5, examples)
    shifts = rng.normal(0.0, seed_sd, (seeds, 1))
    right = rng.random((seeds, examples)) < 1 / (1 + np.exp(-(skill + shifts - difficulty)))
    wrong = (labels + rng.integers(1, classes, (seeds, examples))) % classes
    return labels, np.where(right, labels, wrong)


def plant_difference(labels: np.ndarray, predicted: np.ndarray, points: float, classes: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Each run with `points` percentage points of its examples turned from right to wrong
    (accuracy lower by exactly that; macro-F1 by about as much on balanced classes)."""
    out = predicted.copy()
    flips = int(round(points / 100 * len(labels)))
    for run in out:
        right = np.flatnonzero(run == labels)
        chosen = rng.choice(right, size=min(flips, len(right)), replace=False)
        run[chosen] = (labels[chosen] + rng.integers(1, classes, len(chosen))) % classes
    return out


def split_verdicts(labels: np.ndarray, predicted: np.ndarray, classes: int, k: int, splits: int,
                   *, seed: int = 0, planted: float = 0.0, margin: float = 0.02,
                   metric: str = "f1_macro") -> list[str]:
    """The method-level verdict of pseudo-method A against B, for `splits` random disjoint
    draws of K seeds each from the runs; B's runs carry a planted drop of `planted` points."""
    rng = np.random.default_rng(seed)
    verdicts = []
    for _ in range(splits):
        order = rng.permutation(len(predicted))
        a, b = predicted[order[:k]], predicted[order[k:2 * k]]
        if planted:
            b = plant_difference(labels, b, planted, classes, rng)
        comparison = compare_methods(SeedRuns.of(labels, list(a), classes),
                                     SeedRuns.of(labels, list(b), classes), metric, margin=margin)
        verdicts.append(comparison.verdict)
    return verdicts


def false_verdict_share(labels, predicted, classes: int, k: int, splits: int,
                        **options) -> Share:
    """Share of same-method splits called "better" or "worse" (both are false)."""
    verdicts = split_verdicts(labels, predicted, classes, k, splits, **options)
    return Share.of(sum(v in ("better", "worse") for v in verdicts), len(verdicts))


def power_share(labels, predicted, classes: int, k: int, splits: int, planted: float,
                **options) -> Share:
    """Share of splits with a planted drop in B that the test calls A "better" (the right way)."""
    verdicts = split_verdicts(labels, predicted, classes, k, splits, planted=planted, **options)
    return Share.of(sum(v == "better" for v in verdicts), len(verdicts))


def run_level_share(labels, predicted, classes: int, pairs: int, *, seed: int = 0,
                    resamples: int = 1000) -> Share:
    """The run-level paired test (one seed against another of the same method, test-example
    noise only) on `pairs` random seed pairs: its share of verdicts, for comparison."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(pairs):
        i, j = rng.choice(len(predicted), size=2, replace=False)
        verdict = paired_verdict(labels, predicted[i], predicted[j], "f1_macro",
                                 num_classes=classes, resamples=resamples)
        hits += verdict.verdict != "tied"
    return Share.of(hits, pairs)
