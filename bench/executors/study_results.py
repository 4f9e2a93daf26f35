"""The result a study reads for one of its cells: the record of the cell's current
configuration, whichever folder of the results it lies in."""
from __future__ import annotations

from bench.record import CellRecord
from bench.record.store import ResultStore, parse_result
from bench.suite.cell import Cell
from bench.suite.identity import training_key


def current_result(cell: Cell, store: ResultStore) -> CellRecord | None:
    """The cell's result of its current configuration, or None. A failure is retried by every
    run, so the one in failed/ is this run's (a crashed process's names no key)."""
    key = training_key(cell)
    for path, keys in ((store.ok_path(cell.id), (key,)), (store.failed_path(cell.id), (key, None))):
        record, problem = parse_result(path) if path.is_file() else (None, "absent")
        if problem is None and record.get("config_hash") in keys:
            return CellRecord.from_dict(record)
    return None
