"""What fine-tuning reported (bench/stages/trainer.py builds it), its compute estimate
(bench/stages/flops.py) and its per-epoch curve."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.record.base import Part


@dataclass
class EpochPoint:
    """One epoch: the mean of the training-loss logs that fell in it, and the validation
    scores at its end (None where the run did not evaluate each epoch)."""

    epoch: int
    train_loss: float | None = None
    validation_loss: float | None = None
    validation_f1_macro: float | None = None
    validation_accuracy: float | None = None


@dataclass
class TrainingCompute(Part):
    tokens: int | None = None  # real (unpadded) tokens trained on, epochs included
    matmul_parameters: int | None = None
    trainable_matmul_parameters: int | None = None
    flops: float | None = None
    achieved_tflops: float | None = None
    peak_tflops: float | None = None
    mfu: float | None = None  # achieved / peak; None where the peak is unknown (CPUs, fp32, ...)
    method: str | None = None  # how the FLOPs were counted
    extra: dict = field(default_factory=dict)


@dataclass
class TrainingSummary(Part):
    runtime_s: float | None = None  # trainer.train() wall time, per-epoch evaluation included
    train_time_s: float | None = None  # the same without evaluation
    eval_time_s: float | None = None
    train_samples: int | None = None
    epochs: float | None = None
    steps: int | None = None
    samples_per_s: float | None = None
    tokens: int | None = None
    tokens_per_s: float | None = None
    steps_per_s: float | None = None
    precision: str | None = None
    padding: str | None = None
    sampling: str | None = None
    best_epoch: float | None = None
    best_metric: float | None = None
    epochs_run: float | None = None
    stopped_early: bool | None = None
    may_not_have_converged: bool | None = None
    peak_rss_bytes: int | None = None
    cuda_max_allocated_bytes: int | None = None
    cuda_max_reserved_bytes: int | None = None
    early_stopping_patience: int | None = None
    log_history: list[dict] = field(default_factory=list)
    compute: TrainingCompute | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"compute": TrainingCompute.from_dict}

    @property
    def peak_memory_bytes(self) -> int | None:
        """What training needed: the CUDA allocator's peak on a GPU, else the process RSS."""
        return self.cuda_max_allocated_bytes or self.peak_rss_bytes

    def train_loss_points(self) -> list[tuple[float, float]]:
        """(fractional epoch, loss) of every training-loss log."""
        return [(entry["epoch"], entry["loss"]) for entry in self.log_history
                if "loss" in entry and "epoch" in entry and entry["loss"] is not None]

    def epoch_curve(self) -> list[EpochPoint]:
        """Per epoch. A log at fractional epoch e belongs to epoch ceil(e): the Trainer logs
        every N steps, so its epochs rarely fall on round numbers (0.89 and 1.01 both occur)."""
        points: dict[int, EpochPoint] = {}
        losses: dict[int, list[float]] = {}
        for epoch, loss in self.train_loss_points():
            losses.setdefault(epoch_of(epoch), []).append(loss)
        for entry in self.log_history:
            if "eval_loss" in entry and "epoch" in entry:
                point = points.setdefault(epoch_of(entry["epoch"]),
                                          EpochPoint(epoch_of(entry["epoch"])))
                point.validation_loss = entry["eval_loss"]
                point.validation_f1_macro = entry.get("eval_f1_macro")
                point.validation_accuracy = entry.get("eval_accuracy")
        for epoch, values in losses.items():
            points.setdefault(epoch, EpochPoint(epoch)).train_loss = sum(values) / len(values)
        return [points[e] for e in sorted(points)]


def epoch_of(fractional_epoch: float) -> int:
    """1 for (0, 1], 2 for (1, 2], ...; the tolerance absorbs float noise at the boundary."""
    return max(1, math.ceil(fractional_epoch - 1e-6))
