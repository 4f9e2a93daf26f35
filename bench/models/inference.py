"""Batches of model inputs as numpy arrays, and a PyTorch predictor over them: the common
currency of evaluation, whatever the backend."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
import torch.nn as nn
from datasets import Dataset

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def iterate_batches(dataset: Dataset, tokenizer, batch_size: int,
                    max_length: int | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Padded batches in dataset order; padded to the longest row, or to `max_length`."""
    columns = [c for c in MODEL_INPUTS if c in dataset.column_names]
    for start in range(0, len(dataset), batch_size):
        rows = dataset[start:start + batch_size]
        features = [{c: rows[c][i] for c in columns} for i in range(len(rows[columns[0]]))]
        padded = tokenizer.pad(features, padding="max_length" if max_length else "longest",
                               max_length=max_length, return_tensors="np")
        yield {c: np.asarray(padded[c], dtype=np.int64) for c in columns}


def length_order(dataset: Dataset) -> np.ndarray:
    """Row indices sorted by token count (stable): batches then pad little."""
    lengths = np.array([len(ids) for ids in dataset["input_ids"]])
    return np.argsort(lengths, kind="stable")


def by_length(dataset: Dataset) -> Dataset:
    """Rows sorted by token count: every metric, which does not depend on row order, stays the
    same; per-example outputs are put back with `length_order` (SplitPredictions)."""
    return dataset.select(length_order(dataset).tolist())


def labels_of(dataset: Dataset) -> np.ndarray:
    return np.asarray(dataset["labels"])


class TorchPredictor:
    """Eager PyTorch forward without gradients; inputs moved to the model's device."""

    def __init__(self, model: nn.Module, device: str) -> None:
        self.model = model.eval()
        self.device = device

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            logits = self.model(**inputs).logits
        return logits.float().cpu().numpy()
