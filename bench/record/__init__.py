"""The typed result record: one dataclass per part, read from and written to the JSON file."""
from bench.record.cell import (READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, CellConfig, CellRecord,
                               CpuInfo, Environment, ErrorInfo, Parameters, now_iso)
from bench.record.deployment import (DeployedVariant, Deployment, DeploymentTiming, Footprint,
                                     PeakMemory, StepSeconds)
from bench.record.metrics import Baseline, ClassScores, Evaluation, Metrics
from bench.record.timing import LatencyStats, LoadSample, MachineLoad, Speedup
from bench.record.training import EpochPoint, TrainingSummary

__all__ = ["READABLE_SCHEMA_VERSIONS", "SCHEMA_VERSION", "Baseline", "CellConfig", "CellRecord",
           "ClassScores", "CpuInfo", "DeployedVariant", "Deployment", "DeploymentTiming",
           "Environment", "EpochPoint", "ErrorInfo", "Evaluation", "Footprint", "LatencyStats",
           "LoadSample", "MachineLoad", "Metrics", "Parameters", "PeakMemory", "Speedup",
           "StepSeconds", "TrainingSummary", "now_iso"]
