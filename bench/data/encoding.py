"""Rows and split indices -> the Splits models train on (class indices, multi-hot for
multi-label), and what describes them in result files: class counts and a content hash."""
from __future__ import annotations

import hashlib
import json
from collections import Counter

from bench.data.types import CleanRow, PreparedData, Split
from bench.task import TaskInfo


def encode_split(rows: list[CleanRow], indices: list[int], task: TaskInfo,
                 has_pairs: bool) -> Split:
    index = {name: i for i, name in enumerate(task.label_names)}
    if task.multi_label:
        labels = [multi_hot(rows[i].label, index) for i in indices]
    else:
        labels = [index[rows[i].label] for i in indices]
    return Split(texts=[rows[i].text for i in indices], labels=labels,
                 text_pairs=[rows[i].pair for i in indices] if has_pairs else None)


def multi_hot(names: tuple[str, ...], index: dict[str, int]) -> list[int]:
    hot = [0] * len(index)
    for name in names:
        hot[index[name]] = 1
    return hot


def class_counts(split: Split, task: TaskInfo) -> dict[str, int]:
    if task.multi_label:
        totals = [sum(column) for column in zip(*split.labels)] or [0] * task.num_labels
    else:
        counts = Counter(split.labels)
        totals = [counts[i] for i in range(task.num_labels)]
    return dict(zip(task.label_names, totals))


def dataset_fingerprint(data: PreparedData) -> str:
    """A hash of the prepared content (texts, pairs, labels per split, classes): equal
    fingerprints mean the same examples in the same splits, whatever the source or seed."""
    content = {"labels": data.task.label_names, "multi_label": data.task.multi_label,
               "splits": {name: [split.texts, split.text_pairs, split.labels]
                          for name, split in data.splits().items()}}
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()
