"""The checks that `bench validate` runs and `bench run` runs before any cell starts: the suite
parsed with every value in range, then what needs the data and the models: data files,
columns and classes, model sources, target modules against the model's real module names
(from a weightless skeleton: fast), methods and training settings that cannot run here.

Every problem is one line naming the file, the table and the key; all of them are listed at
once (SuiteProblems), so that one pass of fixes makes the suite run.
"""
from __future__ import annotations

from pathlib import Path

from bench.errors import BenchInputError, SuiteProblems, problems_of
from bench.suite.cell import Cell
from bench.suite.parser import Suite, parse_suite


def checked_suite(path: str | Path, only: list[str] | None = None,
                  check_models: bool = True) -> tuple[Suite, list[Cell]]:
    """The suite and its cells (those whose id contains one of `only`, if given), or
    SuiteProblems listing everything wrong with them; with a [study], its trial cells (the
    seed cells it may run after them are checked too). `check_models` False skips what needs
    torch and transformers: model sources and adapter target modules."""
    suite, problems = parse_suite(path)
    cells = select_cells(suite.cells, only) if suite else []
    if suite is not None:
        later = select_cells(suite.study.every_seed_cell(), only) if suite.study else []
        problems += Preflight(suite, check_models).problems(cells + later)
        if not cells and not later and not problems:
            problems.append(f"{suite.path}: no cell id contains any of {only}")
    if problems:
        raise SuiteProblems(problems)
    return suite, cells


def select_cells(cells: list[Cell], only: list[str] | None) -> list[Cell]:
    return [c for c in cells if not only or any(pattern in c.id for pattern in only)]


class Preflight:
    """Checks each dataset, model and method entry once, however many cells share it."""

    def __init__(self, suite: Suite, check_models: bool = True) -> None:
        self.suite = suite
        self.check_models = check_models
        self.found: list[str] = []
        self.datasets: set[str] = set()  # keys of the datasets checked
        self.modules: dict[str, dict[str, str] | None] = {}  # model key -> {name: class name}

    def where(self, table: str) -> str:
        return f"{self.suite.path} [{table}]"

    def report(self, where: str, error: Exception, redundant_prefix: str = "") -> None:
        """One line per problem; messages that name their entry already lose that prefix."""
        messages = problems_of(error) if isinstance(error, BenchInputError) else [
            f"{type(error).__name__}: {str(error).strip() or 'no message'}"]
        for message in messages:
            if redundant_prefix and message.startswith(redundant_prefix):
                message = message[len(redundant_prefix):]
            self.found.append(f"{where}: {message}")

    def problems(self, cells: list[Cell]) -> list[str]:
        from bench.suite.devices import resolve_device

        for cell in cells:
            self.check_dataset(cell)
            modules = self.model_modules(cell) if self.check_models else None
            where = self.where(f"methods.{cell.method_entry}")
            try:
                device = resolve_device(cell.training.device)
                self.check_method(cell, device, modules)
                self.check_training(cell, device)
            except Exception as error:  # noqa: BLE001: a bad input must not become a traceback
                self.report(where, error)
            self.check_deploy(cell)
        return list(dict.fromkeys(self.found))

    def check_dataset(self, cell: Cell) -> None:
        """Load and split the data as the cell will (files, columns, classes, sizes)."""
        from bench.data import prepare_dataset

        key = repr(cell.dataset)
        if key not in self.datasets:
            self.datasets.add(key)
            name = cell.dataset.name
            try:
                prepare_dataset(cell.dataset, Path(cell.base_dir))
            except Exception as error:  # noqa: BLE001: unreadable files, bad encodings...
                self.report(self.where(f"datasets.{name}"), error, f"dataset {name!r}: ")

    def model_modules(self, cell: Cell) -> dict[str, str] | None:
        """The names of the model's layers (modules without children: what an adapter can
        wrap) with their class names, from its config on the meta device: no weights are
        loaded."""
        from bench.task import TaskInfo
        from bench.models.loading import classifier_skeleton, resolve_model_source

        key = repr(cell.model)
        if key not in self.modules:
            spec = cell.model
            try:
                resolve_model_source(spec)
                skeleton = classifier_skeleton(spec, TaskInfo(["a", "b"]))
                self.modules[key] = {name: type(module).__name__
                                     for name, module in skeleton.named_modules()
                                     if not any(True for _ in module.children())}
            except Exception as error:  # noqa: BLE001
                self.report(self.where(f"models.{spec.name}"), error, f"model {spec.name!r}: ")
                self.modules[key] = None
        return self.modules[key]

    def check_method(self, cell: Cell, device: str, modules: dict[str, str] | None) -> None:
        from bench.registry import METHODS

        method = METHODS.get(cell.method)()
        method.check_available(device)
        if modules is not None:
            where = self.where(f"methods.{cell.method_entry}")
            self.found += [f"{where}.{key}: {message}"
                           for key, message in method.model_problems(
                               cell.method_params, list(modules), module_types=modules)]

    def check_training(self, cell: Cell, device: str) -> None:
        from bench.suite.devices import check_report_to, resolve_precision

        check_report_to(cell.training.report_to)
        resolve_precision(cell.training.precision, device)

    def check_deploy(self, cell: Cell) -> None:
        """A variant whose compression cannot run on this host at all (bf16 on a CPU without
        AMX or AVX512-BF16) is refused, not run as something else or skipped unseen."""
        from bench.registry import COMPRESSIONS
        from bench.suite.devices import deployment_device

        if cell.deploy is None:
            return
        device = deployment_device(cell.training.device)
        for name in dict.fromkeys(name for chain in cell.deploy.variants for name in chain):
            problem = COMPRESSIONS.get(name)().host_problem(device)
            if problem:
                self.found.append(f"{self.where('deploy')}.variants: {name!r}: {problem}")
