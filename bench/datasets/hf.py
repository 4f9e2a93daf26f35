"""Hugging Face datasets: a hub id (needs the network), or a local folder written by
`save_to_disk`. The dataset's own train/validation(dev)/test splits are kept; ClassLabel
features give the class names and their order."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.data import canonical_split, input_error, raw_from_columns, resolve_path
from bench.plugins import RawData
from bench.errors import first_line
from bench.specs import DatasetSpec


def load(spec: DatasetSpec, base_dir: Path) -> RawData:
    parts = named_splits(load_any(spec, base_dir))
    if not parts:
        raise input_error(spec, f"{spec.path!r} has no train, validation or test split")
    first = next(iter(parts.values()))
    names = class_names(first.features.get(spec.label_column))
    columns = concatenate(parts, first.column_names)
    if names and spec.label_column in columns:
        columns[spec.label_column] = [to_names(v, names) for v in columns[spec.label_column]]
    notes = f"Hugging Face dataset {spec.path}" + (f" ({spec.hf_config})" if spec.hf_config else "")
    return raw_from_columns(spec, columns, spec.path, notes=notes, label_names=names)


def concatenate(parts: dict[str | None, Any], column_names: list[str]) -> dict[str, list]:
    """All parts as one table, with a "split" column when the dataset has named splits; a
    column that a part lacks (a test split without labels) is None there."""
    columns: dict[str, list] = {name: [] for name in column_names if name != "split"}
    for part in parts.values():
        table = part.to_dict()
        for name, values in columns.items():
            values.extend(table.get(name, [None] * len(part)))
    if None not in parts:
        columns["split"] = [name for name, part in parts.items() for _ in range(len(part))]
    return columns


def load_any(spec: DatasetSpec, base_dir: Path) -> Any:
    """A local save_to_disk folder, else whatever `load_dataset` understands (hub id, local
    folder of data files). Imported here: `datasets` is slow to import and most cells use a
    built-in source."""
    import datasets

    local = resolve_path(spec, base_dir)
    try:
        if (local / "dataset_dict.json").is_file() or (local / "state.json").is_file():
            return datasets.load_from_disk(str(local))
        return datasets.load_dataset(str(local) if local.exists() else spec.path, spec.hf_config)
    except (OSError, ValueError) as error:  # not found, offline, no such config
        raise input_error(spec, f"cannot load Hugging Face dataset {spec.path!r}: "
                                f"{first_line(error)}") from None


def named_splits(loaded: Any) -> dict[str | None, Any]:
    """train/validation/test parts; other splits (e.g. IMDB's "unsupervised") are left out.
    A single Dataset has no named split (key None): prepare_dataset splits it."""
    if not hasattr(loaded, "keys"):
        return {None: loaded}
    return {canonical_split(name): part for name, part in loaded.items() if canonical_split(name)}


def class_names(feature: Any) -> list[str] | None:
    """Names of a ClassLabel, or of the ClassLabel inside a list feature (multi-label)."""
    inner = getattr(feature, "feature", feature)
    return list(inner.names) if hasattr(inner, "names") else None


def to_names(value: Any, names: list[str]) -> Any:
    """ClassLabel ids as names; -1 (unlabelled, as in GLUE test sets) as None."""
    if isinstance(value, list):
        return [names[v] for v in value if v >= 0]
    return names[value] if value is not None and value >= 0 else None
