"""One deployed variant (a compression chain on a backend, bench/stages/variants.py) and its figures."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.record.base import Part, by_batch
from bench.record.metrics import Metrics


@dataclass
class LatencyStats(Part):
    batch_size: int | None = None
    sequence_length: int | None = None
    cold_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    stdev_ms: float | None = None
    calls: int | None = None
    samples_per_s: float | None = None
    rounds_p50_ms: list[float] | None = None  # one median per interleaved round
    extra: dict = field(default_factory=dict)


@dataclass
class Speedup(Part):
    """Ratio of medians against the fp32 reference, with its interval where measured; a
    speed-up whose interval holds 1.0 is "no measurable difference"."""

    ratio: float | None = None
    low: float | None = None
    high: float | None = None
    verdict: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data):
        if isinstance(data, (int, float)):  # older records: a bare ratio
            return cls(ratio=float(data))
        return super().from_dict(data)


@dataclass
class Footprint(Part):
    parameters: int | None = None
    param_bytes: int | None = None
    buffer_bytes: int | None = None
    file_bytes: int | None = None  # what would ship
    total_bytes: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class DeployedVariant(Part):
    variant: str | None = None
    chain: list[str] = field(default_factory=list)
    backend: str | None = None
    status: str | None = None
    reason: str | None = None
    backend_info: dict = field(default_factory=dict)
    footprint: Footprint | None = None
    latency: dict[int, LatencyStats] = field(default_factory=dict)
    speedup: dict[int, Speedup] = field(default_factory=dict)
    metrics: Metrics | None = None  # test split
    validation_metrics: Metrics | None = None
    deltas: dict[str, float] = field(default_factory=dict)
    reference: str | None = None
    compression_info: dict = field(default_factory=dict)
    latency_recheck: dict = field(default_factory=dict)
    peak_memory: dict | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"footprint": Footprint.from_dict, "latency": by_batch(LatencyStats.from_dict),
              "speedup": by_batch(Speedup.from_dict), "metrics": Metrics.from_dict,
              "validation_metrics": Metrics.from_dict}

    @property
    def name(self) -> str:
        return f"{self.variant} / {self.backend}"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def merged(self) -> bool | None:
        """False: the method could not merge (prompt/prefix tuning) and the PeftModel itself
        was deployed; None in records from before this was written."""
        return self.extra.get("merged")

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
class DeploymentTiming(Part):
    """How the deployment stage timed its variants, and how busy the machine was."""

    machine_load: dict | None = None  # before, after, rounds, busy, warning
    threads: int | None = None
    rounds: int | None = None
    seconds: float | None = None
    order: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        return bool(self.machine_load and self.machine_load.get("busy"))
