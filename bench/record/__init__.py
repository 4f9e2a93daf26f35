"""The typed result record: one dataclass per part, read from and written to the JSON file."""
from bench.record.cell import (READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, Artefacts, CellConfig,
                               CellRecord, CpuInfo, Environment, ErrorInfo, Example, Parameters,
                               TaskLabels, TrainingDevice, now_iso)
from bench.record.deployment import (DeployedVariant, Deployment, DeploymentTiming, Footprint,
                                     PeakMemory, StepSeconds)
from bench.record.metrics import Baseline, ClassScores, Evaluation, Metrics
from bench.record.timing import LatencyStats, LoadSample, MachineLoad, Speedup
from bench.record.training import EpochPoint, TrainingCompute, TrainingSummary

__all__ = ["READABLE_SCHEMA_VERSIONS", "SCHEMA_VERSION", "Artefacts", "Baseline", "CellConfig",
           "CellRecord", "ClassScores", "CpuInfo", "DeployedVariant", "Deployment",
           "DeploymentTiming", "Environment", "EpochPoint", "ErrorInfo", "Evaluation", "Example",
           "Footprint", "LatencyStats", "LoadSample", "MachineLoad", "Metrics", "Parameters",
           "PeakMemory", "Speedup", "StepSeconds", "TaskLabels", "TrainingCompute",
           "TrainingDevice", "TrainingSummary", "now_iso"]
