"""Classification metrics from logits: the same code scores PyTorch, ONNX Runtime and every
compressed variant, so their figures are comparable. Which metrics: bench/metric_registry.py."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from sklearn import metrics as skm

from bench.errors import CellFailed
from bench.metric_registry import Scored, compute_all
from bench.record.metrics import ClassScores, Metrics
from bench.record.predictions import SplitPredictions
from bench.stats.bootstrap import intervals_of
from bench.task import TaskInfo

Batch = dict[str, np.ndarray]
Predictor = Callable[[Batch], np.ndarray]  # a batch of model inputs -> logits [batch, labels]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def predict_all(predict: Predictor, batches: Iterable[Batch]) -> tuple[np.ndarray, float, int]:
    """Logits for every batch, the wall time it took and the number of batches."""
    outputs, steps = [], 0
    start = time.perf_counter()
    for batch in batches:
        outputs.append(np.asarray(predict(batch), dtype=np.float32))
        steps += 1
    return np.concatenate(outputs), time.perf_counter() - start, steps


@dataclass
class ScoredSplit:
    """A model's scores on one split and its per-example predictions."""

    scores: Metrics  # the registry's metrics, timing, 95% bootstrap intervals
    predictions: SplitPredictions  # per example, in the split's original order


def evaluate(predict: Predictor, batches: Iterable[Batch], labels: np.ndarray,
             task: TaskInfo, order: np.ndarray | None = None) -> ScoredSplit:
    """Run `predict` over `batches` and score it against `labels` (ints, or multi-hot rows).
    `order`: the rows were `split.select(order)` (length-sorted); predictions are put back in
    the split's own order so that two cells pair example by example."""
    logits, runtime, steps = predict_all(predict, batches)
    labels = np.asarray(labels)
    result = compute_metrics(logits, labels, task)
    result.runtime_s = runtime
    result.samples_per_s = len(logits) / runtime if runtime else None
    result.steps_per_s = steps / runtime if runtime else None
    probs = probabilities(logits, task)
    result.intervals = intervals_of(labels, probs, num_classes=task.num_labels)
    return ScoredSplit(result, SplitPredictions(labels, probs).in_original_order(order))


def probabilities(logits: np.ndarray, task: TaskInfo) -> np.ndarray:
    return sigmoid(logits) if task.multi_label else softmax(logits)


def compute_metrics(logits: np.ndarray, labels: np.ndarray, task: TaskInfo) -> Metrics:
    """Every registered metric that applies to the task, the loss, the per-class report and
    (single-label) the confusion matrix."""
    labels = np.asarray(labels)
    if not np.isfinite(logits).all():
        raise CellFailed(f"the model produced non-finite logits ({int((~np.isfinite(logits)).sum())}"
                         f" of {logits.size} values): training diverged?")
    probs = probabilities(logits, task)
    predicted = (probs >= 0.5).astype(int) if task.multi_label else probs.argmax(axis=1)
    scored = Scored(labels, predicted, probs, task.num_labels, task.multi_label)
    classes = None if task.multi_label else list(range(task.num_labels))
    p, r, f, support = skm.precision_recall_fscore_support(labels, predicted, labels=classes,
                                                           zero_division=0)
    return Metrics(
        n=int(len(labels)), loss=loss(labels, probs, task), scores=compute_all(scored),
        per_class={name: ClassScores(float(p[i]), float(r[i]), float(f[i]), int(support[i]))
                   for i, name in enumerate(task.label_names)},
        confusion_matrix=None if task.multi_label else skm.confusion_matrix(
            labels, predicted, labels=classes).tolist())


def loss(labels: np.ndarray, probs: np.ndarray, task: TaskInfo) -> float:
    """Cross-entropy: of the true class (single-label), or binary per label (multi-label)."""
    if task.multi_label:
        eps = 1e-12
        return float(-(labels * np.log(probs + eps)
                       + (1 - labels) * np.log(1 - probs + eps)).mean())
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1))))
