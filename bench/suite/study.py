"""A suite's [study] table: one tuning protocol for every method, so that no method wins by
having been tuned harder.

Every (model, dataset, method entry) of the matrix gets the same number of trials, drawn by
the Halton (default) or random search of bench/suite/sweeps.py with the same `search_seed`,
trained with one seed (`trial_seed`) and scored on validation only; the trial with the best
validation `selection_metric` is chosen (bench/record/study.py) and repeated with each of
`seeds`, fresh training seeds, and only those cells score the test split
(bench/executors/study_run.py).

The space a method searches, later keys winning: the method's own `study_space` (a class
variable of its plugin: a learning-rate range of its family), the keys of [study] (training
keys, the same for every method), then the method entry's `study = {...}` (training keys or
the method's own parameters).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from bench.specs import SCORES, not_a_score
from bench.suite.cell import Cell
from bench.suite.sweeps import Sweep, parse_sweep
from bench.table_checks import AT_LEAST_ONE, SEED

STUDY_SETTINGS = ("trials", "search", "search_seed", "trial_seed", "seeds", "selection_metric",
                  "deploy")
STUDY_SEARCHES = ("halton", "random")  # bench/suite/sweeps.py; halton covers a range evenly
DEPLOY_CHOSEN = "chosen"  # [study] deploy: only the chosen method's median seed is deployed
STUDY_DEPLOYS = ("seeds", DEPLOY_CHOSEN)  # "seeds": every seed cell as its matrix says
MIN_STUDY_SEEDS = 3  # bench/stats/methods.py MIN_SEEDS: fewer give no method-level verdict


@dataclass
class StudySettings:
    """The [study] keys that are not part of the searched space."""

    trials: int | None = None  # required: every method gets exactly this many
    search: str = "halton"  # "random": independent draws, which may leave part of a range untried
    search_seed: int = 0
    trial_seed: int = 0  # the training seed of every trial
    seeds: list[int] | None = None  # required: fresh seeds of each chosen configuration
    selection_metric: str = "f1_macro"  # on validation; ties: the earlier trial
    # "seeds": every seed cell runs the [deploy] stage its matrix gives it; "chosen": only the
    # chosen method's median-validation seed per (model, dataset), the run the report's
    # deployment choice judges variants against (bench/executors/study_deploy.py)
    deploy: str = "seeds"

    ranges: ClassVar[dict] = {"trials": AT_LEAST_ONE, "search_seed": SEED,
                              "trial_seed": SEED, "seeds": SEED}

    def field_problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.trials is None:
            problems.append(("trials", "required: the number of trials every method gets"))
        seeds = self.seeds or []
        if len(set(seeds)) != len(seeds) or len(seeds) < MIN_STUDY_SEEDS:
            problems.append(("seeds", f"expected at least {MIN_STUDY_SEEDS} distinct seeds "
                                      f"(fewer give no method-level verdict), got {self.seeds}"))
        if self.trial_seed in seeds:
            problems.append(("seeds", f"expected fresh seeds, got the trial seed "
                                      f"{self.trial_seed} among {self.seeds}: the chosen "
                                      "trial would be scored again on the seed it was chosen on"))
        if self.search not in STUDY_SEARCHES:
            problems.append(("search", f"expected one of {', '.join(map(repr, STUDY_SEARCHES))}"
                                       f", got {self.search!r}"))
        if self.selection_metric not in SCORES:
            problems.append(("selection_metric", not_a_score(self.selection_metric)))
        if self.deploy not in STUDY_DEPLOYS:
            problems.append(("deploy", f"expected one of {', '.join(map(repr, STUDY_DEPLOYS))}, "
                                       f"got {self.deploy!r}"))
        return problems


@dataclass
class Study:
    """The checked [study]: its settings and the space every method searches by default."""

    settings: StudySettings
    space: dict = field(default_factory=dict)  # key -> list or distribution, as written

    def space_table(self, method_space: dict, entry_space: dict) -> dict:
        """The search table (bench/suite/sweeps.py) of one method entry."""
        settings = self.settings
        return {"search": settings.search, "trials": settings.trials,
                "search_seed": settings.search_seed,
                **method_space, **self.space, **entry_space}

    def method_sweep(self, method_space: dict, entry_space: dict, where: str) -> Sweep:
        return parse_sweep(self.space_table(method_space, entry_space), where, "study")


def split_study_table(table: dict) -> tuple[dict, dict]:
    """The [study] table as (settings, searched space)."""
    return ({k: v for k, v in table.items() if k in STUDY_SETTINGS},
            {k: v for k, v in table.items() if k not in STUDY_SETTINGS})


@dataclass
class StudyUnit:
    """One (model, dataset, method entry) of a study: its trial cells, and per trial the seed
    cells that repeat it were it chosen (they share ids across trials, `<key>--seed<N>`: the
    configuration key tells them apart)."""

    key: str  # <model>--<method entry>--<dataset>
    trials: list[Cell]
    seed_cells: list[list[Cell]]  # seed_cells[i]: trial i + 1 repeated with each seed

    def seeds_of(self, trial: int) -> list[Cell]:
        return self.seed_cells[trial - 1]


@dataclass
class StudyPlan:
    """A suite's study, ready to run: its settings and its units."""

    settings: StudySettings
    units: list[StudyUnit]

    def trial_cells(self) -> list[Cell]:
        return [cell for unit in self.units for cell in unit.trials]

    def every_seed_cell(self) -> list[Cell]:
        """The seed cells of every possible choice (checks and `--only` look at them)."""
        return [cell for unit in self.units for cells in unit.seed_cells for cell in cells]

    def seed_cells_to_come(self) -> list[Cell]:
        """One cell per seed-cell id, as the cost preview prices them before any choice (the
        last trial's values stand in for the chosen ones). With deploy = "chosen" only one
        seed per (model, dataset) keeps its [deploy] stage: which one, the seeds will tell."""
        cells = list({cell.id: cell for cell in self.every_seed_cell()}.values())
        if self.settings.deploy != DEPLOY_CHOSEN:
            return cells
        deploying, out = set(), []
        for cell in cells:
            where = (cell.model.name, cell.dataset.name)
            if cell.deploy is not None and where not in deploying:
                deploying.add(where)
                out.append(cell)
            else:
                out.append(replace(cell, deploy=None))
        return out
