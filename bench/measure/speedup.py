"""Speed-ups with an interval over timing rounds, and the verdict they allow.

A speed-up is reference p50 / variant p50, both medians of every timed call of the interleaved
rounds: the same statistic as throughput (batch / p50), so the two never disagree. Its interval
is the distribution-free (order-statistic) interval of the median of the per-round ratios
(reference round p50 / variant round p50): a slow minute hits both sides of a round alike, so
the per-round ratio is what varies from round to round. No resampling, no normal assumption.
"""
from __future__ import annotations

import math

from bench.record.timing import Speedup

CONFIDENCE = 0.95
FAR_SLOWER = 3.0  # a variant this many times slower than its reference is called out
NO_DIFFERENCE = "no measurable difference"


def binomial_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def min_rounds(confidence: float = CONFIDENCE) -> int:
    """Fewest rounds whose [min, max] already covers the median with `confidence` (6 at 95%)."""
    n = 1
    while 1 - 2 * binomial_cdf(0, n) < confidence:
        n += 1
    return n


def median_interval(values: list[float], confidence: float = CONFIDENCE
                    ) -> tuple[float, float, float]:
    """(low, high, coverage): the order statistics x(k) and x(n-k+1) with the largest k whose
    coverage 1 - 2 P(Bin(n, 1/2) <= k-1) is still >= `confidence`."""
    ordered = sorted(values)
    n = len(ordered)
    if n < min_rounds(confidence):
        raise ValueError(f"{n} rounds cannot give a {confidence:.0%} interval of a median "
                         f"(at least {min_rounds(confidence)} needed)")
    k = 1
    while k < n // 2 and 1 - 2 * binomial_cdf(k, n) >= confidence:
        k += 1
    return ordered[k - 1], ordered[n - k], 1 - 2 * binomial_cdf(k - 1, n)


def speedup(reference_p50_ms: float, variant_p50_ms: float, reference_rounds_ms: list[float],
            variant_rounds_ms: list[float], confidence: float = CONFIDENCE) -> Speedup:
    """The speed-up of a variant timed in the same rounds as its reference (the record's
    Speedup)."""
    if len(reference_rounds_ms) != len(variant_rounds_ms):
        raise ValueError("the reference and the variant were not timed in the same rounds")
    ratios = [ref / var for ref, var in zip(reference_rounds_ms, variant_rounds_ms)]
    low, high, coverage = median_interval(ratios, confidence)
    verdict = "faster" if low > 1 else "slower" if high < 1 else NO_DIFFERENCE
    ratio = reference_p50_ms / variant_p50_ms
    return Speedup(ratio, low, high, verdict, confidence=coverage,
                   far_slower=ratio < 1 / FAR_SLOWER)
