"""Runs a suite: pre-flight checks, then every unfinished cell through an executor, with
progress, storing each record as it arrives and a summary at the end."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

from bench.store import ResultStore
from bench.suite import Cell, Suite


@dataclass
class RunSummary:
    records: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False
    wall_time_s: float = 0.0

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "ok"]


def preflight(suite: Suite, cells: list[Cell]) -> None:
    """Catch bad input before any cell runs (BenchInputError names what is wrong): data files,
    columns, classes; model sources; methods that cannot run here."""
    from bench.data import prepare_dataset
    from bench.models import resolve_model_source
    from bench.registry import METHODS
    from bench.specs import DatasetSpec, ModelSpec
    from bench.train import check_report_to, resolve_device

    seen: set[str] = set()
    for cell in cells:
        for kind, spec in (("dataset", cell.dataset), ("model", cell.model)):
            key = f"{kind}:{spec}"
            if key in seen:
                continue
            seen.add(key)
            if kind == "dataset":
                prepare_dataset(DatasetSpec(**spec), Path(cell.base_dir))
            else:
                resolve_model_source(ModelSpec(**spec))
        METHODS.get(cell.method).check_available(resolve_device(cell.training["device"]))
        check_report_to(cell.training["report_to"])


def run_suite(suite: Suite, executor, force: bool = False, console: Console | None = None,
              only: list[str] | None = None) -> RunSummary:
    console = console or Console(stderr=True)
    store = ResultStore(suite.output_dir)
    store.clean_temp_files()
    summary = RunSummary()
    cells = [c for c in suite.cells if not only or any(pattern in c.id for pattern in only)]
    for cell in cells:
        broken = None if force else store.broken_result(cell.id)
        if broken:
            console.print(f"warning: {broken}", markup=False, highlight=False)
    todo = [c for c in cells if force or not store.is_done(c.id)]
    summary.skipped = [c.id for c in cells if c not in todo]
    if summary.skipped:
        console.print(f"[dim]{len(summary.skipped)} finished cell(s) skipped (use --force to rerun)")
    if not todo:
        return summary
    console.print(f"[dim]pre-flight checks of {len(todo)} cell(s)...")
    preflight(suite, todo)
    start = time.perf_counter()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"{suite.name}", total=len(todo))
        phase = progress.add_task("", total=None)

        def on_event(cell: Cell, event: dict) -> None:
            if event["event"] in ("start", "phase"):
                progress.update(phase, description=f"{cell.id}: {event.get('phase', 'starting')}")

        try:
            for record in executor.run(todo, store, on_event):
                store.save(record)
                summary.records.append(record)
                progress.advance(task)
                status = "[green]ok" if record["status"] == "ok" else "[red]failed"
                reason = "" if record["status"] == "ok" else f": {record['error']['message']}"
                progress.console.print(f"{status}[/] {record['cell_id']}{reason}")
        except KeyboardInterrupt:
            summary.interrupted = True
        progress.update(phase, visible=False)
    summary.wall_time_s = time.perf_counter() - start
    print_summary(summary, console)
    return summary


def print_summary(summary: RunSummary, console: Console) -> None:
    from bench.record import CellRecord
    from bench.rows import cell_row

    table = Table(title="Run summary", show_lines=False)
    for column in ("cell", "status", "test acc", "test F1 macro", "TF-IDF F1", "train s",
                   "reason"):
        table.add_column(column, overflow="fold")  # long cell ids wrap rather than vanish
    for record in summary.records:
        row = cell_row(CellRecord.from_dict(record))
        table.add_row(row.cell_id, row.status, fmt(row.accuracy), fmt(row.f1_macro),
                      fmt(row.baseline_f1_macro), fmt(row.train_runtime_s, 1),
                      (row.error or "")[:80])
    console.print(table)
    done = len(summary.records) - len(summary.failed)
    note = " (interrupted: finished cells were kept)" if summary.interrupted else ""
    console.print(f"{done} ok, {len(summary.failed)} failed, {len(summary.skipped)} skipped "
                  f"in {summary.wall_time_s:.0f} s{note}")


def fmt(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"
