"""The timing half of the deployment stage: every prepared variant timed in shuffled,
interleaved rounds (bench.stages.timing_rounds), in `timing_processes` fresh processes one after
the other (bench.stages.timing_process), pooled; speed-ups with their interval over processes
against the reference (bench.measure.speedup), and how quiet the machine was
(bench.measure.machine_load)."""
from __future__ import annotations

import random
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bench.errors import one_line
from bench.measure.machine_load import combined
from bench.measure.speedup import speedup
from bench.measure.trackers import cuda_working_memory
from bench.plugins import Batch, Predictor
from bench.record.deployment import DeployedVariant, DeploymentTiming, TimingProcess
from bench.stages.timing_process import (ProcessTimes, TimedArtefact, TimingJob,
                                         run_timing_process, save_batches)
from bench.stages.timing_rounds import RoundBudget, bound_call, pool_processes


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


@dataclass
class TimingRun:
    """What the timing processes measured, and how long they took together."""

    processes: list[ProcessTimes] = field(default_factory=list)
    seconds: float = 0.0


def ready_to_time(variants: list[Prepared]) -> dict[int, Prepared]:
    """The variants that got that far (status ok, predictor alive); one whose backend left no
    artefact to load back fails here, with the reason."""
    ready = {}
    for index, variant in enumerate(variants):
        if variant.predictor is None or not variant.record.ok:
            continue
        if variant.predictor.artefact is None:
            variant.record.status = "failed"
            variant.record.reason = (f"backend {variant.record.backend} left no artefact to "
                                     "load back, so no timing process can time it")
            continue
        ready[index] = variant
    return ready


def run_processes(ready: dict[int, Prepared], spec: Any, batches: dict[int, Batch],
                  device: str, threads: int, progress: Callable[[str], None]) -> TimingRun:
    """Every ready variant timed in `spec.timing_processes` fresh processes, one after the
    other, each with its own seed."""
    budget = RoundBudget(spec.rounds, spec.warmup_calls, spec.round_min_calls,
                         spec.round_min_duration_s)
    artefacts = [TimedArtefact(str(i), v.record.backend, str(v.predictor.artefact))
                 for i, v in ready.items()]
    seeds = random.SystemRandom()
    start, run = time.perf_counter(), TimingRun()
    with tempfile.TemporaryDirectory(prefix="bench-timing-") as folder:
        save_batches(batches, Path(folder) / "batches.npz")
        for index in range(spec.timing_processes):
            job = TimingJob(artefacts, str(Path(folder) / "batches.npz"), budget, device,
                            threads, seeds.getrandbits(31))
            label = f"process {index + 1}/{spec.timing_processes}"
            run.processes.append(run_timing_process(job, Path(folder), label, progress))
    run.seconds = round(time.perf_counter() - start, 3)
    return run


def time_prepared(variants: list[Prepared], spec: Any, batches: dict[int, Batch],
                  device: str, threads: int, progress: Callable[[str], None]) -> TimingRun:
    """Times every ready variant in fresh processes and fills its `latency` (pooled over the
    processes); on CUDA also `peak_memory`, the working memory torch allocates for a few calls
    at the largest batch, on the live predictor. A failure here fails every variant timed."""
    ready = ready_to_time(variants)
    run = TimingRun()
    try:
        if ready:
            run = run_processes(ready, spec, batches, device, threads, progress)
        for index, variant in ready.items():
            variant.record.latency = {
                size: pool_processes([p.rounds[size] for p in run.processes], str(index),
                                     variant.cold_s.get(size), size, spec.sequence_length,
                                     spec.warmup_calls) for size in batches}
            if variant.predictor.cuda_memory_visible:
                variant.record.peak_memory = cuda_working_memory(
                    bound_call(variant.predictor, batches[max(batches)]))
    except Exception as error:
        traceback.print_exception(error, file=sys.stderr)
        for variant in ready.values():
            record = variant.record
            record.status, record.reason = "failed", f"timing rounds: {one_line(error)}"
            record.latency = {}
    return run


def add_speedups(record: DeployedVariant, reference: DeployedVariant, band: float) -> None:
    """`speedup[batch]` of a timed record against its reference, and a warning when it is far
    slower (torchao int8 in eager mode was 61x slower on an AVX2-only host)."""
    for size, stats in record.latency.items():
        ref = reference.latency[size]
        busy = None
        if ref.rounds_busy is not None and stats.rounds_busy is not None:
            busy = sum(a or b for a, b in zip(ref.rounds_busy, stats.rounds_busy))
        record.speedup[size] = speedup(ref.rounds_p50_ms, stats.rounds_p50_ms,
                                       stats.rounds_process, band, busy)
    slow = [f"{1 / s.ratio:.1f}x slower at batch {size}"
            for size, s in record.speedup.items() if s.far_slower]
    if slow:
        record.slow_warning = (f"{', '.join(slow)} than {record.reference} on this host: "
                               "see the CPU's instruction sets in the environment")


def timing_summary(records: list[DeployedVariant], spec: Any, threads: int,
                   run: TimingRun) -> DeploymentTiming:
    """The record's `deployment_timing`: the budget, the variants before shuffling, each
    timing process, the machine's load over all of them."""
    processes = [TimingProcess(p.pid, p.seed, p.seconds,
                               {size: times.seeds for size, times in p.rounds.items()},
                               p.machine_load) for p in run.processes]
    return DeploymentTiming(
        machine_load=combined([p.machine_load for p in run.processes]) if processes else None,
        threads=threads, rounds=spec.rounds, warmup_calls=spec.warmup_calls,
        round_min_calls=spec.round_min_calls, round_min_duration_s=spec.round_min_duration_s,
        seconds=run.seconds, order=[f"{r.variant}/{r.backend}" for r in records if r.latency],
        timing_processes=spec.timing_processes, equivalence_band=spec.equivalence_band,
        processes=processes)
