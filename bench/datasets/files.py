"""User data files: csv, jsonl (one JSON object per line) and parquet.

Columns are mapped by spec.text_column / text_pair_column / label_column; a label column of
lists makes the dataset multi-label; a "split" column gives the file's own splits.
"""
from __future__ import annotations

import json
from pathlib import Path

from bench.data import existing_file, input_error, raw_from_columns
from bench.errors import first_line
from bench.plugins import RawData
from bench.specs import DatasetSpec


def load_csv(spec: DatasetSpec, base_dir: Path) -> RawData:
    """Every cell read as text (so that "NA" stays a text and "007" a label); a label written
    as a JSON list ('["a", "b"]') is a list of labels."""
    import pandas as pd

    path = existing_file(spec, base_dir)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise input_error(spec, f"cannot read {path} as CSV: {first_line(error)}") from None
    columns = {str(name): frame[name].tolist() for name in frame.columns}
    if spec.label_column in columns:
        columns[spec.label_column] = [json_list_or_text(v) for v in columns[spec.label_column]]
    return raw_from_columns(spec, columns, path)


def json_list_or_text(value: str) -> str | list:
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        if isinstance(parsed, list):
            return parsed
    return value


def load_jsonl(spec: DatasetSpec, base_dir: Path) -> RawData:
    path = existing_file(spec, base_dir)
    records = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                records.append(json_object(spec, path, number, line))
    names = list(dict.fromkeys(key for record in records for key in record))
    columns = {name: [record.get(name) for record in records] for name in names}
    return raw_from_columns(spec, columns, path)


def json_object(spec: DatasetSpec, path: Path, number: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise input_error(spec, f"{path}, line {number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise input_error(spec, f"{path}, line {number}: expected a JSON object, "
                                f"got {type(record).__name__}")
    return record


def load_parquet(spec: DatasetSpec, base_dir: Path) -> RawData:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = existing_file(spec, base_dir)
    try:
        columns = pq.read_table(path).to_pydict()
    except pa.ArrowException as error:
        raise input_error(spec, f"cannot read {path} as parquet: {first_line(error)}") from None
    return raw_from_columns(spec, columns, path)
