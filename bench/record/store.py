"""Result files: <output>/<cell id>.json for finished cells (output: runs/<suite> unless the
suite or `bench run --output` says otherwise), failed/<cell id>.json for failed ones (kept
apart, retried on the next run), superseded/<cell id>--<key>.json for results of a
configuration the suite no longer has (kept apart, never reported with the current ones;
`bench clean` removes them). Written whole or not at all (bench/atomic.py), and only once the
cell is whole; the stages' own files are under artefacts/ (bench/stages/stage_files.py).
A finished cell's per-example predictions (<cell id>.predictions.npz, bench/record/predictions.py)
arrive staged under .staging/ and are moved beside the record just before it is written."""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from bench.atomic import atomic_file
from bench.record.predictions import sidecar_path
from bench.record import READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, CellRecord

ARTEFACTS, SUPERSEDED, FAILED = "artefacts", "superseded", "failed"  # folders in a results folder

__all__ = ["SCHEMA_VERSION", "ResultStore", "load_records", "read_cell_records",
           "write_json_atomic"]


def write_json_atomic(path: Path, data: Any) -> None:
    """Strict JSON, written whole or not at all (bench/atomic.py)."""
    with atomic_file(path, "w") as handle:
        json.dump(sanitize(data), handle, indent=2, allow_nan=False)
        handle.write("\n")


def sanitize(value: Any) -> Any:
    """NaN/inf become null so the files stay strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize(v) for v in value]
    return value


class ResultStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def ok_path(self, cell_id: str) -> Path:
        return self.root / f"{cell_id}.json"

    def failed_path(self, cell_id: str) -> Path:
        return self.root / FAILED / f"{cell_id}.json"

    def cell_artefacts(self, cell_id: str) -> Path:
        """The cell's stage files, one folder per training key."""
        return self.root / ARTEFACTS / cell_id

    def superseded_path(self, record: dict) -> Path:
        """Named by the record's keys, so that no earlier result is ever overwritten."""
        keys = [record.get("config_hash") or "unknown-configuration", record.get("deploy_hash")]
        return self.root / SUPERSEDED / ("--".join([record["cell_id"], *filter(None, keys)])
                                         + ".json")

    def predictions_path(self, cell_id: str) -> Path:
        return sidecar_path(self.ok_path(cell_id))

    def staged_predictions_path(self, cell_id: str) -> Path:
        """Where an executor leaves a cell's predictions until its record is saved."""
        return self.root / ".staging" / self.predictions_path(cell_id).name

    def log_path(self, cell_id: str) -> Path:
        return self.root / "logs" / f"{cell_id}.log"

    def is_done(self, cell_id: str) -> bool:
        """Finished: a whole, readable record of a success. A truncated or corrupt file (a
        disk filled up, a copy cut short) is no result: the cell runs again."""
        path = self.ok_path(cell_id)
        return path.is_file() and unreadable_reason(path) is None

    def current_record(self, cell_id: str) -> dict | None:
        """The cell's finished record as stored, or None where there is no whole one."""
        path = self.ok_path(cell_id)
        record, problem = parse_result(path) if path.is_file() else (None, "absent")
        return None if problem else record

    def supersede(self, cell_id: str, record: dict) -> Path:
        """Move the cell's finished record (and its predictions) out of the results: a record
        of another configuration than the one about to run, kept apart, never overwritten."""
        target = self.superseded_path(record)
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.predictions_path(cell_id).is_file():
            os.replace(self.predictions_path(cell_id), sidecar_path(target))
        os.replace(self.ok_path(cell_id), target)
        return target

    def broken_result(self, cell_id: str) -> str | None:
        """One line saying why the cell's result file exists but cannot count as done."""
        path = self.ok_path(cell_id)
        reason = unreadable_reason(path) if path.is_file() else None
        return f"{path}: {reason}; the cell runs again" if reason else None

    def save(self, record: dict) -> Path:
        """Store a whole record; a success replaces an earlier failure of the same cell, and
        moves an earlier success of other stage keys to superseded/ (never overwritten)."""
        cell_id = record["cell_id"]
        staged = self.staged_predictions_path(cell_id)
        if record["status"] == "ok":
            current = self.current_record(cell_id)
            if current is not None and stage_keys_of(current) != stage_keys_of(record):
                self.supersede(cell_id, current)
            if staged.is_file():
                os.replace(staged, self.predictions_path(cell_id))
            write_json_atomic(self.ok_path(cell_id), record)
            self.failed_path(cell_id).unlink(missing_ok=True)
            return self.ok_path(cell_id)
        staged.unlink(missing_ok=True)
        write_json_atomic(self.failed_path(cell_id), record)
        return self.failed_path(cell_id)

    def clean_temp_files(self) -> None:
        """Remove temp files left by a process killed mid-write (they were never results)."""
        for tmp in self.root.glob("**/.*.json.*.tmp"):
            tmp.unlink(missing_ok=True)
        for leftover in self.root.glob(".staging/*"):
            leftover.unlink(missing_ok=True)


def stage_keys_of(record: dict) -> tuple[str | None, str | None]:
    return record.get("config_hash"), record.get("deploy_hash")


NOT_A_RECORD = "not a result record"  # another JSON file (a benchmark's figures): no warning


def record_problem(record: Any) -> str | None:
    """Why a parsed file is not a whole result record this version reads (None: it is one)."""
    if not isinstance(record, dict) or "cell_id" not in record:
        return NOT_A_RECORD
    version = record.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        readable = ", ".join(map(str, READABLE_SCHEMA_VERSIONS))
        return (f"result record of schema version {version!r}, which this peft-bench does not "
                f"read (it reads {readable}): rerun the cell, or report it with the peft-bench "
                "version that wrote it")
    if record.get("status") not in ("ok", "failed"):
        return f"result record with status {record.get('status')!r} (not a whole run)"
    return None


def parse_result(path: Path) -> tuple[Any, str | None]:
    """The file's JSON and why it is not a readable record (None when it is one)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"unreadable result file ({type(error).__name__}: {error})"
    return record, record_problem(record)


def unreadable_reason(path: Path) -> str | None:
    """Why `path` is not a whole result record of this schema (None when it is one)."""
    return parse_result(path)[1]


@dataclass
class LoadedRecords:
    """The records read from a folder, and one line per result file that could not be read."""

    records: list[CellRecord] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    folders: dict[str, Path] = field(default_factory=dict)  # cell id -> folder of its OK file
    # one line per cell id whose finished results (in several sub-folders) come from different
    # configurations: a report of them would mix figures that no one suite produced
    conflicts: list[str] = field(default_factory=list)


def read_cell_records(root: Path, include_failed: bool = False) -> LoadedRecords:
    """Typed records under `root`, sorted by cell id; result files that cannot be read (corrupt,
    another schema version, a run cut short) are named in `unreadable`, not skipped in silence;
    other JSON files (a benchmark's figures) are no results and are passed over."""
    loaded = LoadedRecords()
    seen: dict[str, tuple[str | None, str | None]] = {}
    for path, record, problem in iter_files(Path(root), include_failed):
        if problem == NOT_A_RECORD:
            continue
        if problem:
            loaded.unreadable.append(f"{path}: {problem}")
            continue
        loaded.records.append(CellRecord.from_dict(record))
        if record["status"] == "ok":
            cell_id = record["cell_id"]
            if cell_id in loaded.folders and stage_keys_of(record) != seen[cell_id]:
                loaded.conflicts.append(
                    f"{cell_id}: {loaded.folders[cell_id]} and {path.parent} hold results of "
                    f"different configurations ({describe_keys(seen[cell_id])} vs "
                    f"{describe_keys(stage_keys_of(record))})")
            loaded.folders[cell_id] = path.parent
            seen[cell_id] = stage_keys_of(record)
    loaded.records.sort(key=lambda r: r.cell_id)
    return loaded


def describe_keys(keys: tuple[str | None, str | None]) -> str:
    training, deployment = keys
    return (f"configuration {training or 'unknown'}"
            + (f", deployment {deployment}" if deployment else ""))


def load_records(root: Path, include_failed: bool = False) -> list[dict]:
    """Every readable result record under `root` (recursively) as stored, sorted by cell id;
    a result file that cannot be read gets a warning on stderr."""
    records = []
    for path, record, problem in iter_files(Path(root), include_failed):
        if problem:  # said, never skipped silently: a table would otherwise lose a cell
            if problem != NOT_A_RECORD:
                print(f"warning: {path}: {problem}; skipped", file=sys.stderr)
            continue
        records.append(record)
    return sorted(records, key=lambda r: r.get("cell_id", ""))


def iter_files(root: Path, include_failed: bool) -> Iterator[tuple[Path, Any, str | None]]:
    """(path, parsed JSON, problem) of every current result file; sidecars, stage files and
    superseded results are not."""
    for path in sorted(root.rglob("*.json")):
        parts = path.relative_to(root).parts
        if {ARTEFACTS, SUPERSEDED} & set(parts) or any(part.startswith(".") for part in parts):
            continue
        if path.parent.name == FAILED and not include_failed:
            continue
        yield path, *parse_result(path)
