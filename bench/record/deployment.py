"""One deployed variant (a compression chain on a backend) as bench/stages/variants.py builds it
and the record stores it, and every variant of a cell."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.record.base import Part, by_batch
from bench.record.metrics import Metrics
from bench.record.timing import LatencyStats, MachineLoad, Speedup


@dataclass
class Footprint(Part):
    """What a model weighs: in memory (parameters + buffers) and on disk (what would ship).
    bench/measure/trackers.py and the backends measure it."""

    parameters: int | None = None  # weight elements, quantized ones included
    param_bytes: int | None = None
    buffer_bytes: int | None = None
    file_bytes: int | None = None  # what would ship
    total_bytes: int | None = None  # parameters + buffers; filled in when both are known
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.total_bytes is None and None not in (self.param_bytes, self.buffer_bytes):
            self.total_bytes = self.param_bytes + self.buffer_bytes


@dataclass
class PeakMemory(Part):
    """CUDA working memory of a variant (bench/measure/trackers.py cuda_working_memory); older
    records measured RSS instead, and keep those keys in `extra`."""

    cuda_working_bytes: int | None = None
    cuda_allocated_before_bytes: int | None = None
    calls: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class StepSeconds(Part):
    """Wall time of a variant's preparation (compress, export, build a session) and scoring."""

    prepare: float | None = None
    evaluate: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class DeployedVariant(Part):
    variant: str | None = None
    chain: list[str] = field(default_factory=list)
    backend: str | None = None
    # the number format the variant computes in: fp32, bf16, int8 (None: written before it was
    # recorded, when every variant was fp32 or int8)
    precision: str | None = None
    status: str | None = None  # ok, skipped, failed
    reason: str | None = None
    backend_info: dict = field(default_factory=dict)  # what the backend really ran
    footprint: Footprint | None = None
    latency: dict[int, LatencyStats] = field(default_factory=dict)
    peak_memory: PeakMemory | None = None  # CUDA only
    metrics: Metrics | None = None  # test split
    deltas: dict[str, float] = field(default_factory=dict)  # metric - the reference's
    speedup: dict[int, Speedup] = field(default_factory=dict)
    slow_warning: str | None = None  # far slower than the reference at some batch
    reference: str | None = None  # "<variant>/<backend>" deltas and speed-ups are against
    onnx_max_abs_diff: float | None = None  # exported graph vs PyTorch on real inputs
    validation_metrics: Metrics | None = None
    compression_info: dict = field(default_factory=dict)  # compression name -> what it did
    timings_s: StepSeconds = field(default_factory=StepSeconds)
    # False: the method could not merge (prompt/prefix tuning) and the PeftModel itself was
    # deployed; None in records from before this was written
    merged: bool | None = None
    latency_recheck: dict = field(default_factory=dict)  # records from before timing rounds
    # a variant whose chain retrains (pruning recovery, QAT): the name of its control, the
    # uncompressed model given the same extra training (bench/stages/controls.py)
    control: str | None = None
    # a control: the chain steps whose extra training it repeats, without compressing
    trained_as: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    NESTED = {"footprint": Footprint.from_dict, "latency": by_batch(LatencyStats.from_dict),
              "speedup": by_batch(Speedup.from_dict), "metrics": Metrics.from_dict,
              "validation_metrics": Metrics.from_dict, "timings_s": StepSeconds.from_dict,
              "peak_memory": PeakMemory.from_dict}

    @property
    def name(self) -> str:
        return f"{self.variant} / {self.backend}"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def fell_back(self) -> bool:
        return bool(self.backend_info.get("fell_back"))

    @property
    def file_bytes(self) -> int | None:
        return self.footprint.file_bytes if self.footprint else None

    def p50_ms(self, batch: int) -> float | None:
        stats = self.latency.get(batch)
        return stats.p50_ms if stats else None

    def samples_per_s(self, batch: int) -> float | None:
        stats = self.latency.get(batch)
        return stats.samples_per_s if stats else None


@dataclass
class Deployment:
    """Every variant x backend of a cell (`record["deployment"]`, a list in the file)."""

    variants: list[DeployedVariant] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: list) -> "Deployment":
        return cls([DeployedVariant.from_dict(v) for v in data])

    def to_dict(self) -> list:
        return [v.to_dict() for v in self.variants]

    @property
    def batch_sizes(self) -> list[int]:
        return sorted({b for v in self.variants for b in v.latency})

    @property
    def reference(self) -> DeployedVariant | None:
        """The uncompressed model on the first backend: what speed-ups are relative to."""
        return next((v for v in self.variants if not v.chain and v.ok), None)


@dataclass
class TimingProcess(Part):
    """One fresh process of the timing (bench/stages/timing_process.py): its seed, the seed of
    each round's order per batch size (timing_rounds.round_order gives the order back from
    `order`), and how quiet the machine was while it ran."""

    pid: int | None = None
    seed: int | None = None
    seconds: float | None = None
    round_seeds: dict[int, list[int]] = field(default_factory=dict)
    machine_load: MachineLoad | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"machine_load": MachineLoad.from_dict, "round_seeds": by_batch(list)}


@dataclass
class DeploymentTiming(Part):
    """How the deployment stage timed its variants (the [deploy] budget, the variants in the
    order the round seeds shuffle, each timing process) and how busy the machine was."""

    machine_load: MachineLoad | None = None  # every process together
    threads: int | None = None
    rounds: int | None = None  # per process and batch size
    warmup_calls: int | None = None
    round_min_calls: int | None = None
    round_min_duration_s: float | None = None
    seconds: float | None = None
    order: list[str] = field(default_factory=list)  # "<variant>/<backend>" before shuffling
    timing_processes: int | None = None  # None: one, in the deploying process (older records)
    equivalence_band: float | None = None
    processes: list[TimingProcess] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    NESTED = {"machine_load": MachineLoad.from_dict,
              "processes": lambda items: [TimingProcess.from_dict(p) for p in items]}

    @property
    def busy(self) -> bool:
        return bool(self.machine_load and self.machine_load.busy)
