"""Speed-ups with an interval that holds across processes, and the verdict they allow.

The deployment stage times every variant in several fresh processes, each in shuffled,
interleaved rounds (bench/stages/timing_rounds.py). Each round gives one ratio per variant:
reference round p50 / variant round p50, both timed within seconds of each other, so a slow
minute cancels in the ratio. What does not cancel is the process: its memory layout, thread
placement and the kernels its libraries picked shift a ratio for all of its rounds alike (a
repeat run fell outside another run's [min, max] over 6 rounds of one process in 40 of 108
checks). So the interval is built over processes, not over rounds:

- point estimate: the median of the per-round ratios of every process, pooled;
- interval: a Student-t *prediction* interval, from the processes' median log-ratios, of the
  speed-up a repeat run with as many processes would estimate (each process summarised by one
  median, the usual analysis of few clusters: exact when those medians are log-normal, and a
  process's median carries its within-process noise along), never narrower than the
  distribution-free interval of the pooled rounds' median (median_interval) and always
  holding the point estimate. A confidence interval of the mean would be sqrt(2) narrower at
  3 processes, and a rerun's own estimate, noisy too, fell outside it 6 times in 36. With one process there is no between-process spread to
  see: the interval is that of the rounds alone, and says so (`method`).

Why not a bootstrap over processes then rounds: with 3 processes there are 10 distinct
resamples of processes and a percentile interval cannot reach past the most extreme process;
cluster bootstraps need tens of clusters. docs/measurement.md has the longer story.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bench.record.timing import Speedup

CONFIDENCE = 0.95
FAR_SLOWER = 3.0  # a variant this many times slower than its reference is called out
EQUIVALENCE_BAND = 0.05  # [deploy] equivalence_band: "no measurable difference" within +-5%
FASTER, SLOWER = "faster", "slower"
NO_DIFFERENCE = "no measurable difference"
INCONCLUSIVE = "inconclusive"
OVER_PROCESSES = "t prediction over process medians"
OVER_ROUNDS = "order statistics over rounds (one process)"


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


@dataclass
class RatioInterval:
    estimate: float  # median of the pooled per-round ratios
    low: float
    high: float
    confidence: float
    method: str  # OVER_PROCESSES or OVER_ROUNDS
    process_medians: list[float]


def between_process_interval(medians: list[float], confidence: float = CONFIDENCE
                             ) -> tuple[float, float]:
    """Student-t prediction interval, from `medians` (one per process, at least two), of the
    mean log-ratio a repeat run of as many processes would measure, back on the ratio scale:
    mean ± t(P-1) · s · sqrt(1/P + 1/P). Both runs' means are noisy, hence the two terms; a
    process offset raises the spread and widens it."""
    from scipy import stats

    logs = [math.log(m) for m in medians]
    centre, spread = statistics.fmean(logs), statistics.stdev(logs)
    processes = len(logs)
    half = (stats.t.ppf(1 - (1 - confidence) / 2, processes - 1) * spread
            * math.sqrt(2 / processes))
    return math.exp(centre - half), math.exp(centre + half)


def ratio_interval(ratios_by_process: list[list[float]], confidence: float = CONFIDENCE
                   ) -> RatioInterval:
    """The speed-up's estimate and interval from each process's per-round ratios (see the
    module docstring)."""
    pooled = [r for ratios in ratios_by_process for r in ratios]
    estimate = statistics.median(pooled)
    medians = [statistics.median(ratios) for ratios in ratios_by_process]
    low, high, coverage = median_interval(pooled, confidence)
    method = OVER_ROUNDS
    if len(ratios_by_process) > 1:
        t_low, t_high = between_process_interval(medians, confidence)
        low, high, coverage, method = min(low, t_low), max(high, t_high), confidence, OVER_PROCESSES
    return RatioInterval(estimate, min(low, estimate), max(high, estimate), coverage, method,
                         medians)


def verdict(low: float, high: float, band: float = EQUIVALENCE_BAND) -> str:
    """"faster" / "slower" when the interval excludes 1; "no measurable difference" only when
    it lies inside [1 - band, 1 + band]; otherwise "inconclusive" (it holds 1, but also
    differences larger than the band: more rounds or processes would tell)."""
    if low > 1:
        return FASTER
    if high < 1:
        return SLOWER
    return NO_DIFFERENCE if 1 - band <= low and high <= 1 + band else INCONCLUSIVE


def group_by_process(values: list[float], processes: list[int] | None) -> list[list[float]]:
    """Per-round figures split by the process that timed them (None: all from one process,
    as in records from before timing processes)."""
    if processes is None:
        return [list(values)]
    groups: dict[int, list[float]] = {}
    for value, process in zip(values, processes, strict=True):
        groups.setdefault(process, []).append(value)
    return [groups[p] for p in sorted(groups)]


def speedup(reference_rounds_ms: list[float], variant_rounds_ms: list[float],
            rounds_process: list[int] | None = None, band: float = EQUIVALENCE_BAND,
            busy_rounds: int | None = None, confidence: float = CONFIDENCE) -> Speedup:
    """The speed-up of a variant timed in the same rounds as its reference (the record's
    Speedup): round i of both lists was timed in process rounds_process[i]."""
    if len(reference_rounds_ms) != len(variant_rounds_ms):
        raise ValueError("the reference and the variant were not timed in the same rounds")
    ratios = [ref / var for ref, var in zip(reference_rounds_ms, variant_rounds_ms)]
    interval = ratio_interval(group_by_process(ratios, rounds_process), confidence)
    return Speedup(interval.estimate, interval.low, interval.high,
                   verdict(interval.low, interval.high, band), confidence=interval.confidence,
                   far_slower=interval.estimate < 1 / FAR_SLOWER, method=interval.method,
                   process_ratios=interval.process_medians, band=band, busy_rounds=busy_rounds)
