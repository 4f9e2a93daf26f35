"""Rows as a source read them -> clean rows: normalised text, labels as class names, rows
without text or label (or below min_confidence) dropped, the classes fixed, duplicates merged."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import replace
from typing import Any

from bench.data.types import CleanRow, input_error
from bench.plugins import RawData
from bench.specs import DatasetSpec
from bench.task import TaskInfo

# When copies of a text sit in different predefined splits, the copy kept is the one in the
# split that is scored: the official test set stays whole, training loses the copy.
KEEP_ORDER = {"test": 0, "validation": 1, "train": 2, None: 2}


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


def clean_rows(spec: DatasetSpec, raw: RawData) -> tuple[list[CleanRow], dict[str, int]]:
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
            rows.append(CleanRow(text, normalise_text(pair) if raw.text_pairs else None, label,
                                 split))
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


def task_info(spec: DatasetSpec, rows: list[CleanRow], source_names: list[str] | None
              ) -> TaskInfo:
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


def deduplicate(rows: list[CleanRow]) -> tuple[list[CleanRow], int, int]:
    """One row per normalised (text, pair), so that no text can land in two splits.

    Copies that agree collapse into one. Copies that disagree take the majority label; when
    there is no majority (a tie), the text is ambiguous and all its copies are dropped rather
    than guessed. Returns the rows kept (in input order), the number of surplus copies removed
    and the number of rows dropped for a tie.
    """
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row.text, row.pair), []).append(i)
    kept: dict[int, CleanRow] = {}
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
