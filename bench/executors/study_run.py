"""`bench run` of a suite with a [study] table (bench/suite/study.py), in one command: the trial
cells first (validation only), then the choice per (model, dataset, method entry), written to
`<results>/study.json` (bench/record/study.py), then the seed cells of each chosen trial,
which score the test split, and with `deploy = "chosen"` the one deployment per dataset that
the report judges variants against (bench/executors/study_deploy.py). Rerunning resumes:
finished trials are skipped (bench/executors/plan.py), the choice is made again from the trial records, and the seed
cells, keyed by the chosen values, are skipped when the choice did not change and rerun (the
earlier results kept in superseded/) when it did."""
from __future__ import annotations

from rich.console import Console

from bench.executors.runner import RunSummary, execute, run_suite
from bench.executors.study_deploy import deploy_targets, without_deployment
from bench.executors.study_results import current_result
from bench.record.store import ResultStore, write_json_atomic
from bench.record.study import STUDY_FILE, StudyChoice, StudyFile, TrialScore
from bench.stats.study_choice import choose, scored_metrics
from bench.suite.cell import Cell
from bench.suite.identity import training_key
from bench.suite.parser import Suite
from bench.suite.preflight import select_cells
from bench.suite.study import DEPLOY_CHOSEN, StudyPlan, StudyUnit


def run_study(suite: Suite, trials: list[Cell], executor, only: list[str] | None = None,
              force: bool = False, console: Console | None = None,
              dry_run: bool = False) -> RunSummary:
    """Run `trials` (the selected trial cells), choose, then run the chosen seed cells whose
    id contains one of `only` (all without it)."""
    console = console or Console(stderr=True)
    first = run_suite(suite, trials, executor, force, console, dry_run)
    if first.interrupted:
        return first
    store = ResultStore(suite.output_dir)
    study = study_file(suite.name, suite.study, store)
    if not dry_run:
        write_json_atomic(store.root / STUDY_FILE, study.to_dict())
    tell_choices(study, console, store.root / STUDY_FILE, dry_run)
    seeds = select_cells(chosen_seed_cells(suite.study, study), only)
    chosen_only = suite.study.settings.deploy == DEPLOY_CHOSEN
    if chosen_only:
        deployed = {cell.id for cell in deploy_targets(suite.study, study, store)}
        seeds = without_deployment(seeds, deployed)
    second = run_suite(suite, seeds, executor, force, console, dry_run)
    if chosen_only and not dry_run and not second.interrupted:
        targets = [cell for cell in select_cells(deploy_targets(suite.study, study, store), only)
                   if cell.id not in deployed]
        third = execute(store, targets, executor, f"deploy the chosen runs of {suite.name}",
                        console, RunSummary(), deploy_from={c.id: training_key(c) for c in targets})
        second = RunSummary(second.records + third.records, second.skipped, third.interrupted,
                            second.wall_time_s + third.wall_time_s)
    return RunSummary(first.records + second.records, first.skipped + second.skipped,
                      second.interrupted, first.wall_time_s + second.wall_time_s)


def study_file(suite_name: str, plan: StudyPlan, store: ResultStore) -> StudyFile:
    """Every unit's choice, made from the trial records of the current configuration."""
    settings = plan.settings
    return StudyFile(suite=suite_name, selection_metric=settings.selection_metric,
                     trials=settings.trials, search=settings.search,
                     search_seed=settings.search_seed, trial_seed=settings.trial_seed,
                     seeds=list(settings.seeds),
                     choices=[choose(unit.key, trial_scores(unit, store, settings.selection_metric),
                                     settings.selection_metric) for unit in plan.units])


def trial_scores(unit: StudyUnit, store: ResultStore, metric: str) -> list[TrialScore]:
    return [TrialScore.of_record(cell.study.index, cell.id, cell.sweep,
                                 current_result(cell, store), scored_metrics(metric))
            for cell in unit.trials]


def chosen_seed_cells(plan: StudyPlan, study: StudyFile) -> list[Cell]:
    return [cell for unit in plan.units
            for choice in [study.choice_of(unit.key)] if choice and choice.chosen
            for cell in unit.seeds_of(choice.chosen)]


def tell_choices(study: StudyFile, console: Console, path, dry_run: bool) -> None:
    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    say(f"study: {'would write' if dry_run else 'wrote'} {path}")
    for choice in study.choices:
        say(f"  {choice.unit}: {describe_choice(choice)}")


def describe_choice(choice: StudyChoice) -> str:
    if choice.chosen is None:
        return choice.reason
    values = ", ".join(f"{k}={v}" for k, v in choice.chosen_values.items())
    return f"{values} ({choice.reason})"
