"""One cell of a suite's matrix, typed, and its JSON form at the process boundary: the runner
writes it for the cell process (`python -m bench.stages.cell_process`) and hands it to Ray tasks that way.

The suite parser checks every value once (bench/suite/parser.py, bench/table_checks.py
`from_mapping`);
`cell_from_json` only rebuilds the objects, with each plugin's own Params class.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.specs import DatasetSpec, DeploySpec, ModelSpec, TrainingConfig


@dataclass(frozen=True)
class StudyRole:
    """A cell's part in a suite's [study] (bench/suite/study.py): trial `index` (scored on
    validation only) or the repeat of the chosen trial with training seed `index`."""

    role: Literal["trial", "seed"]
    index: int


@dataclass
class Cell:
    """One run of the matrix: everything the cell process needs."""

    id: str
    suite: str
    model: ModelSpec
    dataset: DatasetSpec
    method_entry: str  # the suite's name for the method entry (several may share one method)
    method: str
    method_params: Any  # an instance of the method's Params
    training: TrainingConfig
    sweep: dict = field(default_factory=dict)  # the swept values of this cell, by key
    deploy: DeploySpec | None = None
    compressions: dict[str, Any] = field(default_factory=dict)  # name -> its Params instance
    base_dir: str = "."
    seed_group: str | None = None  # the id without `--seed<N>`: the cells that repeat this one
    study: StudyRole | None = None  # None: not part of a [study]

    @property
    def scores_test(self) -> bool:
        """False for a study's trial: it is chosen on validation and never sees the test split."""
        return self.study is None or self.study.role != "trial"


def cell_to_json(cell: Cell) -> str:
    return json.dumps(dataclasses.asdict(cell))


def cell_from_json(text: str) -> Cell:
    from bench.registry import COMPRESSIONS, METHODS

    raw = json.loads(text)
    return Cell(**{
        **raw, "model": ModelSpec(**raw["model"]), "dataset": DatasetSpec(**raw["dataset"]),
        "method_params": METHODS.get(raw["method"]).Params(**raw["method_params"]),
        "training": TrainingConfig(**raw["training"]),
        "deploy": None if raw["deploy"] is None else DeploySpec(**raw["deploy"]),
        "study": None if raw.get("study") is None else StudyRole(**raw["study"]),
        "compressions": {name: COMPRESSIONS.get(name).Params(**values)
                         for name, values in raw["compressions"].items()}})
