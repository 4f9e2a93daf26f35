"""Suite files (TOML) -> validated cells.

A suite declares models, datasets and methods, training defaults, and one or more matrices
over them. Merge order of training arguments: [defaults.training] < dataset `training` <
method `training` < sweep values. A method entry's `sweep` table expands each listed key into
one cell per combination (keys are method parameters or training arguments).

`seeds = [1, 2, 3]` repeats cells with those training seeds, one cell (and result file) per
seed, id suffix `--seed<N>`; the most specific declaration wins: a method entry's, else its
[[matrix]]'s, else [suite]'s. The data split keeps the dataset's own `seed`, so every seed of a
cell is scored on the same test examples (pairable, bench/stats.py).
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchInputError
from bench.registry import COMPRESSIONS, METHODS, unknown_name_message
from bench.specs import (CompareThresholds, DatasetSpec, ModelSpec, TrainingConfig, check_type,
                         from_mapping, unknown_key_message)

TOP_LEVEL_KEYS = ("suite", "defaults", "models", "datasets", "methods", "matrix", "deploy",
                  "compressions", "compare")
SUITE_KEYS = ("name", "description", "output", "cpus_per_cell", "gpus_per_cell", "seeds")
MATRIX_KEYS = ("models", "datasets", "methods", "exclude", "deploy", "seeds")
MATRIX_AXES = ("model", "dataset", "method")
ENTRY_KEYS = ("method", "training", "sweep", "seeds")  # method entries, besides its Params


@dataclass
class Cell:
    """One run of the matrix: everything the cell process needs, JSON-serialisable."""

    id: str
    suite: str
    model: dict
    dataset: dict
    method_entry: str
    method: str
    method_params: dict
    training: dict
    sweep: dict = field(default_factory=dict)
    deploy: dict | None = None
    compressions: dict = field(default_factory=dict)
    base_dir: str = "."
    seed_group: str | None = None  # the id without `--seed<N>`: the cells that repeat this one

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Cell":
        return cls(**data)


@dataclass
class Suite:
    name: str
    path: Path
    description: str
    output_dir: Path
    cells: list[Cell]
    cpus_per_cell: float = 1
    gpus_per_cell: float = 0
    compare: CompareThresholds = field(default_factory=CompareThresholds)


def load_suite(path: str | Path) -> Suite:
    """Parse and validate a suite file; every error names the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise BenchInputError(f"suite file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise BenchInputError(f"{path}: not valid TOML: {error}") from None
    return SuiteParser(path, raw).parse()


class SuiteParser:
    def __init__(self, path: Path, raw: dict) -> None:
        self.path = path
        self.raw = raw
        self.base_dir = path.resolve().parent

    def where(self, table: str) -> str:
        return f"{self.path} [{table}]"

    def parse(self) -> Suite:
        check_keys(self.raw, TOP_LEVEL_KEYS, str(self.path))
        header = self.table("suite")
        check_keys(header, SUITE_KEYS, self.where("suite"))
        name = header.get("name", self.path.stem)
        output = header.get("output")
        output_dir = (self.base_dir / output) if output else Path("results") / name
        defaults = self.table("defaults")
        check_keys(defaults, ("training", "dataset"), self.where("defaults"))
        from_mapping(TrainingConfig, defaults.get("training", {}), self.where("defaults.training"))
        check_keys(defaults.get("dataset", {}), [f.name for f in dataclasses.fields(DatasetSpec)
                                                 if f.name != "name"], self.where("defaults.dataset"))
        models = {n: self.model(n, e) for n, e in self.named_tables("models").items()}
        datasets = {n: self.dataset(n, e, defaults.get("dataset", {}))
                    for n, e in self.named_tables("datasets").items()}
        methods = self.named_tables("methods")
        for name_, entry in methods.items():
            self.check_method_entry(name_, entry)
        deploy, compressions = self.deployment()
        suite_seeds = seeds_of(header, self.where("suite"))
        cells = [cell for (model_name, dataset_name, method_name), deploys, matrix_seeds
                 in self.matrix(models, datasets, methods)
                 for cell in self.cells_for(name, models[model_name], datasets[dataset_name],
                                            dataset_name, method_name, methods[method_name],
                                            defaults.get("training", {}),
                                            deploy if deploys else None, compressions,
                                            seeds_of(methods[method_name],
                                                     self.where(f"methods.{method_name}"))
                                            or matrix_seeds or suite_seeds)]
        unique = list({cell.id: cell for cell in cells}.values())
        if not unique:
            raise BenchInputError(f"{self.path}: the matrix is empty (everything excluded?)")
        return Suite(name=name, path=self.path, description=header.get("description", ""),
                     output_dir=output_dir, cells=unique,
                     cpus_per_cell=header.get("cpus_per_cell", 1),
                     gpus_per_cell=header.get("gpus_per_cell", 0),
                     compare=from_mapping(CompareThresholds, self.table("compare"),
                                          self.where("compare")))

    def table(self, key: str) -> dict:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise BenchInputError(f"{self.where(key)}: expected a table")
        return value

    def named_tables(self, key: str) -> dict[str, dict]:
        tables = self.table(key)
        if not tables and key != "compressions":
            raise BenchInputError(f"{self.path}: no [{key}.<name>] entries; declare at least one")
        for name, entry in tables.items():
            if not isinstance(entry, dict):
                raise BenchInputError(f"{self.where(f'{key}.{name}')}: expected a table")
        return tables

    def model(self, name: str, entry: dict) -> ModelSpec:
        """A source that is a path (./x, ../x, /x or an existing folder beside the suite) is
        resolved relative to the suite file; anything else is a built-in name or a hub id."""
        spec = from_mapping(ModelSpec, entry, self.where(f"models.{name}"), name=name)
        local = self.base_dir / Path(spec.source).expanduser()
        if spec.source.startswith((".", "/", "~")) or local.is_dir():
            spec.source = str(local.resolve())
        return spec

    def dataset(self, name: str, entry: dict, defaults: dict) -> tuple[DatasetSpec, dict]:
        entry = dict(entry)
        training = entry.pop("training", {})
        merged = {**defaults, **entry}
        spec = from_mapping(DatasetSpec, merged, self.where(f"datasets.{name}"), name=name)
        from_mapping(TrainingConfig, training, self.where(f"datasets.{name}.training"))
        return spec, training

    def check_method_entry(self, name: str, entry: dict) -> None:
        where = self.where(f"methods.{name}")
        method_name = entry.get("method", name)
        if method_name not in METHODS.names():
            raise BenchInputError(f"{where}: " + unknown_name_message(
                "method", method_name, METHODS.names()))
        params_cls = METHODS.get(method_name).Params
        allowed = [f.name for f in dataclasses.fields(params_cls)]
        check_keys(entry, ENTRY_KEYS + tuple(allowed), where)
        sweep = entry.get("sweep", {})
        if not isinstance(sweep, dict):
            raise BenchInputError(f"{where}.sweep: expected a table of lists")
        training_keys = [f.name for f in dataclasses.fields(TrainingConfig)]
        for key, values in sweep.items():
            if key not in allowed and key not in training_keys:
                raise BenchInputError(unknown_key_message(f"{where}.sweep", key,
                                                          allowed + training_keys))
            if not isinstance(values, list) or not values:
                raise BenchInputError(f"{where}.sweep.{key}: expected a non-empty list of values")

    def deployment(self) -> tuple[dict | None, dict]:
        """The [deploy] table and [compressions.<name>] params, validated, as plain dicts."""
        deploy_raw = self.raw.get("deploy")
        deploy = None
        if deploy_raw is not None:
            from bench.deploy import DeploySpec  # heavy imports only for suites that deploy

            spec = from_mapping(DeploySpec, deploy_raw, self.where("deploy"))
            deploy = dataclasses.asdict(spec)
            for chain in spec.variants:
                for compression in chain:
                    if compression not in COMPRESSIONS.names():
                        raise BenchInputError(f"{self.where('deploy')}.variants: " +
                                              unknown_name_message("compression", compression,
                                                                   COMPRESSIONS.names()))
        compressions = {}
        for name, entry in self.table("compressions").items():
            if name not in COMPRESSIONS.names():
                raise BenchInputError(f"{self.where('compressions')}: " + unknown_name_message(
                    "compression", name, COMPRESSIONS.names()))
            compression = COMPRESSIONS.get(name)
            params = from_mapping(compression.Params, entry, self.where(f"compressions.{name}"))
            compressions[name] = dataclasses.asdict(params)
        return deploy, compressions

    def matrix(self, models: dict, datasets: dict, methods: dict
               ) -> list[tuple[tuple[str, str, str], bool, list[int] | None]]:
        """(model, dataset, method) names of every cell, whether its matrix deploys it
        (`deploy = false` in a [[matrix]] skips the [deploy] stage for its cells) and the
        matrix's `seeds` (None: not declared there)."""
        matrices = self.raw.get("matrix", [{}])
        if isinstance(matrices, dict):
            matrices = [matrices]
        combos: list[tuple[tuple[str, str, str], bool, list[int] | None]] = []
        for index, matrix in enumerate(matrices):
            where = self.where(f"matrix #{index + 1}" if len(matrices) > 1 else "matrix")
            check_keys(matrix, MATRIX_KEYS, where)
            axes = [self.axis(matrix, "models", models, where),
                    self.axis(matrix, "datasets", datasets, where),
                    self.axis(matrix, "methods", methods, where)]
            excludes = matrix.get("exclude", [])
            for rule in excludes:
                check_keys(rule, MATRIX_AXES, f"{where}.exclude")
            deploys = check_type(matrix.get("deploy", True), bool, f"{where}.deploy")
            seeds = seeds_of(matrix, where)
            for combo in itertools.product(*axes):
                if not any(matches(rule, combo) for rule in excludes):
                    combos.append((combo, deploys, seeds))
        return combos

    def axis(self, matrix: dict, key: str, declared: dict, where: str) -> list[str]:
        names = matrix.get(key, list(declared))
        if not isinstance(names, list):
            raise BenchInputError(f"{where}.{key}: expected a list of names")
        for name in names:
            if name not in declared:
                raise BenchInputError(f"{where}.{key}: " + unknown_name_message(
                    key.rstrip("s"), name, list(declared)) + f" (declare it as [{key}.{name}])")
        return names

    def cells_for(self, suite: str, model: ModelSpec, dataset: tuple[DatasetSpec, dict],
                  dataset_name: str, method_entry: str, entry: dict, default_training: dict,
                  deploy: dict | None, compressions: dict,
                  seeds: list[int] | None = None) -> list[Cell]:
        dataset_spec, dataset_training = dataset
        method_name = entry.get("method", method_entry)
        params_cls = METHODS.get(method_name).Params
        param_keys = {f.name for f in dataclasses.fields(params_cls)}
        fixed_params = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
        sweep = entry.get("sweep", {})
        cells = []
        for values in itertools.product(*sweep.values()):
            swept = dict(zip(sweep, values))
            where = self.where(f"methods.{method_entry}")
            params = from_mapping(params_cls, {**fixed_params, **{k: v for k, v in swept.items()
                                                                 if k in param_keys}}, where)
            training = from_mapping(TrainingConfig, {
                **default_training, **dataset_training, **entry.get("training", {}),
                **{k: v for k, v in swept.items() if k not in param_keys}}, where)
            check_early_stopping(training, where)
            cell_id = f"{model.name}--{method_entry}--{dataset_name}"
            if swept:
                cell_id += "--" + short_hash(swept)
            for seed in seeds or [None]:
                seeded = training if seed is None else dataclasses.replace(training, seed=seed)
                cells.append(Cell(
                    id=cell_id if seed is None else f"{cell_id}--seed{seed}", suite=suite,
                    model=dataclasses.asdict(model), dataset=dataclasses.asdict(dataset_spec),
                    method_entry=method_entry, method=method_name,
                    method_params=dataclasses.asdict(params),
                    training=dataclasses.asdict(seeded), sweep=swept, deploy=deploy,
                    compressions=compressions, base_dir=str(self.base_dir), seed_group=cell_id))
        return cells


def check_keys(table: Any, allowed: tuple[str, ...] | list[str], where: str) -> None:
    if not isinstance(table, dict):
        raise BenchInputError(f"{where}: expected a table, got {table!r}")
    for key in table:
        if key not in allowed:
            raise BenchInputError(unknown_key_message(where, key, list(allowed)))


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

