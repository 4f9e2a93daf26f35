"""The parts that bench/stages/trainer.py's CellTrainer puts around transformers.Trainer: the
padding collator, the scalar metrics the Trainer logs, and the
callbacks (best weights kept in memory, early stopping, NaN guard, step progress). Device and
precision are resolved before training (bench/suite/devices.py)."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from transformers import DataCollatorWithPadding, TrainerCallback

from bench.errors import CellFailed
from bench.stages.evaluate import compute_metrics
from bench.task import TaskInfo


def collator(tokenizer, padding: str, max_length: int) -> DataCollatorWithPadding:
    if padding == "max_length":
        return DataCollatorWithPadding(tokenizer, padding="max_length", max_length=max_length)
    return DataCollatorWithPadding(tokenizer, padding="longest")


class NanGuard(TrainerCallback):
    """Stops the cell as failed as soon as a logged training loss is NaN or infinite."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise CellFailed(f"training loss became {loss} at step {state.global_step}")


class StepProgress(TrainerCallback):
    """Tells `report(steps done, steps in all)` as training goes, for the runner's display."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        self.report = report

    def on_train_begin(self, args, state, control, **kwargs):
        self.report(0, state.max_steps)

    def on_step_end(self, args, state, control, **kwargs):
        self.report(state.global_step, state.max_steps)


class KeepBest(TrainerCallback):
    """Keeps a copy of the trainable weights at the best validation score, in memory: cheaper
    than Trainer checkpoints and the same for every method (adapters, full, 4-bit bases)."""

    def __init__(self, model: nn.Module, metric: str) -> None:
        self.model = model
        self.metric = f"eval_{metric}"
        self.best: float | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if value is None or (self.best is not None and value <= self.best):
            return
        self.best = value
        self.state = {name: p.detach().clone() for name, p in self.model.named_parameters()
                      if p.requires_grad}

    def restore(self) -> None:
        if self.state is None:
            return
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for name, value in self.state.items():
                params[name].copy_(value)


class ValidationHistory(TrainerCallback):
    """The epoch of the best validation score, and early stopping: training ends once
    `patience` evaluations in a row did not beat the best (None: never)."""

    def __init__(self, metric: str, patience: int | None) -> None:
        self.metric = f"eval_{metric}"
        self.patience = patience
        self.best: float | None = None
        self.best_epoch: float | None = None
        self.stale = 0

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if value is None:
            return
        if self.best is None or value > self.best:
            self.best, self.best_epoch, self.stale = value, state.epoch, 0
            return
        self.stale += 1
        if self.patience is not None and self.stale >= self.patience:
            control.should_training_stop = True

    def convergence(self, epochs_run: float, stopped_early: bool) -> dict:
        unconverged = (None if self.best_epoch is None else
                       not stopped_early and self.best_epoch >= epochs_run - 1e-6)
        return {"epochs_run": epochs_run, "stopped_early": stopped_early,
                "may_not_have_converged": unconverged}


def scalar_metrics(task: TaskInfo):
    """Trainer logs only scalars: drop per-class tables and confusion matrices."""

    def compute(prediction) -> dict:
        logits = prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        metrics = compute_metrics(np.asarray(logits), np.asarray(prediction.label_ids), task)
        return {k: v for k, v in metrics.to_dict().items() if isinstance(v, (int, float))}

    return compute

