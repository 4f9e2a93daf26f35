"""The record of one cell: what ran (configuration, environment), what it measured, and why it
failed if it did. The cell process fills its JSON form (bench/stages/cell_process.py, with the
training and deployment stages) and bench/record/store.py writes it; the report, the CSV,
`bench compare` and the run summary read it only through these types (and bench/record/rows.py)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from bench.errors import first_line
from bench.record.base import Part
from bench.record.deployment import DeployedVariant, Deployment, DeploymentTiming
from bench.record.metrics import Baseline, Evaluation
from bench.record.training import TrainingSummary

SCHEMA_VERSION = 2  # 2: stage keys (config_hash, deploy_hash), deployment read from disk
READABLE_SCHEMA_VERSIONS = (1, 2)


@dataclass
class ErrorInfo(Part):
    phase: str | None = None
    type: str | None = None
    message: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_exception(cls, phase: str, error: BaseException) -> "ErrorInfo":
        """The first line of the message: the reason, not the trace."""
        return cls(phase, type(error).__name__, first_line(error) if str(error).strip() else "")


@dataclass
class CellConfig(Part):
    """The cell as the suite resolved it (bench/suite/cell.py Cell), as plain JSON."""

    model: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)
    method: dict = field(default_factory=dict)  # entry, name, params
    training: dict = field(default_factory=dict)
    sweep: dict = field(default_factory=dict)
    deploy: dict | None = None
    compressions: dict = field(default_factory=dict)
    study: dict | None = None  # {"role": "trial" | "seed", "index": N}; None: no [study]
    extra: dict = field(default_factory=dict)

    @classmethod
    def of_cell(cls, cell: Any) -> "CellConfig":
        return cls(model=asdict(cell.model), dataset=asdict(cell.dataset),
                   method={"entry": cell.method_entry, "name": cell.method,
                           "params": asdict(cell.method_params)},
                   training=asdict(cell.training), sweep=cell.sweep,
                   deploy=None if cell.deploy is None else asdict(cell.deploy),
                   compressions={name: asdict(params)
                                 for name, params in cell.compressions.items()},
                   study=None if cell.study is None else asdict(cell.study))

    @property
    def is_trial(self) -> bool:
        """A [study] trial: scored on validation only, never a result to compare on test."""
        return (self.study or {}).get("role") == "trial"

    @property
    def model_name(self) -> str | None:
        return self.model.get("name")

    @property
    def dataset_name(self) -> str | None:
        return self.dataset.get("name")

    @property
    def method_name(self) -> str | None:
        return self.method.get("name")

    @property
    def method_entry(self) -> str | None:
        """The suite's name for the method entry (several entries may share one method)."""
        return self.method.get("entry") or self.method.get("name")

    @property
    def method_params(self) -> dict:
        return self.method.get("params") or {}


@dataclass
class CpuInfo(Part):
    model: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    logical_cores: int | None = None
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        flags = ", ".join(name for name, on in self.flags.items() if on) or "none of those checked"
        cores = f", {self.logical_cores} logical cores" if self.logical_cores else ""
        return f"{self.model or 'unknown CPU'} (flags: {flags}{cores})"


@dataclass
class Environment(Part):
    versions: dict[str, str] = field(default_factory=dict)
    git: dict = field(default_factory=dict)  # commit, dirty
    hardware: dict = field(default_factory=dict)  # platform, cpu, cpu_count, gpu, ...
    cpu: CpuInfo | None = None
    # how the cell's process started: "forkserver" (forked from a server that had imported the
    # libraries) or "spawn" (a fresh interpreter); None in records from before it was recorded,
    # all of which were spawned (bench/executors/launch.py)
    start_method: str | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"cpu": CpuInfo.from_dict}

    def describe_hardware(self) -> str:
        """The processor the figures were measured on, with its flags where recorded."""
        if self.hardware.get("gpu"):
            return str(self.hardware["gpu"])
        if self.cpu:
            return self.cpu.describe()
        cores = self.hardware.get("cpu_count")
        return (f"{self.hardware.get('cpu') or 'unknown CPU'}"
                + (f" ({cores} cores; CPU flags not recorded)" if cores else ""))


@dataclass
class Parameters(Part):
    trainable: int | None = None
    total: int | None = None
    trainable_pct: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class TrainingDevice(Part):
    """Where the cell trained: device, torch threads, the GPU and whether it was idle."""

    type: str | None = None
    torch_threads: int | None = None
    name: str | None = None
    gpu_check: dict | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class DeviceSharing(Part):
    """The cell ran in a slot of `fraction` of one `resource` (the Ray executor's GPU share):
    up to `cells_per_device` cells ran on that device at once, so its times measure the
    sharing as much as the method (bench/executors/gpu_sharing.py). None on a record: alone."""

    resource: str | None = None  # the Ray resource: "GPU" (a stand-in in tests)
    cells_per_device: int | None = None
    fraction: float | None = None
    basis: str | None = None  # how the share was chosen: the suite's key, or the peak memory
    extra: dict = field(default_factory=dict)


@dataclass
class TaskLabels(Part):
    """The task as the data defined it (bench/task.py TaskInfo, as recorded)."""

    label_names: list[str] = field(default_factory=list)
    multi_label: bool | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Artefacts(Part):
    """What the training stage saved (what would ship) and which modules the adapter wraps."""

    dir: str | None = None
    bytes: int | None = None
    files: dict[str, int] = field(default_factory=dict)
    wrapped_modules: list[str] | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Example(Part):
    """One test text with its true label, the prediction and its score (lists: multi-label)."""

    text: str = ""
    label: str | list[str] | None = None
    predicted: str | list[str] | None = None
    score: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class CellRecord(Part):
    schema_version: int | None = None
    cell_id: str = ""
    # What produced the figures (bench/suite/identity.py); None: written before keys were
    # recorded, of unknown configuration
    config_hash: str | None = None
    deploy_hash: str | None = None
    suite: str | None = None
    status: str | None = None
    error: ErrorInfo | None = None
    config: CellConfig = field(default_factory=CellConfig)
    seed: int | None = None
    seed_group: str | None = None  # the cell id without its seed suffix
    environment: Environment | None = None
    device: TrainingDevice = field(default_factory=TrainingDevice)
    device_sharing: DeviceSharing | None = None
    data: dict = field(default_factory=dict)  # the data layer's description (bench/data)
    task: TaskLabels = field(default_factory=TaskLabels)
    baseline: Baseline | None = None
    parameters: Parameters | None = None
    evaluation: Evaluation = field(default_factory=Evaluation)
    training: TrainingSummary | None = None
    examples: list[Example] = field(default_factory=list)
    artefacts: Artefacts = field(default_factory=Artefacts)
    deployment: Deployment | None = None
    # the uncompressed model trained as each retraining chain trains, not timed: what separates
    # a compression's effect from its extra training's (bench/stages/controls.py)
    deployment_controls: list[DeployedVariant] = field(default_factory=list)
    deployment_timing: DeploymentTiming | None = None
    deployment_device: str | None = None
    deployment_environment: Environment | None = None  # the host the deployment ran on
    training_phases_s: dict[str, float] = field(default_factory=dict)  # where training was reused
    predictions_file: str | None = None
    phases_s: dict[str, float] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    wall_time_s: float | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"error": ErrorInfo.from_dict, "config": CellConfig.from_dict,
              "device": TrainingDevice.from_dict, "task": TaskLabels.from_dict,
              "device_sharing": DeviceSharing.from_dict,
              "artefacts": Artefacts.from_dict,
              "examples": lambda rows: [Example.from_dict(row) for row in rows],
              "environment": Environment.from_dict, "baseline": Baseline.from_dict,
              "parameters": Parameters.from_dict, "evaluation": Evaluation.from_dict,
              "training": TrainingSummary.from_dict, "deployment": Deployment.from_dict,
              "deployment_controls": lambda rows: [DeployedVariant.from_dict(r) for r in rows],
              "deployment_timing": DeploymentTiming.from_dict,
              "deployment_environment": Environment.from_dict}

    @classmethod
    def failed(cls, cell: Any, error: ErrorInfo) -> "CellRecord":
        """The record of a cell whose process left none (crash, kill, time limit): the same
        configuration as a finished cell's, so that the failure is reported beside it."""
        return cls(schema_version=SCHEMA_VERSION, cell_id=cell.id, suite=cell.suite,
                   status="failed", error=error, config=CellConfig.of_cell(cell),
                   seed=cell.training.seed,
                   seed_group=getattr(cell, "seed_group", None) or cell.id,
                   finished_at=now_iso())

    @property
    def configuration_known(self) -> bool:
        return self.config_hash is not None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def group(self) -> str:
        """Cells repeated with other seeds share this; a single run is its own group."""
        return self.seed_group or self.cell_id

    @property
    def variants(self) -> list:
        return self.deployment.variants if self.deployment else []

    @property
    def wrapped_modules(self) -> list[str] | None:
        """The module names an adapter really wraps (recorded at save time), if recorded."""
        return self.artefacts.wrapped_modules

    @property
    def sweep_label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.sweep.items())

    @property
    def label(self) -> str:
        return self.cell_id + (f" ({self.sweep_label})" if self.config.sweep else "")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
