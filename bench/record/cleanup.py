"""`bench clean DIR`: what a results folder keeps that no current result uses: superseded
results (bench/record/store.py) and the stage files of configurations a cell no longer has.
Stage files of a cell without any result are kept: a run stopped during its deployment resumes
from them."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.record.store import ARTEFACTS, SUPERSEDED, read_cell_records


@dataclass(frozen=True)
class Leftover:
    path: Path
    bytes: int
    why: str


def leftovers(root: Path) -> list[Leftover]:
    root = Path(root)
    found = [Leftover(path, size_of(path), "superseded result")
             for path in sorted((root / SUPERSEDED).glob("*")) if path.is_file()]
    keys: dict[str, set[str | None]] = {}  # cell id -> the keys its results use
    for record in read_cell_records(root, include_failed=True).records:
        keys.setdefault(record.cell_id, set()).add(record.config_hash)
    for cell_dir in sorted((root / ARTEFACTS).glob("*")):
        if None in keys.get(cell_dir.name, {None}):  # no result, or one that names no key:
            continue                                 # its stage files may be resumed
        for entry in sorted(cell_dir.iterdir()):
            if entry.name not in keys[cell_dir.name]:
                found.append(Leftover(entry, size_of(entry),
                                      "stage files of a configuration no result uses"))
    return found


def remove(found: list[Leftover]) -> None:
    for leftover in found:
        if leftover.path.is_dir():
            shutil.rmtree(leftover.path)
        else:
            leftover.path.unlink(missing_ok=True)


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
