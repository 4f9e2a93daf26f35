"""How a deployed variant was timed: its latency per batch size, its speed-up against the
reference, and how quiet the machine was. bench/measure builds these very classes
(trackers.summarise, speedup.speedup, machine_load.LoadProbe), so what is measured is what is
stored and read."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.record.base import Part


@dataclass
class LatencyStats(Part):
    """Warm latency of one batch shape over interleaved rounds; the first (cold) call apart.

    Percentiles are taken over every timed call of every round; `rounds_p50_ms` keeps each
    round's median, from which the speed-up's interval is built. Throughput is batch / p50, the
    statistic speed-ups are ratios of, so the two columns of a table always agree.
    """

    batch_size: int | None = None
    sequence_length: int | None = None
    cold_ms: float | None = None  # first call at this batch size on the fresh predictor
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    stdev_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    calls: int | None = None  # timed calls over all rounds, warm-up excluded
    warmup_calls: int | None = None
    duration_s: float | None = None  # sum of the timed calls
    samples_per_s: float | None = None  # batch_size / p50
    rounds: int | None = None  # over every timing process
    rounds_p50_ms: list[float] | None = None  # one median per interleaved round
    # which timing process ran each round of rounds_p50_ms (None: one process, older records)
    rounds_process: list[int] | None = None
    # another process used the CPU during this variant's own slice of the round
    rounds_busy: list[bool] | None = None
    process_p50_ms: list[float] | None = None  # p50 over each timing process's calls
    extra: dict = field(default_factory=dict)


@dataclass
class Speedup(Part):
    """How much faster a variant is than its reference (above 1: faster): the median of the
    per-round ratios of every timing process, with an interval over processes
    (bench/measure/speedup.py). Older records: reference p50 / variant p50 with an interval
    over the rounds of one process."""

    ratio: float | None = None
    low: float | None = None
    high: float | None = None
    # "faster", "slower", "no measurable difference" (interval inside the band) or
    # "inconclusive" (holds 1 and differences beyond the band)
    verdict: str | None = None
    confidence: float | None = None  # nominal coverage (exact for one process's rounds)
    far_slower: bool | None = None  # more than speedup.FAR_SLOWER times slower
    method: str | None = None  # how the interval was built (speedup.OVER_PROCESSES...)
    process_ratios: list[float] = field(default_factory=list)  # each process's median ratio
    band: float | None = None  # the [deploy] equivalence_band the verdict used
    busy_rounds: int | None = None  # rounds where either side's slice saw other processes
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data):
        if isinstance(data, (int, float)):  # older records: a bare ratio
            return cls(ratio=float(data))
        return super().from_dict(data)


@dataclass
class LoadSample(Part):
    """Other processes' CPU use over one interval of the timing (bench/measure/machine_load.py)."""

    label: str | None = None
    seconds: float | None = None
    other_cores: float | None = None  # CPU used by other processes, in cores
    load_1min: float | None = None
    busy: bool | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class MachineLoad(Part):
    """Before and after the timing and during it, with one busy flag and its thresholds.
    Older records sampled whole rounds (`rounds`); now each variant's own slice of a round is
    sampled (the busy ones flagged in its LatencyStats.rounds_busy) and summed up here."""

    before: LoadSample | None = None
    after: LoadSample | None = None
    rounds: list[LoadSample] = field(default_factory=list)
    slices: int | None = None  # variant slices sampled
    busy_slices: int | None = None
    worst_slice: LoadSample | None = None  # the slice where others used the most CPU
    busy: bool | None = None
    busy_other_cores: float | None = None
    busy_load_per_core: float | None = None
    logical_cores: int | None = None
    warning: str | None = None  # set when busy
    extra: dict = field(default_factory=dict)

    NESTED = {"before": LoadSample.from_dict, "after": LoadSample.from_dict,
              "worst_slice": LoadSample.from_dict,
              "rounds": lambda samples: [LoadSample.from_dict(s) for s in samples]}
