"""The cell's training, built once per cell: `CellTrainer` holds what every training run of the
cell shares (tokenizer, tokenized splits, training configuration, task, device, max_length)
and runs transformers.Trainer with dynamic padding, per-epoch evaluation, best weights kept
in memory, early stopping, a NaN guard and honest throughput (evaluation time excluded).

`train` is the cell's own fine-tuning; `train_more` is what compressions ask for (pruning
recovery, QAT): a fixed number of further epochs at their own learning rate.
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
from datasets import Dataset
from transformers import Trainer, TrainingArguments, set_seed

from bench.data import PreparedData
from bench.suite.devices import resolve_precision
from bench.plugins import FineTuneMethod
from bench.models.inference import by_length
from bench.measure.trackers import peak_rss_bytes
from bench.record.training import TrainingSummary
from bench.specs import TrainingConfig
from bench.task import TaskInfo
from bench.stages.tokenization import tokenize_splits
from bench.stages.trainer_parts import (KeepBest, NanGuard, StepProgress, ValidationHistory,
                                        collator, scalar_metrics)


@dataclass
class CellTrainer:
    """Trains models of one cell on its train split, evaluating on its validation split.

    `data`: tokenized "train", "validation" and "test" splits (bench/stages/tokenization.py);
    `log_dir` keeps what config.report_to writes there (TensorBoard events); by default the
    Trainer's folder is temporary (no checkpoints are saved: KeepBest works in memory);
    `progress(steps done, steps in all)` hears the cell's own training as it goes."""

    tokenizer: Any
    data: dict[str, Dataset]
    config: TrainingConfig
    task: TaskInfo
    device: str
    max_length: int
    log_dir: Path | None = None
    progress: Callable[[int, int], None] | None = None

    @classmethod
    def of_prepared(cls, prepared: PreparedData, tokenizer, config: TrainingConfig, device: str,
                    max_length: int, log_dir: Path | None = None,
                    progress: Callable[[int, int], None] | None = None) -> "CellTrainer":
        """The trainer of a prepared dataset, its splits tokenized (or read from the cache)."""
        return cls(tokenizer, tokenize_splits(prepared, tokenizer, max_length), config,
                   prepared.task, device, max_length, log_dir, progress)

    def train(self, model: nn.Module, method: FineTuneMethod | None = None) -> TrainingSummary:
        """The cell's fine-tuning of `model`, in place, as its configuration says, with the
        training callbacks `method` asks for (AdaLoRA's rank allocation)."""
        return self._run(model, self.config, self.config.epochs, self.log_dir, self.progress,
                         method)

    def train_more(self, model: nn.Module, epochs: float, learning_rate: float) -> nn.Module:
        """`epochs` more epochs of the cell's training at `learning_rate`, all of them run (no
        early stopping) and the last weights kept (no best epoch restored)."""
        config = replace(self.config, keep_best=False, early_stopping_patience=None,
                         learning_rate=learning_rate)
        self._run(model, config, epochs, log_dir=None, progress=None)
        return model

    def _run(self, model: nn.Module, cfg: TrainingConfig, epochs: float, log_dir: Path | None,
             progress: Callable[[int, int], None] | None,
             method: FineTuneMethod | None = None) -> TrainingSummary:
        train, validation = self.data["train"], self.data["validation"]
        set_seed(cfg.seed)
        precision = resolve_precision(cfg.precision, self.device)
        steps_per_epoch = math.ceil(len(train) / (cfg.batch_size * cfg.gradient_accumulation_steps))
        total_steps = cfg.max_steps if cfg.max_steps > 0 else math.ceil(steps_per_epoch * epochs)
        warmup = cfg.warmup_steps or int(cfg.warmup_ratio * total_steps)
        evaluate_each_epoch = cfg.eval_each_epoch and len(validation) > 0
        with tempfile.TemporaryDirectory(prefix="bench-trainer-") as scratch:
            args = TrainingArguments(
                output_dir=str(log_dir) if log_dir else scratch,
                per_device_train_batch_size=cfg.batch_size,
                per_device_eval_batch_size=cfg.eval_batch_size, learning_rate=cfg.learning_rate,
                num_train_epochs=epochs, max_steps=cfg.max_steps,
                gradient_accumulation_steps=cfg.gradient_accumulation_steps,
                weight_decay=cfg.weight_decay, lr_scheduler_type=cfg.scheduler,
                warmup_steps=warmup, eval_strategy="epoch" if evaluate_each_epoch else "no",
                save_strategy="no", logging_steps=cfg.logging_steps, logging_first_step=True,
                seed=cfg.seed,
                logging_nan_inf_filter=False,  # the default hides NaN losses from NanGuard
                report_to=cfg.report_to or "none", bf16=precision == "bf16",
                fp16=precision == "fp16", train_sampling_strategy=cfg.sampling,
                use_cpu=self.device == "cpu", dataloader_num_workers=0, disable_tqdm=True,
                remove_unused_columns=True)
            keep_best = KeepBest(model, cfg.metric_for_best)
            history = ValidationHistory(cfg.metric_for_best, cfg.early_stopping_patience)
            callbacks = [NanGuard()] + ([keep_best] if cfg.keep_best and evaluate_each_epoch
                                        else [])
            callbacks += [history] if evaluate_each_epoch else []
            callbacks += [StepProgress(progress)] if progress else []
            callbacks += method.training_callbacks(model, total_steps) if method else []
            trainer = Trainer(model=model, args=args, train_dataset=train,
                              eval_dataset=by_length(validation) if evaluate_each_epoch else None,
                              data_collator=collator(self.tokenizer, cfg.padding, self.max_length),
                              compute_metrics=scalar_metrics(self.task), callbacks=callbacks)
            if self.device == "cuda":
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
        samples = len(train) * epochs_run if cfg.max_steps <= 0 else (
            cfg.max_steps * cfg.batch_size * cfg.gradient_accumulation_steps)
        lengths = [len(ids) for ids in train["input_ids"]]
        tokens = round(samples * sum(lengths) / max(len(lengths), 1))
        cuda = self.device == "cuda"
        return TrainingSummary(
            runtime_s=runtime, eval_time_s=eval_time, train_samples=len(train), epochs=epochs,
            steps=output.global_step, samples_per_s=samples / train_time, tokens=tokens,
            tokens_per_s=tokens / train_time, train_time_s=train_time,
            steps_per_s=output.global_step / train_time, precision=precision,
            padding=cfg.padding, sampling=cfg.sampling,
            best_epoch=history.best_epoch, best_metric=history.best,
            peak_rss_bytes=peak_rss_bytes(),
            cuda_max_allocated_bytes=torch.cuda.max_memory_allocated() if cuda else None,
            cuda_max_reserved_bytes=torch.cuda.max_memory_reserved() if cuda else None,
            log_history=[clean_log(entry) for entry in log_history],
            early_stopping_patience=cfg.early_stopping_patience,
            **history.convergence(epochs_run, stopped_early))


def clean_log(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if isinstance(v, (int, float))}
