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
from typing import Any, Callable, ClassVar, TypeVar

from bench.errors import BenchInputError, SuiteProblems, problems_of
from bench.registry import BACKENDS, COMPRESSIONS, METHODS, unknown_name_message
from bench.specs import CompareThresholds, DatasetSpec, DeploySpec, ModelSpec, TrainingConfig
from bench.table_checks import (NOT_NEGATIVE, POSITIVE, SEED, check_type, describe_value,
                                from_mapping, unknown_key_message)

TOP_LEVEL_KEYS = ("suite", "defaults", "models", "datasets", "methods", "matrix", "deploy",
                  "compressions", "compare")
RUNS_DIR = Path("runs")  # default output: git-ignored; committed evidence lives in results/
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
class SuiteHeader:
    """The [suite] table. `output`: where results go, relative to the suite file (default:
    runs/<name> in the working folder)."""

    name: str | None = None
    description: str = ""
    output: str | None = None
    cpus_per_cell: float = 1
    gpus_per_cell: float = 0
    seeds: list[int] | None = None  # see the module docstring

    ranges: ClassVar[dict] = {"cpus_per_cell": POSITIVE, "gpus_per_cell": NOT_NEGATIVE,
                              "seeds": SEED}

    def field_problems(self) -> list[tuple[str, str]]:
        if self.seeds and len(set(self.seeds)) != len(self.seeds):
            return [("seeds", f"expected distinct seeds, got {self.seeds}")]
        if self.name is not None and (not self.name.strip() or self.name in (".", "..")
                                      or any(c in self.name for c in "/\\")):
            return [("name", f"expected a name usable as a folder name, got {self.name!r}")]
        if self.output is not None and not self.output.strip():
            return [("output", "expected a folder, got an empty string")]
        return []


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
    """Parse and validate a suite file; raises SuiteProblems listing every problem, each
    naming the file, the table and the key."""
    suite, problems = parse_suite(path)
    if problems:
        raise SuiteProblems(problems)
    return suite


def parse_suite(path: str | Path) -> tuple[Suite | None, list[str]]:
    """The suite built from every entry that is valid, and the problems of the others (a
    later check can then look at the valid part, and the user sees everything at once)."""
    path = Path(path)
    if not path.is_file():
        return None, [f"suite file not found: {path}"]
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        return None, [f"{path}: not valid TOML: {error}"]
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"{path}: cannot be read: {error}"]
    parser = SuiteParser(path, raw)
    suite = parser.parse()
    return suite, parser.problems


T = TypeVar("T")


class SuiteParser:
    """Collects problems rather than stopping at the first: an entry with a problem is left
    out of the matrix (and not reported again where it is used)."""

    def __init__(self, path: Path, raw: dict) -> None:
        self.path = path
        self.raw = raw
        self.base_dir = path.resolve().parent
        self.problems: list[str] = []
        self.broken: set[str] = set()  # "models.x", "methods.y": declared, but with problems

    def where(self, table: str) -> str:
        return f"{self.path} [{table}]"

    def attempt(self, build: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return build(*args, **kwargs)
        except BenchInputError as error:
            self.problems += problems_of(error)
            return None

    def parse(self) -> Suite:
        self.attempt(check_keys, self.raw, TOP_LEVEL_KEYS, str(self.path))
        header = self.attempt(from_mapping, SuiteHeader, self.table("suite"),
                              self.where("suite")) or SuiteHeader()
        name = header.name or self.path.stem
        output_dir = self.base_dir / header.output if header.output else RUNS_DIR / name
        defaults = self.table("defaults")
        self.attempt(check_keys, defaults, ("training", "dataset"), self.where("defaults"))
        default_training = self.training(defaults.get("training", {}), "defaults.training")
        default_dataset = defaults.get("dataset", {})
        if self.attempt(from_mapping, DatasetSpec, default_dataset, self.where("defaults.dataset"),
                        name="defaults") is None:
            default_dataset = {}  # reported once here, not again for every dataset
        models = self.entries("models", self.model)
        datasets = self.entries("datasets", lambda n, e: self.dataset(n, e, default_dataset))
        methods = self.entries("methods", self.method_entry)
        deploy, compressions = self.deployment()
        suite_seeds = header.seeds
        cells = [cell for (model_name, dataset_name, method_name), deploys, matrix_seeds
                 in self.matrix(models, datasets, methods)
                 for cell in self.cells_for(name, models[model_name], datasets[dataset_name],
                                            dataset_name, method_name, methods[method_name],
                                            default_training or {},
                                            deploy if deploys else None, compressions,
                                            seeds_of(methods[method_name],
                                                     self.where(f"methods.{method_name}"))
                                            or matrix_seeds or suite_seeds)]
        unique = list({cell.id: cell for cell in cells}.values())
        if not unique and not self.problems:
            self.problems.append(f"{self.path}: the matrix is empty (everything excluded?)")
        compare = self.attempt(from_mapping, CompareThresholds, self.table("compare"),
                               self.where("compare"))
        return Suite(name=name, path=self.path, description=header.description,
                     output_dir=output_dir, cells=unique, cpus_per_cell=header.cpus_per_cell,
                     gpus_per_cell=header.gpus_per_cell, compare=compare or CompareThresholds())

    def table(self, key: str) -> dict:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            self.problems.append(f"{self.where(key)}: expected a table, got "
                                 f"{describe_value(value)}")
            return {}
        return value

    def entries(self, key: str, build: Callable[[str, dict], Any]) -> dict[str, Any]:
        """The valid [key.<name>] entries, built; the others reported and marked broken."""
        tables = self.table(key)
        if key != "compressions" and self.raw.get(key, {}) == {}:
            self.problems.append(f"{self.path}: no [{key}.<name>] entries; declare at least one")
        built = {}
        for name, entry in tables.items():
            if not isinstance(entry, dict):
                self.problems.append(f"{self.where(f'{key}.{name}')}: expected a table, got "
                                     f"{describe_value(entry)}")
                value = None
            else:
                value = self.attempt(build, name, entry)
            if value is None:
                self.broken.add(f"{key}.{name}")
            else:
                built[name] = value
        return built

    def training(self, values: Any, table: str) -> dict | None:
        """Training keys as written in `table`, checked (types and ranges) where they are
        written; the merged configuration of a cell is then built from checked parts."""
        if self.attempt(from_mapping, TrainingConfig, values, self.where(table)) is None:
            return None
        return values

    def model(self, name: str, entry: dict) -> ModelSpec:
        """A source that is a path (./x, ../x, /x or an existing folder beside the suite) is
        resolved relative to the suite file; anything else is a built-in name or a hub id."""
        spec = from_mapping(ModelSpec, entry, self.where(f"models.{name}"), name=name)
        local = self.base_dir / Path(spec.source).expanduser()
        if spec.source.startswith((".", "/", "~")) or local.is_dir():
            spec.source = str(local.resolve())
        return spec

    def dataset(self, name: str, entry: dict, defaults: dict) -> tuple[DatasetSpec, dict] | None:
        entry = dict(entry)
        training = self.training(entry.pop("training", {}), f"datasets.{name}.training")
        where = self.where(f"datasets.{name}")
        from_mapping(DatasetSpec, entry, where, name=name)
        spec = from_mapping(DatasetSpec, {**defaults, **entry}, where, ranges=False, name=name)
        return None if training is None else (spec, training)

    def method_entry(self, name: str, entry: dict) -> dict | None:
        """The entry when its method, parameters, training keys and sweep are all valid."""
        where = self.where(f"methods.{name}")
        method_name = entry.get("method", name)
        if not isinstance(method_name, str):
            raise BenchInputError(f"{where}.method: expected a method name, got "
                                  f"{describe_value(method_name)}")
        if method_name not in METHODS.names():
            raise BenchInputError(f"{where}.method: " + unknown_name_message(
                "method", method_name, METHODS.names()))
        params_cls = METHODS.get(method_name).Params
        allowed = [f.name for f in dataclasses.fields(params_cls)]
        problems_before = len(self.problems)
        self.attempt(check_keys, entry, ENTRY_KEYS + tuple(allowed), where)
        fixed = {k: v for k, v in entry.items() if k in allowed}
        self.attempt(from_mapping, params_cls, fixed, where)
        self.training(entry.get("training", {}), f"methods.{name}.training")
        self.attempt(self.check_sweep, entry.get("sweep", {}), params_cls, where)
        self.attempt(seeds_of, entry, where)
        return entry if len(self.problems) == problems_before else None

    def check_sweep(self, sweep: Any, params_cls: type, where: str) -> None:
        if not isinstance(sweep, dict):
            raise BenchInputError(f"{where}.sweep: expected a table of lists, got "
                                  f"{describe_value(sweep)}")
        allowed = [f.name for f in dataclasses.fields(params_cls)]
        training_keys = [f.name for f in dataclasses.fields(TrainingConfig)]
        for key, values in sweep.items():
            if key not in allowed and key not in training_keys:
                self.problems.append(unknown_key_message(f"{where}.sweep", key,
                                                         allowed + training_keys))
            elif not isinstance(values, list) or not values:
                self.problems.append(f"{where}.sweep.{key}: expected a non-empty list of values")
            else:
                cls = params_cls if key in allowed else TrainingConfig
                for value in values:
                    if self.attempt(from_mapping, cls, {key: value}, f"{where}.sweep") is None:
                        break

    def deployment(self) -> tuple[dict | None, dict]:
        """The [deploy] table and [compressions.<name>] params, validated, as plain dicts."""
        deploy = None
        if "deploy" in self.raw:

            spec = self.attempt(from_mapping, DeploySpec, self.raw["deploy"], self.where("deploy"))
            if spec is not None and self.attempt(self.check_deploy_names, spec) is not None:
                deploy = dataclasses.asdict(spec)
        compressions = {}
        for name, entry in self.table("compressions").items():
            where = self.where(f"compressions.{name}")
            if name not in COMPRESSIONS.names():
                self.problems.append(f"{where}: " + unknown_name_message(
                    "compression", name, COMPRESSIONS.names()))
                continue
            params = self.attempt(from_mapping, COMPRESSIONS.get(name).Params, entry, where)
            if params is not None:
                compressions[name] = dataclasses.asdict(params)
        return deploy, compressions

    def check_deploy_names(self, spec: Any) -> bool:
        """Every backend and compression named in [deploy] exists; quantizing steps come last."""
        where = self.where("deploy")
        problems = [f"{where}.backends: " + unknown_name_message("backend", name, BACKENDS.names())
                    for name in spec.backends if name not in BACKENDS.names()]
        for chain in spec.variants:
            for position, name in enumerate(chain):
                if name not in COMPRESSIONS.names():
                    problems.append(f"{where}.variants: " + unknown_name_message(
                        "compression", name, COMPRESSIONS.names()))
                elif COMPRESSIONS.get(name).quantizes and position != len(chain) - 1:
                    problems.append(f"{where}.variants: {name!r} quantizes, so it must end its "
                                    f"chain, got {chain}")
        if problems:
            raise SuiteProblems(problems)
        return True

    def matrix(self, models: dict, datasets: dict, methods: dict
               ) -> list[tuple[tuple[str, str, str], bool, list[int] | None]]:
        """(model, dataset, method) names of every cell, whether its matrix deploys it
        (`deploy = false` in a [[matrix]] skips the [deploy] stage for its cells) and the
        matrix's `seeds` (None: not declared there)."""
        matrices = self.raw.get("matrix", [{}])
        if isinstance(matrices, dict):
            matrices = [matrices]
        if not isinstance(matrices, list):
            self.problems.append(f"{self.where('matrix')}: expected a table or [[matrix]] "
                                 f"tables, got {describe_value(matrices)}")
            return []
        combos: list[tuple[tuple[str, str, str], bool, list[int] | None]] = []
        for index, matrix in enumerate(matrices):
            where = self.where(f"matrix #{index + 1}" if len(matrices) > 1 else "matrix")
            if self.attempt(check_keys, matrix, MATRIX_KEYS, where) is None:
                continue
            axes = [self.attempt(self.axis, matrix, key, declared, where) for key, declared in
                    (("models", models), ("datasets", datasets), ("methods", methods))]
            excludes = self.attempt(self.exclusions, matrix.get("exclude", []), where)
            deploys = self.attempt(check_type, matrix.get("deploy", True), bool, f"{where}.deploy")
            seeds = self.attempt(seeds_of, matrix, where)
            if (any(axis is None for axis in axes) or excludes is None or deploys is None
                    or (seeds is None and "seeds" in matrix)):
                continue
            for combo in itertools.product(*axes):
                if not any(matches(rule, combo) for rule in excludes):
                    combos.append((combo, deploys, seeds))
        return combos

    def exclusions(self, rules: Any, where: str) -> list[dict]:
        if not isinstance(rules, list):
            raise BenchInputError(f"{where}.exclude: expected a list of tables, got "
                                  f"{describe_value(rules)}")
        for rule in rules:
            check_keys(rule, MATRIX_AXES, f"{where}.exclude")
        return rules

    def axis(self, matrix: dict, key: str, declared: dict, where: str) -> list[str]:
        """The names of one axis that are declared and valid (broken ones are reported where
        they are declared)."""
        names = matrix.get(key, list(declared))
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BenchInputError(f"{where}.{key}: expected a list of names, got "
                                  f"{describe_value(names)}")
        if not declared:  # reported once: no valid [key.<name>] entries at all
            return []
        unknown = [n for n in names if n not in declared and f"{key}.{n}" not in self.broken]
        if unknown:
            raise SuiteProblems([f"{where}.{key}: " + unknown_name_message(
                key.rstrip("s"), n, list(declared)) + f" (declare it as [{key}.{n}])"
                for n in unknown])
        return [n for n in names if n in declared]

    def cells_for(self, suite: str, model: ModelSpec, dataset: tuple[DatasetSpec, dict],
                  dataset_name: str, method_entry: str, entry: dict, default_training: dict,
                  deploy: dict | None, compressions: dict,
                  seeds: list[int] | None = None) -> list[Cell]:
        """The entry's cells, one per seed when `seeds` are given; every part was checked
        where it is written, so the merged configurations are built without checking ranges
        again."""
        dataset_spec, dataset_training = dataset
        method_name = entry.get("method", method_entry)
        params_cls = METHODS.get(method_name).Params
        param_keys = {f.name for f in dataclasses.fields(params_cls)}
        fixed_params = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
        sweep = entry.get("sweep", {})
        where = self.where(f"methods.{method_entry}")
        cells = []
        for values in itertools.product(*sweep.values()):
            swept = dict(zip(sweep, values))
            params = from_mapping(params_cls, {**fixed_params, **{k: v for k, v in swept.items()
                                                                 if k in param_keys}}, where,
                                  ranges=False)
            training = from_mapping(TrainingConfig, {
                **default_training, **dataset_training, **entry.get("training", {}),
                **{k: v for k, v in swept.items() if k not in param_keys}}, where, ranges=False)
            try:  # the only check across tables: patience and eval_each_epoch merged
                check_early_stopping(training, where)
            except BenchInputError as error:
                self.problems += problems_of(error)
                continue
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


def check_keys(table: Any, allowed: tuple[str, ...] | list[str], where: str) -> bool:
    """Every key of `table` is allowed (SuiteProblems lists each unknown one)."""
    if not isinstance(table, dict):
        raise BenchInputError(f"{where}: expected a table, got {describe_value(table)}")
    unknown = [unknown_key_message(where, key, list(allowed)) for key in table
               if key not in allowed]
    if unknown:
        raise SuiteProblems(unknown)
    return True


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

