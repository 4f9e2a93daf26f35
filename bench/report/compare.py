"""`bench compare BASELINE NEW`: per-cell differences between two result folders, and a gate
for CI: exit 1 when any metric got worse by more than its threshold, or a cell or deployment
variant of the baseline is missing or failed in the new run.

Cells match by cell id, deployment variants by (variant, backend); a cell whose configuration
key differs between the folders gets a "configuration" row naming what changed. Scores (the registered
metrics that name a threshold, bench/metric_registry.py: accuracy, F1 macro) are compared in
absolute points, latency and size on disk relative to the baseline. Latency is only compared
between runs timed on the same hardware (bench.measure.hardware); otherwise the cell gets one
"hardware" row naming the difference and only its scores and sizes are compared. Where
both runs kept per-example predictions of the same test examples, a score drop beyond its
threshold is a regression only if the paired test also calls the new run "worse" at 95%
(bench/stats/bootstrap.py, docs/statistics.md): a drop inside the noise is shown, not failed.
Where both folders hold 3 or more seeds of a cell, the method-level test of its seed group
judges instead (bench/report/compare_groups.py): the noise between seeds counts too.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.errors import BenchInputError
from bench.measure.hardware import hardware_difference
from bench.metric_registry import METRICS
from bench.report.compare_groups import NoiseVerdict, group_verdicts
from bench.stats.pairing import paired_verdicts
from bench.record.predictions import deploy_key
from bench.record import CellRecord
from bench.report.compare_rules import Rule, gated, rule_of, rules_from
from bench.report.document import markdown_table
from bench.record.rows import FINE_TUNED, cell_row, variant_row
from bench.specs import CompareThresholds
from bench.suite.identity import config_changes
from bench.record.store import read_cell_records

CELL = "(cell)"  # the target name of a whole cell, present in one folder only
COLUMNS = ("target", "metric", "baseline", "new", "change", "verdict")
DIGITS = {"p50": 2, "disk": 2}  # decimals shown; scores get 4
HARDWARE = "hardware"  # the metric of a cell's row saying why its speed was not compared
SPEED_METRICS = ("p50",)  # metric kinds that depend on the hardware


@dataclass
class Target:
    """Something measured within a cell: the fine-tuned model or one deployment variant."""

    status: str
    values: dict[str, float | None]  # metric name -> value
    reason: str = ""


@dataclass
class ComparedMetric:
    cell: str
    target: str
    metric: str
    old: float | str | None
    new: float | str | None
    change: str = ""
    verdict: str = ""  # better, worse within the limit, the limit broken, why it is missing...
    regression: bool = False

    def summary(self) -> str:
        """One line for the log of a CI job: what regressed, by how much, against which limit."""
        how = f"{self.change}; {self.verdict}" if self.change else self.verdict
        return (f"{self.cell} {self.target} {self.metric}: {show(self.old, self.metric)} -> "
                f"{show(self.new, self.metric)} ({how})")


def load_side(folder: Path) -> dict[str, CellRecord]:
    """cell id -> record; a success wins over a failure of the same cell."""
    if not folder.is_dir():
        raise BenchInputError(f"results folder not found: {folder}")
    loaded = read_cell_records(folder, include_failed=True)
    if loaded.unreadable:
        raise BenchInputError(f"{loaded.unreadable[0]}")
    if not loaded.records:
        raise BenchInputError(f"{folder}: no result files (*.json) found")
    by_cell: dict[str, CellRecord] = {}
    for record in loaded.records:
        earlier = by_cell.get(record.cell_id)
        if earlier and earlier.ok and record.ok:
            raise BenchInputError(f"{folder}: cell {record.cell_id!r} has two results (two "
                                  "suites in one folder?); compare one suite's folder")
        if not earlier or record.ok:
            by_cell[record.cell_id] = record
    return by_cell


def targets_of(record: CellRecord) -> dict[str, Target]:
    """The fine-tuned model and every deployment variant of a record, with their metrics."""
    cell = cell_row(record)
    targets = {FINE_TUNED: Target(
        cell.status or "?",
        {**{m.label: cell.scores.get(m.name) for m in gated()}, "disk MB": cell.saved_mb},
        cell.error or "")}
    for variant in record.variants:
        row = variant_row(record, variant)
        values = {m.label: row.scores.get(m.name) for m in gated()}
        for batch, p50 in sorted(row.p50_ms.items()):
            values[f"p50 ms (b={batch})"] = p50
        values["disk MB"] = row.size_mb
        targets[f"{row.variant}/{row.backend}"] = Target(row.status or "?", values,
                                                        row.reason or "")
    return targets


def verdicts_by_target(old: CellRecord, new: CellRecord, folders: tuple[Path, Path] | None
                       ) -> dict[tuple[str, str], NoiseVerdict]:
    """(target, metric) -> paired verdict of new against old, where both kept predictions."""
    if folders is None:
        return {}
    by_key = paired_verdicts(old.to_dict(), new.to_dict(), *folders)
    targets = {"test": FINE_TUNED} | {deploy_key(v.variant, v.backend): f"{v.variant}/{v.backend}"
                                      for v in new.variants}
    return {(targets[key], METRICS[metric].label): NoiseVerdict.of_runs(verdict)
            for key, metrics in by_key.items() if key in targets
            for metric, verdict in metrics.items() if metric in METRICS}


def compare_cells(old: dict[str, CellRecord], new: dict[str, CellRecord],
                  rules: dict[str, Rule], folders: tuple[Path, Path] | None = None,
                  margin: float = 0.02) -> list[ComparedMetric]:
    rows: list[ComparedMetric] = []
    groups = group_verdicts(old, new, folders, margin) if folders else {}
    for cell in sorted(old.keys() | new.keys()):
        if cell not in new:
            rows.append(ComparedMetric(cell, CELL, "status", old[cell].status, "missing",
                                       verdict="missing in new", regression=True))
        elif cell not in old:
            rows.append(ComparedMetric(cell, CELL, "status", "missing", new[cell].status,
                                       verdict="only in new"))
        else:
            rows += configuration_rows(cell, old[cell], new[cell])
            before, after = targets_of(old[cell]), targets_of(new[cell])
            difference = hardware_difference(timing_environment(old[cell]),
                                             timing_environment(new[cell]))
            if difference:
                rows.append(ComparedMetric(cell, CELL, HARDWARE, "", "",
                                           verdict=f"speed not compared: {difference}"))
                before, after = without_speed(before), without_speed(after)
            noise = verdicts_by_target(old[cell], new[cell], folders) | {
                (FINE_TUNED, label): verdict for (cell_id, label), verdict in groups.items()
                if cell_id == cell}
            rows += compare_targets(cell, before, after, rules, noise)
    return rows


def configuration_rows(cell: str, old: CellRecord, new: CellRecord) -> list[ComparedMetric]:
    """One row where both records name their configuration key and the keys differ: the
    figures then compare two configurations, not two runs of one."""
    if None in (old.config_hash, new.config_hash) or old.config_hash == new.config_hash:
        return []
    changes = config_changes(old.config.to_dict(), new.config.to_dict()) or [
        "the device or precision resolved differently"]
    return [ComparedMetric(cell, CELL, "configuration", old.config_hash, new.config_hash,
                           verdict="configurations differ: " + "; ".join(changes))]


def timing_environment(record: CellRecord) -> dict:
    """The environment its deployment was timed in (another host's than its training's where
    `bench deploy` ran there) plus the threads it was timed with (the form
    bench/measure/hardware.py compares)."""
    threads = ((record.deployment_timing.threads if record.deployment_timing else None)
               or record.device.torch_threads)
    environment = record.deployment_environment or record.environment
    return {**(environment.to_dict() if environment else {}), "threads": threads}


def without_speed(targets: dict[str, Target]) -> dict[str, Target]:
    return {name: Target(t.status, {metric: value for metric, value in t.values.items()
                                    if metric.split()[0] not in SPEED_METRICS}, t.reason)
            for name, t in targets.items()}


def compare_targets(cell: str, old: dict[str, Target], new: dict[str, Target],
                    rules: dict[str, Rule],
                    verdicts: dict[tuple[str, str], NoiseVerdict] | None = None
                    ) -> list[ComparedMetric]:
    rows: list[ComparedMetric] = []
    for name in list(old) + [n for n in new if n not in old]:
        before, after = old.get(name), new.get(name)
        if after is None:
            rows.append(ComparedMetric(cell, name, "status", before.status, "missing",
                                       verdict="missing in new", regression=before.status == "ok"))
        elif before is None:
            rows.append(ComparedMetric(cell, name, "status", "missing", after.status,
                                       verdict="only in new"))
        elif after.status != "ok":
            rows.append(ComparedMetric(cell, name, "status", before.status, after.status,
                                       verdict=after.reason[:160],
                                       regression=before.status == "ok"))
        elif before.status != "ok":  # no baseline figures to compare with
            rows.append(ComparedMetric(cell, name, "status", before.status, "ok", verdict="better"))
        else:
            rows += [compare_metric(cell, name, metric, before.values.get(metric), value,
                                    rule_of(metric, rules),
                                    (verdicts or {}).get((name, metric)))
                     for metric, value in after.values.items()]
    return rows


def compare_metric(cell: str, target: str, metric: str, old: float | None, new: float | None,
                   rule: Rule, noise: NoiseVerdict | None = None) -> ComparedMetric:
    if old is None or new is None:
        lost = new is None and old is not None
        return ComparedMetric(cell, target, metric, old, new,
                              verdict="no longer measured" if lost else "", regression=lost)
    if rule.regressed(old, new):
        if noise is not None and noise.verdict != "worse":
            return ComparedMetric(cell, target, metric, old, new, change(old, new, rule.relative),
                                  f"beyond limit {rule.describe()}, but {noise.verdict} at 95% "
                                  f"({noise.how}): noise, not a regression")
        found = f"; worse at 95% ({noise.how})" if noise else ""
        return ComparedMetric(cell, target, metric, old, new, change(old, new, rule.relative),
                              f"limit {rule.describe()}{found}", regression=True)
    verdict = ""
    if new != old:
        verdict = "better" if (new > old) == rule.higher_is_better else "worse, within limit"
    return ComparedMetric(cell, target, metric, old, new, change(old, new, rule.relative), verdict)


def change(old: float, new: float, relative: bool) -> str:
    if relative:
        return f"{(new - old) / old:+.1%}" if old else ""
    return f"{new - old:+.4f}"


def show(value: float | str | None, metric: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{DIGITS.get(metric.split()[0], 4)}f}"
    return str(value)


def verdict(row: ComparedMetric) -> str:
    return f"REGRESSION: {row.verdict}" if row.regression else row.verdict


def render_rich(rows: list[ComparedMetric]) -> list[Table]:
    """One table per cell, titled by its id: ids are long, and a column of them would not fit
    a terminal beside the figures."""
    tables: dict[str, Table] = {}
    for row in rows:
        if row.cell not in tables:
            tables[row.cell] = new_table(row.cell)
        style = "red" if row.regression else ("green" if row.verdict == "better" else None)
        tables[row.cell].add_row(row.target, row.metric, show(row.old, row.metric),
                                 show(row.new, row.metric), row.change, verdict(row), style=style)
    return list(tables.values())


def new_table(title: str) -> Table:
    grid = Table(title=title, title_justify="left")
    for column in COLUMNS:
        grid.add_column(column, no_wrap=column in ("target", "metric"))
    return grid


def render_markdown(rows: list[ComparedMetric]) -> str:
    return markdown_table(["cell", *COLUMNS],
                          [[r.cell, r.target, r.metric, show(r.old, r.metric),
                            show(r.new, r.metric), r.change,
                            f"**{verdict(r)}**" if r.regression else verdict(r)] for r in rows])


def run_compare(baseline: Path, new: Path, limits: CompareThresholds, markdown: bool,
                console: Console) -> int:
    """Print the differences (stdout) and one line per regression (console); 1 on regression."""
    rows = compare_cells(load_side(baseline), load_side(new), rules_from(limits),
                         folders=(baseline, new), margin=limits.equivalence_margin)
    if markdown:
        sys.stdout.write(render_markdown(rows))
    else:
        Console(file=sys.stdout).print(*render_rich(rows))
    for row in rows:
        if row.metric == HARDWARE:  # plain text: a CPU name may hold brackets
            console.print(f"{row.cell}: {row.verdict}; accuracy and size compared",
                          markup=False, highlight=False, soft_wrap=True)
    regressions = [r for r in rows if r.regression]
    for row in regressions:
        console.print(f"[red]regression:[/] {row.summary()}", highlight=False, soft_wrap=True)
    if regressions:
        console.print(f"[red]{len(regressions)} regression(s)[/] against {baseline}")
        return 1
    console.print(f"[green]no regression[/] against {baseline}")
    return 0
