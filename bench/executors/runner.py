"""Runs the checked cells of a suite: every one without a result of its current configuration
(bench/executors/plan.py) through an executor, with live progress, storing each record as it
arrives and a summary at the end."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.executors.cost_preview import preview_line
from bench.executors.processes import remove_stale_scratch
from bench.executors.live import LiveProgress
from bench.executors.log_progress import LogProgress
from bench.executors.plan import Action, PlannedCell, plan_cells
from bench.record.store import SUPERSEDED, ResultStore
from bench.stages.stage_files import StageFiles
from bench.suite.cell import Cell
from bench.suite.identity import training_key
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
              console: Console | None = None, dry_run: bool = False) -> RunSummary:
    """Run the `cells` of `suite` (checked beforehand: bench.suite.preflight.checked_suite)
    that have no result of their current configuration in suite.output_dir, or all of them
    with `force`. A result of another configuration is moved to superseded/ first: it is
    never overwritten, nor reported with the new ones. `dry_run` says what would run, and
    why, and runs nothing."""
    console = console or Console(stderr=True)
    store = ResultStore(suite.output_dir)
    prepare_store(store)
    for cell in cells:
        broken = None if force else store.broken_result(cell.id)
        if broken:
            console.print(f"warning: {broken}", markup=False, highlight=False)
    plans = plan_cells(cells, store, force)
    tell_plan(plans, store, console)
    if any(plan.runs for plan in plans):
        console.print(preview_line([p.cell for p in plans if p.runs], suite.output_dir),
                      markup=False, highlight=False)
    summary = RunSummary(skipped=[p.cell.id for p in plans if not p.runs])
    if dry_run:
        for plan in plans:
            if plan.runs:
                console.print(f"would {plan.action.value}: {plan.cell.id}", markup=False,
                              highlight=False)
        return summary
    for plan in plans:
        if plan.action in (Action.RERUN, Action.REDEPLOY):
            store.supersede(plan.cell.id, plan.record)
        elif plan.action is Action.FORCE:  # trained again too, not read back
            StageFiles(store.cell_artefacts(plan.cell.id) /
                       training_key(plan.cell)).result.unlink(missing_ok=True)
    return execute(store, [p.cell for p in plans if p.runs], executor, suite.name, console,
                   summary)


def prepare_store(store: ResultStore) -> None:
    store.clean_temp_files()
    remove_stale_scratch()


def execute(store: ResultStore, cells: list[Cell], executor, title: str, console: Console,
            summary: RunSummary, deploy_from: dict[str, str] | None = None) -> RunSummary:
    """Run `cells` through `executor` with live progress, storing each record as it arrives;
    `deploy_from` (cell id -> training key) runs only their deployment stage."""
    if not cells:
        return summary
    start = time.perf_counter()
    display = LiveProgress if console.is_terminal else LogProgress  # bars redraw terminals only
    with display(console, title, len(cells)) as live:
        try:
            for record in executor.run(cells, store, lambda cell, event: live.on_event(cell.id,
                                                                                       event),
                                       deploy_from or {}):
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


def tell_plan(plans: list[PlannedCell], store: ResultStore, console: Console) -> None:
    """How many cells are finished, and which ones run again and why."""
    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    skipped = sum(not p.runs for p in plans)
    if skipped:
        console.print(f"{skipped} finished cell(s) skipped (use --force to rerun; results in "
                      f"{store.root})", style="dim", markup=False)
    for action, what in ((Action.RERUN, "changed configuration since their results were "
                                        "written: rerun"),
                         (Action.REDEPLOY, "changed deployment (or host): training reused, "
                                           "deployment rerun")):
        changed = [p for p in plans if p.action is action]
        if changed:
            say(f"{len(changed)} cell(s) {what}; earlier results kept in "
                f"{store.root / SUPERSEDED}:")
            for plan in changed:
                say(f"  {plan.cell.id}: {'; '.join(plan.reasons)}")


def print_summary(summary: RunSummary, console: Console) -> None:
    from bench.record import CellRecord
    from bench.record.rows import cell_row

    table = Table(title="Run summary", show_lines=False)
    for column in ("cell", "status", "test acc", "test F1 macro", "TF-IDF F1", "train s",
                   "reason"):
        # a log has no width to fit: ids stay whole there (a search finds them); a terminal
        # folds them rather than losing them
        table.add_column(column, overflow="fold",
                         no_wrap=column == "cell" and not console.is_terminal)
    for record in summary.records:
        row = cell_row(CellRecord.from_dict(record))
        table.add_row(escape(row.cell_id), row.status, fmt(row.accuracy), fmt(row.f1_macro),
                      fmt(row.baseline_f1_macro), fmt(row.train_runtime_s, 1),
                      escape((row.error or "")[:80]))
    if console.is_terminal:
        console.print(table)
    else:
        Console(file=console.file, width=log_width(table, console), color_system=None,
                force_terminal=False).print(table)  # rich caps print(width=) at the console's
    done = len(summary.records) - len(summary.failed)
    note = " (interrupted: finished cells were kept)" if summary.interrupted else ""
    console.print(f"{done} ok, {len(summary.failed)} failed, {len(summary.skipped)} skipped "
                  f"in {summary.wall_time_s:.0f} s{note}")


def log_width(table: Table, console: Console) -> int:
    """The table's natural width where it exceeds the console's (80 columns when stderr is a
    file): a log line may be long, a cell id cut in three may not."""
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    return max(console.width, natural)


def fmt(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"
