"""Small measurement trackers (latency, memory, footprint) that return the record's own
dataclasses (bench/record), so that every backend and variant is measured by the same code and
recorded in the same shape."""
from __future__ import annotations

import gc
import os
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
import torch.nn as nn

from bench.record.deployment import Footprint, PeakMemory
from bench.record.timing import LatencyStats


# ---------------------------------------------------------------------------------- latency

Clock = Callable[[], float]


def time_call(call: Callable[[], Any], clock: Clock = time.perf_counter) -> float:
    """Seconds one call takes. On CUDA `call` must synchronize itself (see `bench.stages.timing_rounds`),
    so that asynchronous kernels fall inside the interval."""
    start = clock()
    call()
    return clock() - start


def time_until(call: Callable[[], Any], min_calls: int, min_duration_s: float,
               clock: Clock = time.perf_counter) -> list[float]:
    """Timed calls until BOTH `min_calls` and `min_duration_s` are reached: a count alone
    under-samples fast calls, a duration alone under-samples slow ones."""
    times: list[float] = []
    collecting = gc.isenabled()
    gc.disable()  # as timeit does: a collection pause is not the model's latency
    try:
        while len(times) < min_calls or sum(times) < min_duration_s:
            times.append(time_call(call, clock))
    finally:
        if collecting:
            gc.enable()
    return times


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) of already sorted values."""
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarise(rounds_s: list[list[float]], cold_s: float | None, batch_size: int,
              sequence_length: int, warmup_calls: int) -> LatencyStats:
    """Statistics of the timed calls of every round (seconds in, milliseconds out)."""
    ms = sorted(t * 1000 for times in rounds_s for t in times)
    p50 = percentile(ms, 50)
    return LatencyStats(
        batch_size=batch_size, sequence_length=sequence_length,
        cold_ms=None if cold_s is None else cold_s * 1000,
        p50_ms=p50, p90_ms=percentile(ms, 90), p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99), mean_ms=statistics.fmean(ms),
        stdev_ms=statistics.stdev(ms) if len(ms) > 1 else 0.0, min_ms=ms[0], max_ms=ms[-1],
        calls=len(ms), warmup_calls=warmup_calls, duration_s=sum(map(sum, rounds_s)),
        samples_per_s=batch_size * 1000 / p50 if p50 else float("inf"),
        rounds=len(rounds_s),
        rounds_p50_ms=[percentile(sorted(t * 1000 for t in times), 50) for times in rounds_s])


# ---------------------------------------------------------------------------- footprint

def tensor_bytes(value: Any) -> tuple[int, int]:
    """(elements, bytes) of a state_dict value, looking inside what `parameters()` misses:
    packed int8 weights of dynamic-quantized Linear (a tuple holding a quantized tensor),
    per-channel quantization scales, and tensor subclasses (torchao's Int8Tensor: int8 data
    plus scales, flattened with `__tensor_flatten__`)."""
    if isinstance(value, (tuple, list)):
        parts = [tensor_bytes(v) for v in value]
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    if not isinstance(value, torch.Tensor):
        return 0, 0
    if type(value) is not torch.Tensor and hasattr(value, "__tensor_flatten__"):
        names, _ = value.__tensor_flatten__()
        inner = [tensor_bytes(getattr(value, name)) for name in names]
        return value.numel(), sum(b for _, b in inner)
    size = value.numel() * value.element_size()
    if value.is_quantized and value.qscheme() in (torch.per_channel_affine,
                                                  torch.per_channel_symmetric):
        size += tensor_bytes(value.q_per_channel_scales())[1]
        size += tensor_bytes(value.q_per_channel_zero_points())[1]
    return value.numel(), size


def module_footprint(model: nn.Module, file_bytes: int | None = None) -> Footprint:
    """Footprint from `state_dict()` (where quantized modules keep their packed weights) plus
    every buffer, persistent or not (they occupy memory all the same)."""
    buffers = dict(model.named_buffers())
    parameters = param_bytes = 0
    for name, value in model.state_dict(keep_vars=True).items():
        if name in buffers:
            continue
        elements, size = tensor_bytes(value)
        parameters += elements
        param_bytes += size
    buffer_bytes = sum(tensor_bytes(b)[1] for b in buffers.values())
    return Footprint(parameters, param_bytes, buffer_bytes, file_bytes)


def file_size(paths: Iterable[Path]) -> int:
    """Bytes on disk of files (a folder counts every file under it)."""
    total = 0
    for path in map(Path, paths):
        files = path.rglob("*") if path.is_dir() else [path]
        total += sum(f.stat().st_size for f in files if f.is_file())
    return total


# ------------------------------------------------------------------------------- memory

def peak_rss_bytes() -> int:
    """Peak resident memory of this whole process since it started: the training figure.
    Linux: VmHWM, the process's own peak (a forked cell's is restarted at fork:
    bench/executors/fork_server.py); ru_maxrss elsewhere, which on Linux would also count the
    parent's RSS at the fork before exec. Inference memory is not read from RSS (see
    docs/measurement.md)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def cuda_working_memory(call: Callable[[], Any], calls: int = 3) -> PeakMemory:
    """Bytes torch's CUDA allocator needs for `calls` calls beyond what is already allocated
    (every prepared variant's weights): the variant's own activations and workspace. Exact,
    but blind to memory that torch does not allocate (an ONNX Runtime CUDA session)."""
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    for _ in range(calls):
        call()
    torch.cuda.synchronize()
    return PeakMemory(cuda_working_bytes=torch.cuda.max_memory_allocated() - before,
                      cuda_allocated_before_bytes=before, calls=calls)


# ------------------------------------------------------------------------------ threads

@dataclass
class ThreadSettings:
    """Intra-op threads given to every backend of a deployment run: figures taken with
    different thread counts are never compared."""

    intra_op: int
    cpu_count: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_threads(threads: int | None) -> ThreadSettings:
    """Set torch's intra-op threads (None: keep what the cell set) and say what is in force;
    backends give the same number to their own runtime."""
    if threads:
        torch.set_num_threads(threads)
    return ThreadSettings(torch.get_num_threads(), os.cpu_count())
