"""What the benchmark scripts here share: alternated repeats, their spread, a ratio with an
interval, and the context a figure needs to be read later (commit, versions, CPU, load).

Alternation: round r runs the modes in order, rotated by r (A B, B A, A B ... for two modes),
so that drift of the machine (heat, other processes) and any "first run pays" effect fall on
every mode alike. A ratio is taken per round (the modes of one round ran side by side); its
interval is the distribution-free interval of the median of the per-round ratios that the
deployment figures use (bench.measure.speedup): 95% from 6 rounds on; with fewer rounds it is
[min, max] with its own, stated, coverage (75% for 3 rounds). An interval that holds 1.0 is
"no measurable difference". The machine's load is sampled before, after and during every
round (bench.measure.machine_load): a figure taken while something else ran is flagged.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Callable

from bench.measure.machine_load import LoadProbe
from bench.measure.speedup import CONFIDENCE, NO_DIFFERENCE, binomial_cdf, median_interval, min_rounds


def alternate(modes: dict[str, Callable[[], float]], repeats: int, probe: LoadProbe,
              progress: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Each mode's figure, `repeats` times, in rotated order; index r is round r."""
    names = list(modes)
    figures: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        probe.mark()
        for name in order:
            value = modes[name]()
            figures[name].append(value)
            progress(f"round {round_ + 1}/{repeats} {name}: {value:.3f}")
        sample = probe.sample(f"round {round_ + 1}")
        if sample.busy:
            progress(f"round {round_ + 1}: the machine was busy ({sample.other_cores:.2f} "
                     "cores used by other processes)")
    return figures


def spread(values: list[float]) -> dict:
    median = statistics.median(values)
    return {"values": values, "median": median, "min": min(values), "max": max(values),
            "relative_range": (max(values) - min(values)) / median if median else None}


def paired_ratio(numerator: list[float], denominator: list[float]) -> dict:
    """numerator[r] / denominator[r] per round: median, min, max and an interval of the median."""
    ratios = [a / b for a, b in zip(numerator, denominator)]
    if len(ratios) >= min_rounds(CONFIDENCE):
        low, high, coverage = median_interval(ratios, CONFIDENCE)
    else:
        low, high, coverage = min(ratios), max(ratios), 1 - 2 * binomial_cdf(0, len(ratios))
    verdict = ("too few rounds for an interval" if len(ratios) < 3 else NO_DIFFERENCE
               if low <= 1.0 <= high else "higher" if low > 1.0 else "lower")
    return {"per_round": ratios, "median": statistics.median(ratios), "min": min(ratios),
            "max": max(ratios), "interval": [low, high], "interval_coverage": coverage,
            "verdict": verdict}


def context(settings: dict) -> dict:
    """Commit, dirty flag, versions, hardware, CPU model and flags, and the settings."""
    from bench.measure.environment import cpu_info, describe_environment

    return {**describe_environment(), "cpu": cpu_info(), "settings": settings}


def write_json(path: Path | None, data: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
