"""Suite files (TOML) -> validated cells.

A suite declares models, datasets and methods, training defaults, and one or more matrices
over them (bench/suite/matrix.py combines them into cells). Every table is checked where it is
written, each problem named by file, table and key.
"""
from __future__ import annotations

import dataclasses
import typing
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, TypeVar

from bench.suite.cell import Cell
from bench.errors import BenchInputError, SuiteProblems, problems_of
from bench.suite.matrix import ENTRY_KEYS, Matrix, seeds_of
from bench.registry import BACKENDS, COMPRESSIONS, METHODS, unknown_name_message
from bench.suite.study import Study, StudyPlan, StudySettings, split_study_table
from bench.suite.sweeps import Distribution, parse_sweep
from bench.specs import CompareThresholds, DatasetSpec, DeploySpec, ModelSpec, TrainingConfig
from bench.table_checks import (NOT_NEGATIVE, POSITIVE, SEED, check_keys, describe,
                                describe_value, from_mapping, type_matches, unknown_key_message)

TOP_LEVEL_KEYS = ("suite", "defaults", "models", "datasets", "methods", "matrix", "deploy",
                  "compressions", "compare", "study")
RUNS_DIR = Path("runs")  # default output: git-ignored; committed evidence lives in results/


@dataclass
class SuiteHeader:
    """The [suite] table. `output`: where results go, relative to the suite file (default:
    runs/<name> in the working folder)."""

    name: str | None = None
    description: str = ""
    output: str | None = None
    cpus_per_cell: float = 1
    gpus_per_cell: float = 0
    # Ray: k cells at once on each GPU, or "auto" from earlier records' peak GPU memory
    # (bench/executors/gpu_sharing.py); their times are marked and kept out of the costs
    cells_per_gpu: int | Literal["auto"] | None = None
    seeds: list[int] | None = None  # see the module docstring

    ranges: ClassVar[dict] = {"cpus_per_cell": POSITIVE, "gpus_per_cell": NOT_NEGATIVE,
                              "seeds": SEED}

    def field_problems(self) -> list[tuple[str, str]]:
        if isinstance(self.cells_per_gpu, int) and self.cells_per_gpu < 1:
            return [("cells_per_gpu", f"expected a count >= 1 or 'auto', got "
                                      f"{self.cells_per_gpu}")]
        if self.cells_per_gpu is not None and self.gpus_per_cell:
            return [("cells_per_gpu", "set either cells_per_gpu or gpus_per_cell, not both "
                                      "(cells_per_gpu = k asks for 1/k of a GPU per cell)")]
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
    cells_per_gpu: int | str | None = None
    compare: CompareThresholds = field(default_factory=CompareThresholds)
    study: StudyPlan | None = None  # `cells` are then its trial cells


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
        self.study: Study | None = None

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
        self.study = self.study_table(header)
        methods = self.entries("methods", self.method_entry)
        deploy, compressions = self.deployment()
        matrix = Matrix(self, name, self.base_dir, models, datasets, methods,
                        default_training or {}, deploy, compressions, self.study)
        plan = None
        if self.study is None:
            cells = matrix.cells(self.raw.get("matrix", [{}]), header.seeds)
        else:
            plan = StudyPlan(self.study.settings, matrix.study_units(self.raw.get("matrix", [{}])))
            cells = plan.trial_cells()
        if not cells and not self.problems:
            self.problems.append(f"{self.path}: the matrix is empty (everything excluded?)")
        compare = self.attempt(from_mapping, CompareThresholds, self.table("compare"),
                               self.where("compare"))
        return Suite(name=name, path=self.path, description=header.description,
                     output_dir=output_dir, cells=cells, cpus_per_cell=header.cpus_per_cell,
                     gpus_per_cell=header.gpus_per_cell, cells_per_gpu=header.cells_per_gpu,
                     compare=compare or CompareThresholds(), study=plan)

    def study_table(self, header: SuiteHeader) -> Study | None:
        """The checked [study] table (bench/suite/study.py), None when absent or invalid; seeds
        declared elsewhere would give methods unequal treatment, so they are refused."""
        if "study" not in self.raw:
            return None
        where, problems_before = self.where("study"), len(self.problems)
        settings, space = split_study_table(self.table("study"))
        settings = self.attempt(from_mapping, StudySettings, settings, where)
        self.attempt(self.check_sweep, {**space, "search": "random", "trials": 1}, None,
                     where, "")
        if header.seeds is not None:
            self.problems.append(f"{self.where('suite')}.seeds: a suite with [study] repeats "
                                 "the chosen trials with [study].seeds; remove this key")
        matrices = self.raw.get("matrix", [])
        for index, matrix in enumerate(matrices if isinstance(matrices, list) else [matrices]):
            if isinstance(matrix, dict) and "seeds" in matrix:
                self.problems.append(f"{self.where(f'matrix #{index + 1}')}.seeds: a suite with "
                                     "[study] repeats the chosen trials with [study].seeds; "
                                     "remove this key")
        if settings is None or len(self.problems) > problems_before:
            return None
        return Study(settings, space)

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
        self.check_entry_study(entry, METHODS.get(method_name), where)
        return entry if len(self.problems) == problems_before else None

    def check_entry_study(self, entry: dict, method_cls: type, where: str) -> None:
        """With [study], every method gets its trials and seeds: an entry's own `sweep` or
        `seeds` would tune or repeat it differently. Its `study` table narrows the space."""
        space = entry.get("study", {})
        if self.study is None:
            if "study" in entry and "study" not in self.raw:  # else [study] itself is reported
                self.problems.append(f"{where}.study: needs a [study] table in the suite")
            return
        for key in ("sweep", "seeds"):
            if key in entry:
                self.problems.append(
                    f"{where}.{key}: a suite with [study] gives every method the same "
                    f"{self.study.settings.trials} trial(s) and seeds; put the keys to search "
                    "in this entry's `study = {...}` table instead")
        if not isinstance(space, dict):
            self.attempt(parse_sweep, space, where, "study")  # says it is not a table
            return
        for key in ("search", "trials", "search_seed"):
            if key in space:
                self.problems.append(f"{where}.study.{key}: set by [study] for every method")
                return
        self.attempt(self.check_sweep, self.study.space_table(method_cls.study_space, space),
                     method_cls.Params, where, "study")

    def check_sweep(self, table: Any, params_cls: type | None, where: str,
                    name: str = "sweep") -> None:
        """A grid or random search (bench/suite/sweeps.py) whose keys are method parameters or
        training arguments (training arguments only without `params_cls`: the [study] table),
        each value (a distribution's ends) of its key's type and range."""
        sweep = parse_sweep(table, where, name)
        where = f"{where}.{name}" if name else where
        allowed = [f.name for f in dataclasses.fields(params_cls)] if params_cls else []
        training_keys = [f.name for f in dataclasses.fields(TrainingConfig)]
        for key, values in sweep.bounds().items():
            if key not in allowed and key not in training_keys:
                self.problems.append(unknown_key_message(where, key, allowed + training_keys))
                continue
            cls = params_cls if key in allowed else TrainingConfig
            if isinstance(sweep.axes[key], Distribution) and not type_matches(
                    0.5, typing.get_type_hints(cls)[key]):
                self.problems.append(f"{where}.{key}: a distribution draws real numbers "
                                     f"and {key} takes {describe(typing.get_type_hints(cls)[key])}"
                                     f": list its values instead")
                continue
            for value in values:
                if self.attempt(from_mapping, cls, {key: value}, where) is None:
                    break

    def deployment(self) -> tuple[Any, dict[str, Any]]:
        """The [deploy] table (a DeploySpec, None when absent or invalid) and the
        [compressions.<name>] Params, validated."""
        deploy = None
        if "deploy" in self.raw:

            spec = self.attempt(from_mapping, DeploySpec, self.raw["deploy"], self.where("deploy"))
            if spec is not None and self.attempt(self.check_deploy_names, spec) is not None:
                deploy = spec
        compressions = {}
        for name, entry in self.table("compressions").items():
            where = self.where(f"compressions.{name}")
            if name not in COMPRESSIONS.names():
                self.problems.append(f"{where}: " + unknown_name_message(
                    "compression", name, COMPRESSIONS.names()))
                continue
            params = self.attempt(from_mapping, COMPRESSIONS.get(name).Params, entry, where)
            if params is not None:
                compressions[name] = params
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
