"""`training_recipe.py speed --phases RESULTS`: where a cell's time goes (the records' own
`phases_s`), and what a suite would take with each measured recipe.

Overhead is what a recipe cannot change (process start, data, the TF-IDF floor, model load,
save); training, evaluation and deployment are the work. The projection sums, over the cells
of a suite (suites/classification.toml by default), each cell's recorded phases (its own
record where the folder holds one, else the mean cell of the folder), with the train phase
rescaled by the measured speed of each recipe against the recipe the record trained with.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from _recipe_levers import Recipe
from _recipe_speed import RecipeSpeed
from bench.errors import BenchInputError
from bench.record import CellRecord
from bench.record.store import read_cell_records

OVERHEAD = ("start", "data", "baseline", "load model", "save")
WORK = ("train", "evaluate before", "evaluate", "deploy")


def split_phases(phases: dict[str, float]) -> dict[str, float]:
    """Seconds of overhead, of each kind of work, and of phases of neither kind (`other`)."""
    known = set(OVERHEAD) | set(WORK)
    return {"overhead": sum(phases.get(p, 0.0) for p in OVERHEAD),
            **{p: phases.get(p, 0.0) for p in WORK},
            "other": sum(s for p, s in phases.items() if p not in known)}


def phase_means(records: list[CellRecord]) -> dict:
    """Mean seconds per phase over the records that ran it, and per cell (0 where not run)."""
    names = sorted({p for r in records for p in r.phases_s})
    per_phase = {p: {"mean_s": statistics.mean(r.phases_s[p] for r in records
                                                if p in r.phases_s),
                     "records": sum(p in r.phases_s for r in records)} for p in names}
    splits = [split_phases(r.phases_s) for r in records]
    per_cell = {k: statistics.mean(s[k] for s in splits) for k in splits[0]}
    return {"records": len(records), "per_phase": per_phase, "per_cell_mean_s": per_cell,
            "overhead_phases": list(OVERHEAD), "work_phases": list(WORK)}


def record_recipe(record: CellRecord, measured: list[RecipeSpeed]) -> str | None:
    """The measured recipe the record trained with: its sampling and precision, no other lever."""
    training = record.training
    if training is None:
        return None
    trained = Recipe("", group_by_length=training.sampling == "group_by_length",
                     bf16=training.precision == "bf16")
    return next((row.recipe.name for row in measured
                 if row.recipe.levers() == trained.levers()), None)


def median_rates(results: list[RecipeSpeed]) -> dict[tuple[str, str], float]:
    """(recipe, method) -> the median samples/s over the rounds."""
    return {(row.recipe.name, row.method): row.samples_per_s["median"] for row in results}


def project(suite: Path, records: list[CellRecord], results: list[RecipeSpeed]) -> dict:
    """Per recipe: the suite's projected seconds, the sum of its cells' phases."""
    from bench.suite.parser import load_suite

    by_id = {r.cell_id: r for r in records}
    mean_cell = phase_means(records)["per_cell_mean_s"]
    rates = median_rates(results)
    methods = sorted({m for _, m in rates})
    recipes = list(dict.fromkeys(r for r, _ in rates))
    loaded = load_suite(suite)
    # a study's seed cells too: their ids are known before the choice (bench validate)
    cells = loaded.cells + (loaded.study.seed_cells_to_come() if loaded.study else [])
    totals, notes = {name: 0.0 for name in recipes}, []
    folder_recipe = next(filter(None, (record_recipe(r, results) for r in records)), None)
    for cell in cells:
        record = by_id.get(cell.id)
        split = split_phases(record.phases_s) if record else dict(mean_cell)
        trained_with = record_recipe(record, results) if record else folder_recipe
        if trained_with is None:
            return {"suite": str(suite), "projected_s": None,
                    "why_not": f"{cell.id}: its record's recipe was not measured"}
        rate_of = rate_lookup(rates, methods, cell.method_entry)
        for name in recipes:
            train = split["train"] * rate_of(trained_with) / rate_of(name)
            totals[name] += sum(split.values()) - split["train"] + train
        if record is None:
            notes.append(f"{cell.id}: no record in the folder; the folder's mean cell")
        if cell.method_entry not in methods:
            notes.append(f"{cell.id}: {cell.method_entry} not measured; the median of "
                         f"{', '.join(methods)}")
    return {"suite": str(suite), "cells": len(cells), "projected_s": totals, "notes": notes}


def rate_lookup(rates: dict, methods: list[str], method: str):
    """recipe -> samples/s of `method`, or the median over measured methods for another."""
    def rate(recipe: str) -> float:
        if method in methods:
            return rates[(recipe, method)]
        return statistics.median(rates[(recipe, m)] for m in methods)
    return rate


def phase_records(results_dir: Path) -> list[CellRecord]:
    """The finished records with phase times; read before anything is measured."""
    records = [r for r in read_cell_records(results_dir).records if r.ok and r.phases_s]
    if not records:
        raise BenchInputError(f"--phases {results_dir}: no finished record with phase times")
    return records


def phases_section(results_dir: Path, records: list[CellRecord], suite: Path,
                   measured: list[RecipeSpeed]) -> dict:
    return {"results": str(results_dir), **phase_means(records),
            "projection": project(suite, records, measured)}


def describe(section: dict) -> list[str]:
    cell = section["per_cell_mean_s"]
    work = ", ".join(f"{p} {cell[p]:.1f} s" for p in WORK)
    lines = [f"{section['results']}: mean cell of {section['records']} record(s): overhead "
             f"{cell['overhead']:.1f} s ({'/'.join(OVERHEAD)}), {work}, other {cell['other']:.1f} s"]
    projection = section["projection"]
    if projection["projected_s"] is None:
        return lines + [f"no projection: {projection['why_not']}"]
    for name, seconds in projection["projected_s"].items():
        lines.append(f"{projection['suite']} ({projection['cells']} cells) with {name}: "
                     f"{seconds:.0f} s ({seconds / 60:.1f} min), sum of the cells' phases")
    return lines + [f"  {note}" for note in projection["notes"]]
