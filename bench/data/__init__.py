"""Labelled text in, three disjoint splits out: the data layer every cell starts from.

A dataset source (one module each in bench/datasets/, listed in bench/registry.py) is a
function `load(spec, base_dir) -> RawData` that only reads. `prepare_dataset` does the rest the
same way for every source: normalise, filter, deduplicate, split, encode labels, and describe
what it did in `PreparedData.info` (which goes into every result file).
"""
from __future__ import annotations

from pathlib import Path

from bench.data.cleaning import clean_rows, deduplicate, task_info
from bench.data.encoding import class_counts, dataset_fingerprint, encode_split
from bench.data.sources import (canonical_split, existing_file, package_file, raw_from_columns,
                                resolve_path)
from bench.data.splitting import split_rows
from bench.data.types import SPLITS, PreparedData, Split, input_error
from bench.plugins import DatasetSource
from bench.registry import DATASET_SOURCES
from bench.specs import DatasetSpec

# What sources, the pipeline's callers and the tests import from bench.data (a source's
# interface, RawData and DatasetSource, is in bench/plugins.py).
__all__ = ["PreparedData", "SPLITS", "Split", "canonical_split",
           "dataset_fingerprint", "existing_file", "input_error", "package_file",
           "prepare_dataset", "raw_from_columns", "resolve_path"]


def prepare_dataset(spec: DatasetSpec, base_dir: Path) -> PreparedData:
    """Load `spec` from its source and turn it into train/validation/test splits."""
    source: DatasetSource = DATASET_SOURCES.get(spec.source)
    raw = source(spec, Path(base_dir))
    rows, filtered = clean_rows(spec, raw)
    task = task_info(spec, rows, raw.label_names)
    unique, duplicates, conflicting = deduplicate(rows)
    if not unique:
        raise input_error(spec, "no rows left: every text had conflicting labels")
    indices, predefined, stratified = split_rows(spec, unique, task.multi_label)
    splits = {name: encode_split(unique, indices[name], task, raw.text_pairs is not None)
              for name in SPLITS}
    data = PreparedData(**splits, task=task)
    data.info = {
        "name": spec.name, "source": spec.source, "path": spec.path, "notes": raw.notes,
        "rows_loaded": len(raw.texts), "rows_filtered": filtered,
        "duplicates_removed": duplicates, "conflicting_duplicates_dropped": conflicting,
        "predefined_splits": predefined, "stratified": stratified, "seed": spec.seed,
        "label_names": task.label_names, "multi_label": task.multi_label,
        "sizes": {name: len(indices[name]) for name in SPLITS},
        "class_counts": {name: class_counts(split, task) for name, split in splits.items()},
        "fingerprint": dataset_fingerprint(data),
    }
    return data
