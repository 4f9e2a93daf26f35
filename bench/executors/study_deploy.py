"""[study] deploy = "chosen": one deployment per (model, dataset), of the run the report's
deployment choice judges variants against, instead of one per seed of every method.

The deployment choice (bench/report/deploy_reference.py) compares each compressed variant with
the chosen method's own fp32 model of one stated seed: the reference method of the set of
plausibly best (the highest mean validation F1 macro among methods with 3+ seeds,
bench/stats/best_set.py), its seed with the median validation F1 macro (the lower middle one
with an even count). Deploying every seed of every method on four backends would cost more
than the training; deploying only that run costs one deployment per dataset. So the seed
cells train and score without their [deploy] stage, and once every seed cell of a (model,
dataset) has finished, that run alone is deployed from its saved training result.
"""
from __future__ import annotations

import dataclasses
import statistics

from bench.executors.study_results import current_result
from bench.record import CellRecord
from bench.record.store import ResultStore
from bench.record.study import StudyFile
from bench.suite.cell import Cell
from bench.suite.study import MIN_STUDY_SEEDS, StudyPlan


def without_deployment(cells: list[Cell], keep: set[str]) -> list[Cell]:
    """The seed cells as they run under deploy = "chosen": no [deploy] stage, except the
    cells in `keep` (already chosen for deployment, so a rerun keeps their deployment)."""
    return [cell if cell.id in keep else dataclasses.replace(cell, deploy=None)
            for cell in cells]


def validation_f1(record: CellRecord) -> float | None:
    scores = record.evaluation.validation if record.evaluation else None
    return scores.score("f1_macro") if scores else None


def deploy_targets(plan: StudyPlan, study: StudyFile, store: ResultStore) -> list[Cell]:
    """Per (model, dataset) whose chosen seed cells have all finished: the seed cell to
    deploy (with its [deploy] stage), as the module docstring says; none where no method
    there has MIN_STUDY_SEEDS successful seeds with validation scores, or its suite deploys
    nothing."""
    by_dataset: dict[tuple[str, str], list[list[tuple[Cell, CellRecord | None]]]] = {}
    for unit in plan.units:
        choice = study.choice_of(unit.key)
        cells = unit.seeds_of(choice.chosen) if choice and choice.chosen else []
        if not cells:
            continue
        first = cells[0]
        runs = [(cell, current_result(cell, store)) for cell in cells]
        by_dataset.setdefault((first.model.name, first.dataset.name), []).append(runs)
    targets = []
    for methods in by_dataset.values():
        if any(record is None for runs in methods for _, record in runs):
            continue  # a seed cell still to run: the reference may change
        scored = [[(cell, record) for cell, record in runs
                   if record.ok and validation_f1(record) is not None] for runs in methods]
        scored = [runs for runs in scored if len(runs) >= MIN_STUDY_SEEDS]
        if not scored:
            continue
        best = max(scored, key=lambda runs: statistics.fmean(validation_f1(r) for _, r in runs))
        ranked = sorted(best, key=lambda run: (validation_f1(run[1]), run[1].seed or 0))
        cell = ranked[(len(ranked) - 1) // 2][0]
        if cell.deploy is not None:
            targets.append(cell)
    return targets
