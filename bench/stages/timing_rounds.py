"""Interleaved timing of prepared variants: every variant once per round, round after round, so
that a slow minute of the machine hits every variant alike instead of the one that happened to
run then.

For each batch size: each variant is warmed up (`warmup_calls` untimed calls), then `rounds`
rounds run; in a round every variant in turn is timed until both `min_calls` calls and
`min_duration_s` seconds are reached. Other processes' CPU use is sampled before, after and at
the end of every round (bench.measure.machine_load).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Hashable, TypeVar

from bench.plugins import Batch, Predictor
from bench.measure.machine_load import LoadProbe
from bench.measure.trackers import Clock, summarise, time_call, time_until
from bench.record.timing import LatencyStats

Key = TypeVar("Key", bound=Hashable)


@dataclass
class RoundBudget:
    rounds: int
    warmup_calls: int
    min_calls: int  # per variant per round
    min_duration_s: float  # per variant per round


def bound_call(predictor: Predictor, batch: Batch) -> Callable[[], None]:
    """One inference call, synchronized where the device runs asynchronously."""
    synchronize = predictor.synchronize

    def call() -> None:
        predictor(batch)
        if synchronize:
            synchronize()

    return call


def first_calls(predictor: Predictor, batches: dict[int, Batch],
                clock: Clock = time.perf_counter) -> dict[int, float]:
    """Seconds of the first call at each batch size, in order, on a predictor nothing has run
    yet: the first one is the cold call of the freshly built session or model."""
    return {size: time_call(bound_call(predictor, batch), clock) for size, batch in batches.items()}


def warm_up(calls: dict[Key, Callable[[], Any]], count: int) -> None:
    for call in calls.values():
        for _ in range(count):
            call()


def interleaved_rounds(calls: dict[Key, Callable[[], Any]], budget: RoundBudget,
                       clock: Clock = time.perf_counter,
                       round_done: Callable[[int], None] = lambda index: None
                       ) -> dict[Key, list[list[float]]]:
    """Seconds of every timed call: key -> one list per round. Order within a round is the
    order of `calls`."""
    times: dict[Key, list[list[float]]] = {key: [] for key in calls}
    for index in range(budget.rounds):
        for key, call in calls.items():
            times[key].append(time_until(call, budget.min_calls, budget.min_duration_s, clock))
        round_done(index)
    return times


def time_variants(predictors: dict[Key, Predictor], batches: dict[int, Batch],
                  cold_s: dict[Key, dict[int, float]], budget: RoundBudget, sequence_length: int,
                  probe: LoadProbe, clock: Clock = time.perf_counter,
                  progress: Callable[[str], None] = lambda text: None
                  ) -> dict[Key, dict[int, LatencyStats]]:
    """Latency statistics of every prepared predictor: key -> batch size -> stats. `probe`
    gets the before/after quiet checks and a sample per round."""
    results: dict[Key, dict[int, LatencyStats]] = {key: {} for key in predictors}
    if not predictors:
        return results
    probe.quiet_check("before")
    for size, batch in batches.items():
        calls = {key: bound_call(predictor, batch) for key, predictor in predictors.items()}
        progress(f"timing batch {size}: warm-up")
        warm_up(calls, budget.warmup_calls)
        probe.mark()

        def round_done(index: int, size: int = size) -> None:
            probe.sample(f"batch {size} round {index + 1}")
            progress(f"timing batch {size}: round {index + 1}/{budget.rounds}")

        rounds = interleaved_rounds(calls, budget, clock, round_done)
        for key, times in rounds.items():
            results[key][size] = summarise(times, cold_s.get(key, {}).get(size), size,
                                           sequence_length, budget.warmup_calls)
    probe.quiet_check("after")
    return results
