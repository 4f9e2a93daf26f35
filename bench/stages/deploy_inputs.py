"""What every deployed variant is scored and timed on: the test (and validation) rows sorted by
length, fixed-shape batches of real texts for the timing, and the example batches that trace
exports and check them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from datasets import Dataset

from bench.models.inference import MODEL_INPUTS, iterate_batches, labels_of, length_order
from bench.plugins import Batch
from bench.specs import DeploySpec

@dataclass
class ScoredRows:
    data: Dataset  # length-sorted: less padding, same metrics
    labels: np.ndarray
    order: np.ndarray  # data = the split's first rows .select(order)


@dataclass
class DeployInputs:
    eval_data: Dataset  # sorted by length: less padding, same metrics
    labels: np.ndarray
    timed: dict[int, Batch]  # batch size -> real texts at the fixed sequence length
    examples: list[Batch]  # export tracing (first) and ONNX checks (all): two shapes
    order: np.ndarray  # eval_data = the first rows of the test split .select(order)
    # validation rows, scored too so that a choice among variants ("fastest within 1 point")
    # is made on validation and reported on test (bench/stats/selection.py)
    validation: ScoredRows | None = None


def scored_rows(split: Dataset, limit: int | None) -> ScoredRows:
    first = split.select(range(min(limit or len(split), len(split))))
    order = length_order(first)
    data = first.select(order.tolist())
    return ScoredRows(data, labels_of(data), order)


def build_inputs(test_data: Dataset, tokenizer, spec: DeploySpec,
                 validation_data: Dataset | None = None) -> DeployInputs:
    test = scored_rows(test_data, spec.eval_samples)
    data = test.data
    timed = {size: fixed_batch(data, tokenizer, size, spec.sequence_length)
             for size in spec.batch_sizes}
    validation = (scored_rows(validation_data, spec.eval_samples)
                  if validation_data is not None and len(validation_data) else None)
    # The examples trace exports, check them against PyTorch and calibrate static int8 (NNCF):
    # validation rows where there are any, so that no test text shapes a variant.
    source = validation.data if validation is not None else data
    trace = fixed_batch(source, tokenizer, max(2, *spec.batch_sizes), spec.sequence_length)
    ragged = next(iterate_batches(
        source.select(range(len(source) - min(8, len(source)), len(source))), tokenizer, 8))
    return DeployInputs(data, test.labels, timed, [trace, ragged], test.order, validation)


def fixed_batch(data: Dataset, tokenizer, batch_size: int, length: int) -> Batch:
    """`batch_size` real rows (repeated if the split is smaller), cut and padded to `length`."""
    rows = data.select([i % len(data) for i in range(batch_size)])
    columns = [c for c in MODEL_INPUTS if c in rows.column_names]
    features = [{c: row[c][:length] for c in columns} for row in rows]
    padded = tokenizer.pad(features, padding="max_length", max_length=length, return_tensors="np")
    return {c: np.asarray(padded[c], dtype=np.int64) for c in columns}
