"""Fine-tuning with transformers.Trainer: dynamic padding, per-epoch evaluation, best weights
kept in memory, early stopping, NaN guard, honest throughput (evaluation time excluded)."""
from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from datasets import Dataset
from transformers import (DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments,
                          set_seed)

from bench.devices import resolve_precision
from bench.errors import CellFailed
from bench.evaluate import compute_metrics
from bench.inference import by_length
from bench.measure import peak_rss_bytes
from bench.specs import TrainingConfig
from bench.task import TaskInfo


@dataclass
class TrainingReport:
    runtime_s: float  # wall time of trainer.train(), per-epoch evaluation included
    eval_time_s: float
    train_samples: int
    epochs: float
    steps: int
    samples_per_s: float  # training samples processed per second of training (eval excluded)
    tokens: int  # real (unpadded) tokens trained on, epochs included
    tokens_per_s: float
    train_time_s: float  # runtime_s without the evaluation time
    steps_per_s: float
    precision: str
    padding: str
    sampling: str
    best_epoch: float | None
    best_metric: float | None
    peak_rss_bytes: int
    epochs_run: float = 0.0  # `epochs` is the budget; early stopping may end sooner
    stopped_early: bool = False
    # the best validation score came at the last epoch run and training did not stop early:
    # more epochs might have helped. None: no per-epoch validation
    may_not_have_converged: bool | None = None
    early_stopping_patience: int | None = None
    cuda_max_allocated_bytes: int | None = None
    cuda_max_reserved_bytes: int | None = None
    log_history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


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
        return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None}

    return compute


def finetune(model: nn.Module, tokenizer, data: dict[str, Dataset], cfg: TrainingConfig,
             task: TaskInfo, device: str, max_length: int, epochs: float | None = None,
             log_dir: Path | None = None,
             progress: Callable[[int, int], None] | None = None) -> TrainingReport:
    """Train `model` in place on data["train"], evaluating on data["validation"] each epoch.
    `log_dir` keeps what cfg.report_to writes there (TensorBoard events); by default the
    Trainer's folder is temporary (no checkpoints are saved: KeepBest works in memory)."""
    set_seed(cfg.seed)
    precision = resolve_precision(cfg.precision, device)
    epochs = cfg.epochs if epochs is None else epochs
    steps_per_epoch = math.ceil(len(data["train"]) / (cfg.batch_size * cfg.gradient_accumulation_steps))
    total_steps = cfg.max_steps if cfg.max_steps > 0 else math.ceil(steps_per_epoch * epochs)
    warmup = cfg.warmup_steps or int(cfg.warmup_ratio * total_steps)
    evaluate_each_epoch = cfg.eval_each_epoch and len(data["validation"]) > 0
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as scratch:
        output_dir = str(log_dir) if log_dir else scratch
        args = TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.eval_batch_size, learning_rate=cfg.learning_rate,
            num_train_epochs=epochs, max_steps=cfg.max_steps,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            weight_decay=cfg.weight_decay, lr_scheduler_type=cfg.scheduler, warmup_steps=warmup,
            eval_strategy="epoch" if evaluate_each_epoch else "no", save_strategy="no",
            logging_steps=cfg.logging_steps, logging_first_step=True, seed=cfg.seed,
            logging_nan_inf_filter=False,  # the default hides NaN losses from NanGuard
            report_to=cfg.report_to or "none", bf16=precision == "bf16", fp16=precision == "fp16",
            train_sampling_strategy=cfg.sampling,
            use_cpu=device == "cpu", dataloader_num_workers=0, disable_tqdm=True,
            remove_unused_columns=True)
        keep_best = KeepBest(model, cfg.metric_for_best)
        history = ValidationHistory(cfg.metric_for_best, cfg.early_stopping_patience)
        callbacks = [NanGuard()] + ([keep_best] if cfg.keep_best and evaluate_each_epoch else [])
        callbacks += [history] if evaluate_each_epoch else []
        callbacks += [StepProgress(progress)] if progress else []
        validation = by_length(data["validation"]) if evaluate_each_epoch else None
        trainer = Trainer(model=model, args=args, train_dataset=data["train"],
                          eval_dataset=validation,
                          data_collator=collator(tokenizer, cfg.padding, max_length),
                          compute_metrics=scalar_metrics(task), callbacks=callbacks)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        output = trainer.train()
        keep_best.restore()
        log_history = trainer.state.log_history
        epochs_run = float(trainer.state.epoch or 0.0)
        stopped_early = output.global_step < trainer.state.max_steps
    model.eval()
    runtime = output.metrics["train_runtime"]
    eval_time = sum(entry.get("eval_runtime", 0.0) for entry in log_history)
    train_time = max(runtime - eval_time, 1e-9)
    samples = len(data["train"]) * epochs_run if cfg.max_steps <= 0 else (
        cfg.max_steps * cfg.batch_size * cfg.gradient_accumulation_steps)
    lengths = [len(ids) for ids in data["train"]["input_ids"]]
    tokens = round(samples * sum(lengths) / max(len(lengths), 1))
    return TrainingReport(
        runtime_s=runtime, eval_time_s=eval_time, train_samples=len(data["train"]), epochs=epochs,
        steps=output.global_step, samples_per_s=samples / train_time, tokens=tokens,
        tokens_per_s=tokens / train_time, train_time_s=train_time,
        steps_per_s=output.global_step / train_time, precision=precision, padding=cfg.padding,
        sampling=cfg.sampling,
        best_epoch=history.best_epoch, best_metric=history.best,
        peak_rss_bytes=peak_rss_bytes(),
        cuda_max_allocated_bytes=torch.cuda.max_memory_allocated() if device == "cuda" else None,
        cuda_max_reserved_bytes=torch.cuda.max_memory_reserved() if device == "cuda" else None,
        log_history=[clean_log(entry) for entry in log_history],
        early_stopping_patience=cfg.early_stopping_patience,
        **history.convergence(epochs_run, stopped_early))


def clean_log(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if isinstance(v, (int, float))}
