"""How far a score can be trusted: bootstrap intervals over test examples, paired verdicts
between two models scored on the same examples, and summaries over seeds.

The bootstrap draws every resample once, as a matrix of counts (resample x example), so that a
metric of all resamples is a few matrix products: 1,000 resamples of 3,000 examples take
milliseconds. Metric names are those of bench/stages/evaluate.py; the definitions below match it
(macro-F1 over every class, a class never predicted nor present scoring 0). The rules behind
each verdict are written out in docs/statistics.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

METRICS = ("accuracy", "f1_macro", "f1_micro")


@dataclass
class Interval:
    estimate: float  # the metric on all examples
    low: float
    high: float

    def as_list(self) -> list[float]:
        return [self.low, self.high]


@dataclass
class PairedVerdict:
    """A against B on the same examples: `difference` = metric(A) - metric(B), its paired
    bootstrap interval, the exact McNemar p-value of the accuracy difference, and the verdict
    ("better", "worse" or "tied") for A."""

    metric: str
    difference: float
    low: float
    high: float
    mcnemar_p: float
    verdict: str


@dataclass
class SeedSummary:
    """Mean and sample std over seeds; low/high: a t interval of the mean (None for one seed)."""

    mean: float
    std: float | None
    n: int
    low: float | None
    high: float | None


def hard_predictions(labels: np.ndarray, probs_or_preds: np.ndarray) -> np.ndarray:
    """Class indices (single-label) or a 0/1 matrix (multi-label, threshold 0.5), from
    probabilities or from predictions already hard."""
    values = np.asarray(probs_or_preds)
    if np.asarray(labels).ndim == 2:  # multi-label
        hard = values >= 0.5 if values.dtype.kind == "f" else values
        return hard.astype(np.int64)
    if values.ndim == 2:
        return values.argmax(axis=1)
    return values.astype(np.int64)


def indicator_matrices(labels: np.ndarray, preds: np.ndarray,
                       num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Truth and prediction as 0/1 matrices (example x class), whatever the task."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return labels.astype(np.float64), preds.astype(np.float64)
    k = num_classes or int(max(labels.max(initial=0), preds.max(initial=0)) + 1)
    eye = np.eye(k)
    return eye[labels], eye[preds]


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each example is drawn in each resample: (resamples, n), rows summing to n."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    offsets = (np.arange(resamples) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=resamples * n).reshape(resamples, n)


def metric_under_weights(metric: str, truth: np.ndarray, pred: np.ndarray,
                         weights: np.ndarray) -> np.ndarray:
    """`metric` under each row of example weights (counts); weights (r, n) -> values (r,)."""
    weights = np.atleast_2d(weights).astype(np.float64)
    correct = (truth == pred).all(axis=1).astype(np.float64)
    if metric == "accuracy":
        return weights @ correct / weights.sum(axis=1)
    tp, predicted, actual = weights @ (truth * pred), weights @ pred, weights @ truth
    if metric == "f1_micro":
        tp, predicted, actual = tp.sum(axis=1), predicted.sum(axis=1), actual.sum(axis=1)
    denominator = predicted + actual
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    if metric == "f1_micro":
        return f1
    if metric == "f1_macro":
        return f1.mean(axis=1)
    raise ValueError(f"no bootstrap for metric {metric!r}; expected one of {', '.join(METRICS)}")


def seed_scores_under_weights(metric: str, truth: np.ndarray, predicted: np.ndarray,
                              weights: np.ndarray) -> np.ndarray:
    """`metric` of each seed's run (predicted: (seeds, n, classes) indicators) under each row of
    example weights: (seeds, resamples). One draw of examples serves every seed and method, as
    they are all scored on the same test examples."""
    return np.stack([metric_under_weights(metric, truth, p, weights) for p in predicted])


def resampled_seed_means(per_seed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resample b: the mean of column b over seeds drawn with replacement, (resamples,): the
    seed level of a two-level bootstrap whose example level made the columns."""
    seeds, resamples = per_seed.shape
    chosen = rng.integers(0, seeds, (seeds, resamples))
    return per_seed[chosen, np.arange(resamples)].mean(axis=0)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(metric: str, labels, probs_or_preds, *, confidence: float = 0.95,
                       resamples: int = 1000, seed: int = 0,
                       num_classes: int | None = None) -> Interval:
    """Percentile bootstrap interval of `metric` over examples (resampled with replacement)."""
    labels = np.asarray(labels)
    truth, pred = indicator_matrices(labels, hard_predictions(labels, probs_or_preds),
                                     num_classes or infer_classes(probs_or_preds))
    estimate = float(metric_under_weights(metric, truth, pred, np.ones(len(labels)))[0])
    values = metric_under_weights(metric, truth, pred,
                                  resample_counts(len(labels), resamples, seed))
    return Interval(estimate, *percentile_interval(values, confidence))


def infer_classes(probs_or_preds) -> int | None:
    values = np.asarray(probs_or_preds)
    return values.shape[1] if values.ndim == 2 else None


def mcnemar_exact_p(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Two-sided exact McNemar test: under "same accuracy", the examples only one of the two
    gets right split 50/50 between them (a binomial test on the discordant pairs)."""
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    if only_a + only_b == 0:
        return 1.0
    return float(scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def paired_verdict(labels, pred_a, pred_b, metric: str = "f1_macro", *,
                   confidence: float = 0.95, resamples: int = 1000, seed: int = 0,
                   num_classes: int | None = None) -> PairedVerdict:
    """A against B scored on the same examples (same order). "better" when the paired interval
    of metric(A) - metric(B) lies above 0 and McNemar does not say A is significantly less
    accurate; for metric "accuracy" McNemar must also reject (both test the same quantity).
    "worse" mirrors it; anything else is "tied"."""
    labels = np.asarray(labels)
    classes = num_classes or infer_classes(pred_a) or infer_classes(pred_b)
    hard_a, hard_b = hard_predictions(labels, pred_a), hard_predictions(labels, pred_b)
    if classes is None and labels.ndim == 1:
        classes = int(max(labels.max(), hard_a.max(), hard_b.max()) + 1)
    truth, one_a = indicator_matrices(labels, hard_a, classes)
    _, one_b = indicator_matrices(labels, hard_b, classes)
    weights = resample_counts(len(labels), resamples, seed)
    ones = np.ones(len(labels))
    difference = float(metric_under_weights(metric, truth, one_a, ones)[0]
                       - metric_under_weights(metric, truth, one_b, ones)[0])
    low, high = percentile_interval(metric_under_weights(metric, truth, one_a, weights)
                                    - metric_under_weights(metric, truth, one_b, weights),
                                    confidence)
    correct_a = (truth == one_a).all(axis=1)
    correct_b = (truth == one_b).all(axis=1)
    p = mcnemar_exact_p(correct_a, correct_b)
    accuracy_sign = np.sign(int(correct_a.sum()) - int(correct_b.sum()))
    return PairedVerdict(metric, difference, low, high, p,
                         decide(low, high, p, accuracy_sign, metric, 1 - confidence))


def decide(low: float, high: float, mcnemar_p: float, accuracy_sign: int, metric: str,
           alpha: float) -> str:
    significant = mcnemar_p < alpha
    for verdict, above, sign in (("better", low > 0, 1), ("worse", high < 0, -1)):
        if not above:
            continue
        contradicted = significant and accuracy_sign == -sign
        confirmed = significant and accuracy_sign == sign
        if metric == "accuracy" and not confirmed:
            return "tied"
        return "tied" if contradicted else verdict
    return "tied"


def summarize_seeds(values, confidence: float = 0.95) -> SeedSummary:
    """Mean +- sample std over seeds and a t interval of the mean (seeds are few: a normal
    interval would be too narrow)."""
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    n = len(data)
    if n == 0:
        raise ValueError("summarize_seeds needs at least one value")
    mean = float(data.mean())
    if n == 1:
        return SeedSummary(mean, None, 1, None, None)
    std = float(data.std(ddof=1))
    half = float(scipy_stats.t.ppf((1 + confidence) / 2, n - 1)) * std / np.sqrt(n)
    return SeedSummary(mean, std, n, mean - half, mean + half)


def intervals_of(labels, probs, metrics=("accuracy", "f1_macro"), **options) -> dict:
    """The record's `intervals` field: {metric: [low, high]}."""
    return {m: bootstrap_interval(m, labels, probs, **options).as_list() for m in metrics}
