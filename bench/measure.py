"""Small measurement trackers (latency, memory, footprint) that return dataclasses able to
render themselves with `to_dict()`, so that every backend and variant is measured by the same
code and recorded in the same shape."""
from __future__ import annotations

import gc
import os
import resource
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import psutil
import torch
import torch.nn as nn


# ---------------------------------------------------------------------------------- latency

@dataclass
class LatencyStats:
    """Warm latency of one batch shape; the first (cold) call is reported apart."""

    batch_size: int
    sequence_length: int
    cold_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    stdev_ms: float
    min_ms: float
    max_ms: float
    calls: int  # timed calls, warm-up excluded
    warmup_calls: int
    duration_s: float  # sum of the timed calls
    samples_per_s: float  # throughput from the same timed calls

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LatencyTracker:
    """Times a callable the way DESIGN.md asks: one cold call, `warmup_calls` untimed calls,
    then timed calls until BOTH `min_calls` and `min_duration_s` are reached (a count alone
    under-samples fast calls, a duration alone under-samples slow ones).

    `synchronize` (torch.cuda.synchronize on CUDA) runs before and after each timed call so
    that asynchronous kernels are inside the measured interval.
    """

    warmup_calls: int = 10
    min_calls: int = 20
    min_duration_s: float = 2.0
    synchronize: Callable[[], None] | None = None

    def measure(self, call: Callable[[], Any], batch_size: int,
                sequence_length: int) -> LatencyStats:
        cold = self._time_once(call)
        for _ in range(self.warmup_calls):
            call()
        times: list[float] = []
        collecting = gc.isenabled()
        gc.disable()  # as timeit does: a collection pause is not the model's latency
        try:
            while len(times) < self.min_calls or sum(times) < self.min_duration_s:
                times.append(self._time_once(call))
        finally:
            if collecting:
                gc.enable()
        return summarise(times, cold, batch_size, sequence_length, self.warmup_calls)

    def _time_once(self, call: Callable[[], Any]) -> float:
        if self.synchronize:
            self.synchronize()
        start = time.perf_counter()
        call()
        if self.synchronize:
            self.synchronize()
        return time.perf_counter() - start


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) of already sorted values."""
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarise(times_s: list[float], cold_s: float, batch_size: int, sequence_length: int,
              warmup_calls: int) -> LatencyStats:
    ms = sorted(t * 1000 for t in times_s)
    total = sum(times_s)
    return LatencyStats(
        batch_size=batch_size, sequence_length=sequence_length, cold_ms=cold_s * 1000,
        p50_ms=percentile(ms, 50), p90_ms=percentile(ms, 90), p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99), mean_ms=statistics.fmean(ms),
        stdev_ms=statistics.stdev(ms) if len(ms) > 1 else 0.0, min_ms=ms[0], max_ms=ms[-1],
        calls=len(ms), warmup_calls=warmup_calls, duration_s=total,
        samples_per_s=batch_size * len(ms) / total if total else float("inf"))


# ---------------------------------------------------------------------------- footprint

@dataclass
class Footprint:
    """What a model weighs: in memory (parameters + buffers) and on disk (what would ship)."""

    parameters: int  # weight elements, quantized ones included
    param_bytes: int
    buffer_bytes: int
    file_bytes: int | None = None

    @property
    def total_bytes(self) -> int:
        return self.param_bytes + self.buffer_bytes

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_bytes": self.total_bytes}


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
    """Peak resident memory of this whole process since it started (ru_maxrss), for the
    training figure; inference uses `MemoryTracker`, which can be scoped."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def current_rss_bytes() -> int:
    return psutil.Process(os.getpid()).memory_info().rss


@dataclass
class PeakMemory:
    rss_before_bytes: int
    peak_rss_bytes: int
    samples: int
    interval_s: float
    cuda_max_allocated_bytes: int | None = None
    cuda_max_reserved_bytes: int | None = None
    method: str = "process RSS sampled in a background thread; CUDA: torch allocator peaks"

    @property
    def rss_delta_bytes(self) -> int:
        return self.peak_rss_bytes - self.rss_before_bytes

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_delta_bytes": self.rss_delta_bytes}


class MemoryTracker:
    """Peak memory of what runs inside `with tracker:`.

    CPU: the process RSS is *sampled* every `interval_s` in a background thread (ru_maxrss
    cannot be reset, so it would report the training peak); a spike shorter than the interval
    can be missed. CUDA: `max_memory_allocated/reserved` after a reset, exact, but only for
    memory that torch allocates (an ONNX Runtime CUDA session allocates its own).
    """

    def __init__(self, cuda: bool = False, interval_s: float = 0.005) -> None:
        self.cuda = cuda
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak = self._before = self._samples = 0
        self.result: PeakMemory | None = None

    def __enter__(self) -> MemoryTracker:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self._before = self._peak = current_rss_bytes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        process = psutil.Process(os.getpid())
        while not self._stop.is_set():
            self._peak = max(self._peak, process.memory_info().rss)
            self._samples += 1
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._peak = max(self._peak, current_rss_bytes())
        allocated = reserved = None
        if self.cuda:
            torch.cuda.synchronize()
            allocated = torch.cuda.max_memory_allocated()
            reserved = torch.cuda.max_memory_reserved()
        self.result = PeakMemory(self._before, self._peak, self._samples, self.interval_s,
                                 allocated, reserved)


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
