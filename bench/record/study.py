"""`<results>/study.json`: what a suite's [study] chose (bench/suite/study.py), per model,
dataset and method entry: every trial with its drawn values and validation scores, the chosen
one and why. It is recomputed from the trial records on every run, so it always says what
the seed cells beside it ran with; it holds no test score (trials have none) and no `cell_id`,
so the record readers pass it over."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.record.base import Part
from bench.record.cell import CellRecord

STUDY_FILE = "study.json"


@dataclass
class TrialScore(Part):
    """One trial: its drawn values and what it scored on validation."""

    trial: int = 0
    cell_id: str = ""
    values: dict = field(default_factory=dict)
    status: str = "missing"  # ok | failed | missing (not run yet, or of another configuration)
    validation: dict[str, float | None] = field(default_factory=dict)
    best_epoch: float | None = None
    epochs_run: float | None = None
    may_not_have_converged: bool | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def of_record(cls, trial: int, cell_id: str, values: dict, record: CellRecord | None,
                  metrics: tuple[str, ...]) -> "TrialScore":
        """`record`: the trial's current result (None: none of this configuration); `metrics`:
        the validation scores a choice looks at (bench/stats/study_choice.py)."""
        if record is None:
            return cls(trial, cell_id, values)
        if not record.ok:
            return cls(trial, cell_id, values, "failed",
                       error=record.error.message if record.error else None)
        validation = record.evaluation.validation
        training = record.training
        return cls(trial, cell_id, values, "ok",
                   {m: validation.score(m) if validation else None
                    for m in dict.fromkeys(metrics)},
                   training.best_epoch if training else None,
                   training.epochs_run if training else None,
                   training.may_not_have_converged if training else None)


@dataclass
class StudyChoice(Part):
    """The choice of one (model, dataset, method entry); `chosen` None: no choice yet."""

    unit: str = ""
    trials: list[TrialScore] = field(default_factory=list)
    chosen: int | None = None
    chosen_values: dict = field(default_factory=dict)
    reason: str = ""
    may_not_have_converged: bool | None = None
    extra: dict = field(default_factory=dict)

    NESTED = {"trials": lambda rows: [TrialScore.from_dict(row) for row in rows]}


@dataclass
class StudyFile(Part):
    suite: str | None = None
    selection_metric: str = "f1_macro"
    trials: int | None = None
    search: str = "random"  # study files written before Halton draws existed drew at random
    search_seed: int | None = None
    trial_seed: int | None = None
    seeds: list[int] = field(default_factory=list)
    choices: list[StudyChoice] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    NESTED = {"choices": lambda rows: [StudyChoice.from_dict(row) for row in rows]}

    def choice_of(self, unit: str) -> StudyChoice | None:
        return next((c for c in self.choices if c.unit == unit), None)


def read_study(folder: Path) -> StudyFile | None:
    """The folder's study.json, None where there is none (or it cannot be read)."""
    import json

    path = Path(folder) / STUDY_FILE
    try:
        return StudyFile.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
