"""The report's section on a suite's [study] (bench/suite/study.py): per model, dataset and method
entry, every trial with its drawn values and validation scores and the chosen one marked. Trials
have no test scores and take no part in the answer or the method comparisons, which read only
the seed cells of the chosen trials."""
from __future__ import annotations

from bench.record import CellRecord
from bench.record.study import TrialScore
from bench.stats.study_choice import choose, scored_metrics
from bench.report.document import Heading, Table, Text
from bench.report.format import num, setting, values_label


def split_trials(records: list[CellRecord]) -> tuple[list[CellRecord], list[CellRecord]]:
    """(the study's trial records, every other record)."""
    return ([r for r in records if r.config.is_trial],
            [r for r in records if not r.config.is_trial])


def study_blocks(trials: list[CellRecord], metric: str = "f1_macro") -> list:
    """The choice of each unit, made again from the trial records at hand with the run's own
    rule (bench/stats/study_choice.py `choose`): the table and study.json cannot disagree."""
    units: dict[str, list[TrialScore]] = {}
    for record in trials:
        unit = record.cell_id.rsplit("--trial", 1)[0]
        units.setdefault(unit, []).append(TrialScore.of_record(
            record.config.study["index"], record.cell_id, record.config.sweep, record,
            scored_metrics(metric)))
    blocks: list = [Heading(2, "Tuning study (validation only)"),
                    Text(f"Every method had the same trials, chosen on validation {metric}; "
                         "only the chosen trial's seed cells score the test split and appear "
                         "above.")]
    metrics = list(dict.fromkeys((metric, "f1_macro", "accuracy")))
    for unit, scores in sorted(units.items()):
        choice = choose(unit, sorted(scores, key=lambda s: s.trial), metric)
        blocks += [Text(f"**{unit}**: {choice.reason}"), Table(
            ["trial", "values", *[f"validation {m}" for m in metrics], "best epoch / run",
             "chosen"],
            [[str(s.trial), values_label({k: setting(v) for k, v in s.values.items()}),
              *[num(s.validation.get(m)) for m in metrics],
              f"{num(s.best_epoch, 0)} / {num(s.epochs_run, 0)}", chosen_mark(s, choice.chosen)]
             for s in choice.trials])]
    return blocks


def chosen_mark(score: TrialScore, chosen: int | None) -> str:
    if score.trial == chosen:
        return "**chosen**"
    return f"failed: {score.error}" if score.status == "failed" else ""
