"""What every benchmark script here shares: alternated repeats, their spread, a ratio with an
interval, and the context a figure needs to be read later (commit, versions, CPU, load).

Alternation: round r runs the modes in order, rotated by r (A B, B A, A B ... for two modes),
so that drift of the machine (heat, other processes) and any "first run pays" effect fall on
every mode alike. A ratio is taken per round (modes of the same round ran side by side); its
interval is a seeded percentile bootstrap of the median of the per-round ratios. An interval
that holds 1.0 is "no measurable difference".
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

INTERESTING_CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8",
                         "fma", "sse4_2")


def alternate(modes: dict[str, Callable[[], float]], repeats: int,
              progress: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Each mode's figure, `repeats` times, in rotated order; index r is round r."""
    names = list(modes)
    figures: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            value = modes[name]()
            figures[name].append(value)
            progress(f"round {round_ + 1}/{repeats} {name}: {value:.3f}")
    return figures


def spread(values: list[float]) -> dict:
    return {"values": values, "median": statistics.median(values), "min": min(values),
            "max": max(values),
            "relative_range": (max(values) - min(values)) / statistics.median(values)}


def paired_ratio(numerator: list[float], denominator: list[float], seed: int = 0,
                 resamples: int = 2000) -> dict:
    """numerator[r] / denominator[r] per round: median, min, max and a 95% bootstrap interval
    of the median (with fewer than 3 rounds the interval is just min..max)."""
    ratios = np.array(numerator) / np.array(denominator)
    if len(ratios) >= 3:
        rng = np.random.default_rng(seed)
        medians = np.median(rng.choice(ratios, (resamples, len(ratios))), axis=1)
        low, high = np.percentile(medians, [2.5, 97.5])
    else:
        low, high = ratios.min(), ratios.max()
    return {"per_round": ratios.tolist(), "median": float(np.median(ratios)),
            "min": float(ratios.min()), "max": float(ratios.max()),
            "interval_95": [float(low), float(high)],
            "verdict": "no measurable difference" if low <= 1.0 <= high else (
                "higher" if low > 1.0 else "lower")}


def cpu_flags() -> dict[str, bool]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    line = next((l for l in text.splitlines() if l.startswith("flags")), "")
    flags = set(line.split(":", 1)[-1].split())
    return {flag: flag in flags for flag in INTERESTING_CPU_FLAGS}


def machine_load() -> dict:
    """Load average and the CPU share of other processes over a short look: a benchmark
    taken while something else runs is off by a large factor on a small machine."""
    import psutil

    me = {os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))}
    others = [p for p in psutil.process_iter() if p.pid not in me]
    for process in others:
        try:
            process.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(0.5)
    busy = 0.0
    for process in others:
        try:
            busy += process.cpu_percent(None)
        except psutil.Error:
            pass
    return {"load_average": list(os.getloadavg()), "other_processes_cpu_percent": round(busy, 1)}


def context(settings: dict) -> dict:
    """Commit, versions, hardware, CPU flags and the settings of this benchmark."""
    from bench.environment import describe_environment

    return {**describe_environment(), "cpu_flags": cpu_flags(), "platform": platform.platform(),
            "settings": settings}


def write_json(path: Path | None, data: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
