"""Interleaved timing of prepared variants: every variant once per round, round after round, in
an order shuffled anew each round, so that a slow minute of the machine hits every variant
alike and no variant always runs right after the same neighbour (caches, turbo, allocator).

For each batch size: each variant is warmed up (`warmup_calls` untimed calls), then `rounds`
rounds run; in a round every variant in turn is timed until both `min_calls` calls and
`min_duration_s` seconds are reached. The round's order comes from an RNG seeded for that round
alone (the seeds are recorded: round_order(keys, seed) gives the order back). Other processes'
CPU use is sampled before and after, and around each variant's slice of every round
(bench.measure.machine_load). One process runs this; bench/stages/timing_process.py runs it
in several fresh ones and pool_processes pools what they timed.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, TypeVar

from bench.plugins import Batch, Predictor
from bench.measure.machine_load import LoadProbe
from bench.measure.trackers import Clock, percentile, summarise, time_call, time_until
from bench.record.timing import LatencyStats

Key = TypeVar("Key", bound=Hashable)


@dataclass
class RoundBudget:
    rounds: int
    warmup_calls: int
    min_calls: int  # per variant per round
    min_duration_s: float  # per variant per round


@dataclass
class RoundTimes:
    """What one process timed at one batch size."""

    seconds: dict = field(default_factory=dict)  # key -> one list of call seconds per round
    busy: dict = field(default_factory=dict)  # key -> per round: its slice saw other processes
    seeds: list[int] = field(default_factory=list)  # per round: the seed of its order


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


def round_order(keys: list[Key], seed: int) -> list[Key]:
    """The order of one round: `keys` shuffled by an RNG of its own, seeded with `seed`."""
    return random.Random(seed).sample(keys, len(keys))


def interleaved_rounds(calls: dict[Key, Callable[[], Any]], budget: RoundBudget, seed: int,
                       clock: Clock = time.perf_counter, probe: LoadProbe | None = None,
                       round_done: Callable[[int], None] = lambda index: None) -> RoundTimes:
    """Seconds of every timed call, per key and round, each round in its own shuffled order
    (round seeds drawn from `seed`); with `probe`, each key's slice of each round sampled."""
    draw = random.Random(seed)
    times = RoundTimes({key: [] for key in calls}, {key: [] for key in calls})
    for index in range(budget.rounds):
        times.seeds.append(draw.getrandbits(32))
        for key in round_order(list(calls), times.seeds[-1]):
            if probe:
                probe.mark()
            times.seconds[key].append(time_until(calls[key], budget.min_calls,
                                                 budget.min_duration_s, clock))
            busy = probe.slice_sample(f"round {index + 1} {key}").busy if probe else False
            times.busy[key].append(bool(busy))
        round_done(index)
    return times


def time_batches(predictors: dict[Key, Predictor], batches: dict[int, Batch],
                 budget: RoundBudget, probe: LoadProbe, seed: int,
                 clock: Clock = time.perf_counter,
                 progress: Callable[[str], None] = lambda text: None) -> dict[int, RoundTimes]:
    """Every predictor timed at every batch size (batch size -> its rounds), between a quiet
    check before and one after."""
    results: dict[int, RoundTimes] = {}
    if not predictors:
        return results
    seeds = random.Random(seed)
    probe.quiet_check("before")
    for size, batch in batches.items():
        calls = {key: bound_call(predictor, batch) for key, predictor in predictors.items()}
        progress(f"timing batch {size}: warm-up")
        warm_up(calls, budget.warmup_calls)

        def round_done(index: int, size: int = size) -> None:
            progress(f"timing batch {size}: round {index + 1}/{budget.rounds}")

        results[size] = interleaved_rounds(calls, budget, seeds.getrandbits(32), clock, probe,
                                           round_done)
    probe.quiet_check("after")
    return results


def pool_processes(per_process: list[RoundTimes], key: Hashable, cold_s: float | None,
                   size: int, sequence_length: int, warmup_calls: int) -> LatencyStats:
    """One variant's statistics at one batch size over the rounds of every timing process:
    percentiles over all their calls, and per round its median, process and busy flag."""
    rounds = [times for process in per_process for times in process.seconds[key]]
    stats = summarise(rounds, cold_s, size, sequence_length, warmup_calls)
    stats.rounds_process = [index for index, process in enumerate(per_process)
                            for _ in process.seconds[key]]
    stats.rounds_busy = [busy for process in per_process for busy in process.busy[key]]
    stats.process_p50_ms = [percentile(sorted(t * 1000 for r in process.seconds[key] for t in r),
                                       50) for process in per_process]
    return stats
