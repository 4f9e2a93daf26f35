"""The timing half of the deployment stage: every prepared variant timed in interleaved rounds
(bench.stages.timing_rounds), speed-ups with their interval against the reference
(bench.measure.speedup), and how quiet the machine was (bench.measure.machine_load)."""
from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from bench.errors import one_line
from bench.measure.machine_load import LoadProbe
from bench.measure.speedup import speedup
from bench.measure.trackers import cuda_working_memory
from bench.plugins import Batch, Predictor
from bench.record.deployment import DeployedVariant, DeploymentTiming
from bench.stages.timing_rounds import RoundBudget, bound_call, time_variants


@dataclass
class Prepared:
    """A variant ready to time: its record so far, its live predictor (None when it did not
    get that far) and the seconds of its first call per batch size."""

    record: DeployedVariant
    predictor: Predictor | None = None
    cold_s: dict[int, float] = field(default_factory=dict)


@dataclass
class DeploymentResult:
    """What the stage hands to the cell: one record per variant x backend (the record's
    `deployment`) and how the timing went (its `deployment_timing`)."""

    variants: list[DeployedVariant]
    timing: DeploymentTiming


def time_prepared(variants: list[Prepared], spec: Any, batches: dict[int, Batch],
                  probe: LoadProbe, progress: Callable[[str], None]) -> float:
    """Times every variant that is ready (status ok, predictor alive) in the same rounds and
    fills its `latency`; on CUDA also `peak_memory`, the working memory torch allocates for a
    few calls at the largest batch. A failure here fails every variant timed. Returns the
    seconds the rounds took."""
    ready = {index: v.predictor for index, v in enumerate(variants)
             if v.predictor is not None and v.record.ok}
    budget = RoundBudget(spec.rounds, spec.warmup_calls, spec.round_min_calls,
                         spec.round_min_duration_s)
    start = time.perf_counter()
    try:
        latency = time_variants(ready, batches, {i: v.cold_s for i, v in enumerate(variants)},
                                budget, spec.sequence_length, probe, progress=progress)
        for index, stats in latency.items():
            variants[index].record.latency = stats
            if ready[index].cuda_memory_visible:
                largest = batches[max(batches)]
                variants[index].record.peak_memory = cuda_working_memory(
                    bound_call(ready[index], largest))
    except Exception as error:
        traceback.print_exception(error, file=sys.stderr)
        for index in ready:
            record = variants[index].record
            record.status, record.reason = "failed", f"timing rounds: {one_line(error)}"
            record.latency = {}
    return round(time.perf_counter() - start, 3)


def add_speedups(record: DeployedVariant, reference: DeployedVariant) -> None:
    """`speedup[batch]` of a timed record against its reference, and a warning when it is far
    slower (torchao int8 in eager mode was 61x slower on an AVX2-only host)."""
    for size, stats in record.latency.items():
        ref = reference.latency[size]
        record.speedup[size] = speedup(ref.p50_ms, stats.p50_ms, ref.rounds_p50_ms,
                                       stats.rounds_p50_ms)
    slow = [f"{1 / s.ratio:.1f}x slower at batch {size}"
            for size, s in record.speedup.items() if s.far_slower]
    if slow:
        record.slow_warning = (f"{', '.join(slow)} than {record.reference} on this host: "
                               "see the CPU's instruction sets in the environment")


def timing_summary(records: list[DeployedVariant], spec: Any, threads: int, probe: LoadProbe,
                   seconds: float) -> DeploymentTiming:
    """The record's `deployment_timing`: the budget, the order of a round, the machine's load."""
    return DeploymentTiming(
        machine_load=probe.summary(), threads=threads, rounds=spec.rounds,
        warmup_calls=spec.warmup_calls, round_min_calls=spec.round_min_calls,
        round_min_duration_s=spec.round_min_duration_s, seconds=seconds,
        order=[f"{r.variant}/{r.backend}" for r in records if r.latency])
