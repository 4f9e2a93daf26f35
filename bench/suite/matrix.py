"""A suite's [[matrix]] tables and method sweeps -> its cells (bench/suite/cell.py Cell).

Merge order of training arguments: [defaults.training] < dataset `training` < method
`training` < sweep values. A method entry's `sweep` table (bench/suite/sweeps.py) gives one cell per
combination of a grid or per trial of a random search (keys are method parameters or training
arguments).

`seeds = [1, 2, 3]` repeats cells with those training seeds, one cell (and result file) per
seed, id suffix `--seed<N>`; the most specific declaration wins: a method entry's, else its
[[matrix]]'s, else [suite]'s. The data split keeps the dataset's own `seed`, so every seed of a
cell is scored on the same test examples (pairable, bench/stats/bootstrap.py).

With a [study] table (bench/suite/study.py) each (model, dataset, method entry) is a unit
instead: trial cells `<model>--<entry>--<dataset>--trial<N>` and, per trial, the seed cells
`...--seed<N>` that repeat it once it is chosen.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar

from bench.suite.cell import Cell, StudyRole
from bench.errors import BenchInputError, SuiteProblems, problems_of
from bench.registry import METHODS, unknown_name_message
from bench.suite.study import Study, StudyUnit
from bench.suite.sweeps import parse_sweep
from bench.specs import DatasetSpec, ModelSpec, TrainingConfig
from bench.table_checks import check_keys, check_type, describe_value, from_mapping

MATRIX_KEYS = ("models", "datasets", "methods", "exclude", "deploy", "seeds")
MATRIX_AXES = ("model", "dataset", "method")
ENTRY_KEYS = ("method", "training", "sweep", "seeds", "study")  # method entries, besides its Params

T = TypeVar("T")
Combo = tuple[tuple[str, str, str], bool, list[int] | None]


class Checker(Protocol):
    """Where problems are collected (bench/suite/parser.py SuiteParser)."""

    problems: list[str]
    broken: set[str]  # "models.x", "methods.y": declared, but with problems (reported there)

    def where(self, table: str) -> str: ...

    def attempt(self, build: Callable[..., T], *args: Any, **kwargs: Any) -> T | None: ...


@dataclass
class Matrix:
    """The checked parts of a suite, ready to be combined into cells: declared entries by
    name (a dataset with its own training keys, a method entry as written), the merged
    defaults and the [deploy] / [compressions] settings."""

    checker: Checker
    suite: str
    base_dir: Path
    models: dict[str, ModelSpec]
    datasets: dict[str, tuple[DatasetSpec, dict]]
    methods: dict[str, dict]
    default_training: dict
    deploy: Any  # DeploySpec | None
    compressions: dict[str, Any]
    study: Study | None = None

    def cells(self, matrices: Any, suite_seeds: list[int] | None) -> list[Cell]:
        """Every cell of `matrices` (the raw [[matrix]] tables), each id once."""
        cells = []
        for (model, dataset, entry), deploys, matrix_seeds in self.combos(matrices):
            seeds = (seeds_of(self.methods[entry], self.checker.where(f"methods.{entry}"))
                     or matrix_seeds or suite_seeds)
            cells += self.cells_for(model, dataset, entry, deploys, seeds)
        return list({cell.id: cell for cell in cells}.values())

    def study_units(self, matrices: Any) -> list[StudyUnit]:
        """Every (model, dataset, method entry) of `matrices` as a [study] unit, each once."""
        units: dict[str, StudyUnit] = {}
        for (model, dataset, entry), deploys, _ in self.combos(matrices):
            unit = self.study_unit(model, dataset, entry, deploys)
            if unit is not None:
                units.setdefault(unit.key, unit)
        return list(units.values())

    def combos(self, matrices: Any) -> list[Combo]:
        """(model, dataset, method) names of every cell, whether its matrix deploys it
        (`deploy = false` in a [[matrix]] skips the [deploy] stage for its cells) and the
        matrix's `seeds` (None: not declared there)."""
        checker = self.checker
        if isinstance(matrices, dict):
            matrices = [matrices]
        if not isinstance(matrices, list):
            checker.problems.append(f"{checker.where('matrix')}: expected a table or [[matrix]] "
                                    f"tables, got {describe_value(matrices)}")
            return []
        combos: list[Combo] = []
        for index, matrix in enumerate(matrices):
            where = checker.where(f"matrix #{index + 1}" if len(matrices) > 1 else "matrix")
            if checker.attempt(check_keys, matrix, MATRIX_KEYS, where) is None:
                continue
            axes = [checker.attempt(self.axis, matrix, key, declared, where) for key, declared in
                    (("models", self.models), ("datasets", self.datasets),
                     ("methods", self.methods))]
            excludes = checker.attempt(exclusions, matrix.get("exclude", []), where)
            deploys = checker.attempt(check_type, matrix.get("deploy", True), bool,
                                      f"{where}.deploy")
            seeds = checker.attempt(seeds_of, matrix, where)
            if (any(axis is None for axis in axes) or excludes is None or deploys is None
                    or (seeds is None and "seeds" in matrix)):
                continue
            for combo in itertools.product(*axes):
                if not any(matches(rule, combo) for rule in excludes):
                    combos.append((combo, deploys, seeds))
        return combos

    def axis(self, matrix: dict, key: str, declared: dict, where: str) -> list[str]:
        """The names of one axis that are declared and valid (broken ones are reported where
        they are declared)."""
        names = matrix.get(key, list(declared))
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BenchInputError(f"{where}.{key}: expected a list of names, got "
                                  f"{describe_value(names)}")
        if not declared:  # reported once: no valid [key.<name>] entries at all
            return []
        unknown = [n for n in names if n not in declared
                   and f"{key}.{n}" not in self.checker.broken]
        if unknown:
            raise SuiteProblems([f"{where}.{key}: " + unknown_name_message(
                key.rstrip("s"), n, list(declared)) + f" (declare it as [{key}.{n}])"
                for n in unknown])
        return [n for n in names if n in declared]

    def cells_for(self, model_name: str, dataset_name: str, method_entry: str, deploys: bool,
                  seeds: list[int] | None = None) -> list[Cell]:
        """The entry's cells, one per sweep point and per seed when `seeds` are given."""
        where = self.checker.where(f"methods.{method_entry}")
        cells = []
        for swept in parse_sweep(self.methods[method_entry].get("sweep", {}), where).combinations():
            base = self.configured(model_name, dataset_name, method_entry, deploys, swept)
            if base is None:
                continue
            group = base.id + ("--" + short_hash(swept) if swept else "")
            cells += [replace(base, id=group, seed_group=group)] if not seeds else [
                with_seed(base, f"{group}--seed{seed}", seed, group) for seed in seeds]
        return cells

    def study_unit(self, model_name: str, dataset_name: str, method_entry: str,
                   deploys: bool) -> StudyUnit | None:
        """The entry's [study] trials (trial seed, no deployment, validation only) and the
        seed cells of each; None when a drawn configuration cannot run (reported)."""
        entry, settings = self.methods[method_entry], self.study.settings
        method_space = METHODS.get(entry.get("method", method_entry)).study_space
        sweep = self.study.method_sweep(method_space, entry.get("study", {}),
                                        self.checker.where(f"methods.{method_entry}"))
        trials, seed_cells = [], []
        for index, values in enumerate(sweep.combinations(), start=1):
            base = self.configured(model_name, dataset_name, method_entry, deploys, values)
            if base is None:
                return None
            trial_id = f"{base.id}--trial{index}"
            trials.append(replace(with_seed(base, trial_id, settings.trial_seed, trial_id),
                                  deploy=None, study=StudyRole("trial", index)))
            seed_cells.append([replace(with_seed(base, f"{base.id}--seed{seed}", seed, base.id),
                                       study=StudyRole("seed", seed))
                               for seed in settings.seeds])
        return StudyUnit(f"{model_name}--{method_entry}--{dataset_name}", trials, seed_cells)

    def configured(self, model_name: str, dataset_name: str, method_entry: str, deploys: bool,
                   swept: dict) -> Cell | None:
        """The entry's cell with `swept` values, id `<model>--<entry>--<dataset>`; every part
        was checked where it is written, so the merged configurations are built without
        checking ranges again. None when patience and eval_each_epoch clash (reported)."""
        model = self.models[model_name]
        dataset_spec, dataset_training = self.datasets[dataset_name]
        entry = self.methods[method_entry]
        method_name = entry.get("method", method_entry)
        params_cls = METHODS.get(method_name).Params
        param_keys = {f.name for f in dataclasses.fields(params_cls)}
        fixed_params = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
        where = self.checker.where(f"methods.{method_entry}")
        params = from_mapping(params_cls, {**fixed_params, **{k: v for k, v in swept.items()
                                                             if k in param_keys}}, where,
                              ranges=False)
        training = from_mapping(TrainingConfig, {
            **self.default_training, **dataset_training, **entry.get("training", {}),
            **{k: v for k, v in swept.items() if k not in param_keys}}, where, ranges=False)
        try:  # the only check across tables: patience and eval_each_epoch merged
            check_early_stopping(training, where)
        except BenchInputError as error:
            self.checker.problems += problems_of(error)
            return None
        return Cell(id=f"{model.name}--{method_entry}--{dataset_name}", suite=self.suite,
                    model=model, dataset=dataset_spec, method_entry=method_entry,
                    method=method_name, method_params=params, training=training, sweep=swept,
                    deploy=self.deploy if deploys else None, compressions=self.compressions,
                    base_dir=str(self.base_dir))


def with_seed(cell: Cell, cell_id: str, seed: int, group: str) -> Cell:
    return replace(cell, id=cell_id, training=replace(cell.training, seed=seed),
                   seed_group=group)


def exclusions(rules: Any, where: str) -> list[dict]:
    if not isinstance(rules, list):
        raise BenchInputError(f"{where}.exclude: expected a list of tables, got "
                              f"{describe_value(rules)}")
    for rule in rules:
        check_keys(rule, MATRIX_AXES, f"{where}.exclude")
    return rules


def check_early_stopping(training: TrainingConfig, where: str) -> None:
    patience = training.early_stopping_patience
    if patience is not None and (patience < 1 or not training.eval_each_epoch):
        raise BenchInputError(f"{where}: training.early_stopping_patience = {patience} needs an "
                              "integer >= 1 and training.eval_each_epoch = true")


def seeds_of(table: dict, where: str) -> list[int] | None:
    """A table's `seeds` list (None when absent), checked: distinct integers, at least one."""
    if "seeds" not in table:
        return None
    seeds = table["seeds"]
    if (not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds)
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise BenchInputError(f"{where}.seeds: expected a non-empty list of distinct integers, "
                              f"got {seeds!r}")
    return seeds


def matches(rule: dict, combo: tuple[str, str, str]) -> bool:
    return all(rule.get(axis) in (None, value) for axis, value in zip(MATRIX_AXES, combo))


def short_hash(values: dict) -> str:
    """Stable 8-hex id of sweep values (key order does not matter)."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]
