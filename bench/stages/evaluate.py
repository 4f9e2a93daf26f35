"""Classification metrics from logits: the same code scores PyTorch, ONNX Runtime and every
compressed variant, so their figures are comparable."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from sklearn import metrics as skm

from bench.errors import CellFailed
from bench.task import TaskInfo
from bench.record.predictions import SplitPredictions
from bench.stats.bootstrap import intervals_of

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
class Evaluation:
    metrics: dict  # compute_metrics + timing + 95% bootstrap `intervals`
    predictions: SplitPredictions  # per example, in the split's original order


def evaluate(predict: Predictor, batches: Iterable[Batch], labels: np.ndarray,
             task: TaskInfo, order: np.ndarray | None = None) -> Evaluation:
    """Run `predict` over `batches` and score it against `labels` (ints, or multi-hot rows).
    `order`: the rows were `split.select(order)` (length-sorted); predictions are put back in
    the split's own order so that two cells pair example by example."""
    logits, runtime, steps = predict_all(predict, batches)
    labels = np.asarray(labels)
    result = compute_metrics(logits, labels, task)
    n = len(logits)
    result.update(runtime_s=runtime, samples_per_s=n / runtime if runtime else None,
                  steps_per_s=steps / runtime if runtime else None)
    probs = probabilities(logits, task)
    result["intervals"] = intervals_of(labels, probs, num_classes=task.num_labels)
    return Evaluation(result, SplitPredictions(labels, probs).in_original_order(order))


def probabilities(logits: np.ndarray, task: TaskInfo) -> np.ndarray:
    return sigmoid(logits) if task.multi_label else softmax(logits)


def compute_metrics(logits: np.ndarray, labels: np.ndarray, task: TaskInfo) -> dict:
    labels = np.asarray(labels)
    if not np.isfinite(logits).all():
        raise CellFailed(f"the model produced non-finite logits ({int((~np.isfinite(logits)).sum())}"
                         f" of {logits.size} values): training diverged?")
    if task.multi_label:
        return multi_label_metrics(logits, labels, task)
    return single_label_metrics(logits, labels, task)


def single_label_metrics(logits: np.ndarray, labels: np.ndarray, task: TaskInfo) -> dict:
    probs = softmax(logits)
    preds = probs.argmax(axis=1)
    classes = list(range(task.num_labels))
    out: dict = {
        "n": int(len(labels)),
        "accuracy": float(skm.accuracy_score(labels, preds)),
        "loss": float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1)))),
    }
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            labels, preds, labels=classes, average=average, zero_division=0)
        out[f"precision_{average}"], out[f"recall_{average}"], out[f"f1_{average}"] = (
            float(p), float(r), float(f))
    out["roc_auc"] = roc_auc(labels, probs, task)
    p, r, f, support = skm.precision_recall_fscore_support(
        labels, preds, labels=classes, zero_division=0)
    out["per_class"] = {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
               "support": int(support[i])}
        for i, name in enumerate(task.label_names)
    }
    out["confusion_matrix"] = skm.confusion_matrix(labels, preds, labels=classes).tolist()
    return out


def roc_auc(labels: np.ndarray, probs: np.ndarray, task: TaskInfo) -> float | None:
    """ROC-AUC (one-vs-rest, macro for several classes); None when a class is absent."""
    if len(np.unique(labels)) < task.num_labels:
        return None
    if task.num_labels == 2:
        return float(skm.roc_auc_score(labels, probs[:, 1]))
    return float(skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro"))


def multi_label_metrics(logits: np.ndarray, labels: np.ndarray, task: TaskInfo) -> dict:
    probs = sigmoid(logits)
    preds = (probs >= 0.5).astype(int)
    eps = 1e-12
    bce = -(labels * np.log(probs + eps) + (1 - labels) * np.log(1 - probs + eps)).mean()
    out: dict = {
        "n": int(len(labels)),
        "subset_accuracy": float(skm.accuracy_score(labels, preds)),
        "accuracy": float(skm.accuracy_score(labels, preds)),  # same as subset accuracy
        "hamming_loss": float(skm.hamming_loss(labels, preds)),
        "loss": float(bce),
    }
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            labels, preds, average=average, zero_division=0)
        out[f"precision_{average}"], out[f"recall_{average}"], out[f"f1_{average}"] = (
            float(p), float(r), float(f))
    present = labels.sum(axis=0)
    out["roc_auc"] = (float(skm.roc_auc_score(labels, probs, average="macro"))
                      if ((present > 0) & (present < len(labels))).all() else None)
    p, r, f, support = skm.precision_recall_fscore_support(labels, preds, zero_division=0)
    out["per_class"] = {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
               "support": int(support[i])}
        for i, name in enumerate(task.label_names)
    }
    return out
