"""Cells that differ only by their seed form one group: the report states a group's mean, its
spread and interval over seeds, or the single run's own bootstrap interval, or says that there
is none."""
from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean

from bench.record import CellRecord
from bench.report.format import NO_INTERVAL, num
from bench.record.rows import CellRow, cell_row


@dataclass
class Score:
    mean: float | None
    low: float | None = None
    high: float | None = None
    n: int = 1
    std: float | None = None

    def text(self, digits: int = 4) -> str:
        if self.mean is None:
            return "–"
        spread = (f"[{self.low:.{digits}f}, {self.high:.{digits}f}]"
                  if self.low is not None and self.high is not None else "")
        if self.n > 1:
            return (f"{self.mean:.{digits}f} ± {num(self.std, digits)} over {self.n} seeds"
                    + (f", 95% interval {spread}" if spread else ""))
        return f"{self.mean:.{digits}f} " + (f"(95% bootstrap {spread})" if spread
                                             else f"({NO_INTERVAL})")


def score_over(values: list[float | None], single: tuple[float | None, float | None]) -> Score:
    """Seeds: their mean, std and interval (bench/stats/bootstrap.py); one run: its own interval."""
    known = [v for v in values if v is not None]
    if not known:
        return Score(None)
    if len(known) == 1:
        return Score(known[0], single[0], single[1])
    from bench.stats.bootstrap import summarize_seeds

    summary = summarize_seeds(known)
    return Score(summary.mean, summary.low, summary.high, summary.n, summary.std)


@dataclass
class MethodGroup:
    """One method entry on one dataset with one setting (a sweep point), over its seeds."""

    name: str
    records: list[CellRecord]
    rows: list[CellRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.records.sort(key=lambda r: (r.seed is None, r.seed or 0))
        self.rows = [cell_row(r) for r in self.records]

    @property
    def first(self) -> CellRow:
        return self.rows[0]

    @property
    def method(self) -> str | None:
        return self.first.method

    @property
    def short_name(self) -> str:
        """The method entry and its swept values: what a plot can label a point with."""
        sweep = ", ".join(f"{k}={v}" for k, v in self.first.sweep.items())
        return f"{self.method} ({sweep})" if sweep else str(self.method)

    @property
    def f1(self) -> Score:
        return score_over([r.f1_macro for r in self.rows],
                          (self.first.f1_macro_low, self.first.f1_macro_high))

    @property
    def accuracy(self) -> Score:
        return score_over([r.accuracy for r in self.rows],
                          (self.first.accuracy_low, self.first.accuracy_high))

    @property
    def validation_f1(self) -> float | None:
        return average([r.validation_f1_macro for r in self.rows])

    @property
    def validation_accuracy(self) -> float | None:
        return average([r.validation_accuracy for r in self.rows])

    @property
    def trainable_params(self) -> int | None:
        return self.first.trainable_params

    @property
    def train_runtime_s(self) -> float | None:
        return average([r.train_runtime_s for r in self.rows])

    @property
    def train_peak_memory_mb(self) -> float | None:
        return average([r.train_peak_memory_mb for r in self.rows])

    @property
    def may_not_have_converged(self) -> bool:
        return any(r.may_not_have_converged for r in self.rows)

    def cost(self) -> tuple:
        """Cheaper first: fewer trainable parameters, then less training time and memory."""
        return tuple(float("inf") if v is None else v for v in
                     (self.trainable_params, self.train_runtime_s, self.train_peak_memory_mb))


def average(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return mean(known) if known else None


def group_cells(records: list[CellRecord]) -> list[MethodGroup]:
    """Finished cells by seed group, in the order of their first cell id."""
    groups: dict[str, list[CellRecord]] = {}
    for record in records:
        if record.ok:
            groups.setdefault(record.group, []).append(record)
    return [MethodGroup(members[0].label.replace(members[0].cell_id, key), members)
            for key, members in groups.items()]
