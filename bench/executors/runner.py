"""Runs the checked cells of a suite: every unfinished one through an executor, with live
progress, storing each record as it arrives and a summary at the end."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.executors.processes import remove_stale_scratch
from bench.executors.live import LiveProgress
from bench.record.store import ResultStore
from bench.suite.cell import Cell
from bench.suite.parser import Suite


@dataclass
class RunSummary:
    records: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False
    wall_time_s: float = 0.0

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "ok"]


def run_suite(suite: Suite, cells: list[Cell], executor, force: bool = False,
              console: Console | None = None) -> RunSummary:
    """Run the `cells` of `suite` (checked beforehand: bench.suite.preflight.checked_suite) that
    are not finished in suite.output_dir, or all of them with `force`."""
    console = console or Console(stderr=True)
    store = ResultStore(suite.output_dir)
    store.clean_temp_files()
    remove_stale_scratch()
    summary = RunSummary()
    for cell in cells:
        broken = None if force else store.broken_result(cell.id)
        if broken:
            console.print(f"warning: {broken}", markup=False, highlight=False)
    todo = [c for c in cells if force or not store.is_done(c.id)]
    summary.skipped = [c.id for c in cells if c not in todo]
    if summary.skipped:
        console.print(f"{len(summary.skipped)} finished cell(s) skipped (use --force to rerun; "
                      f"results in {suite.output_dir})", style="dim", markup=False)
    if not todo:
        return summary
    start = time.perf_counter()
    with LiveProgress(console, suite.name, len(todo)) as live:
        try:
            for record in executor.run(todo, store, lambda cell, event: live.on_event(cell.id,
                                                                                      event)):
                store.save(record)
                summary.records.append(record)
                ok = record["status"] == "ok"
                reason = "" if ok else f": {record['error']['message']}"
                live.cell_finished(ok, record["cell_id"] + reason)
        except KeyboardInterrupt:
            summary.interrupted = True
    summary.wall_time_s = time.perf_counter() - start
    print_summary(summary, console)
    return summary


def print_summary(summary: RunSummary, console: Console) -> None:
    from bench.record import CellRecord
    from bench.record.rows import cell_row

    table = Table(title="Run summary", show_lines=False)
    for column in ("cell", "status", "test acc", "test F1 macro", "TF-IDF F1", "train s",
                   "reason"):
        table.add_column(column, overflow="fold")  # long cell ids wrap rather than vanish
    for record in summary.records:
        row = cell_row(CellRecord.from_dict(record))
        table.add_row(escape(row.cell_id), row.status, fmt(row.accuracy), fmt(row.f1_macro),
                      fmt(row.baseline_f1_macro), fmt(row.train_runtime_s, 1),
                      escape((row.error or "")[:80]))
    console.print(table)
    done = len(summary.records) - len(summary.failed)
    note = " (interrupted: finished cells were kept)" if summary.interrupted else ""
    console.print(f"{done} ok, {len(summary.failed)} failed, {len(summary.skipped)} skipped "
                  f"in {summary.wall_time_s:.0f} s{note}")


def fmt(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"
