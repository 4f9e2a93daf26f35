"""The shapes the data layer passes around: the cleaned rows (CleanRow) between what a source
read (bench/plugins.py RawData) and what comes out (PreparedData of three Splits); and its one kind
of error."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.errors import BenchInputError
from bench.specs import DatasetSpec
from bench.task import TaskInfo

SPLITS = ("train", "validation", "test")




@dataclass
class Split:
    texts: list[str]
    labels: list  # class index per row; multi-label: multi-hot list[int] of length num_labels
    text_pairs: list[str] | None = None


@dataclass
class PreparedData:
    train: Split
    validation: Split
    test: Split
    task: TaskInfo
    info: dict = field(default_factory=dict)  # JSON-serialisable description for result files

    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


@dataclass(frozen=True, slots=True)
class CleanRow:
    text: str
    pair: str | None
    label: str | tuple[str, ...]  # multi-label: sorted tuple of names
    split: str | None


def input_error(spec: DatasetSpec, message: str) -> BenchInputError:
    return BenchInputError(f"dataset {spec.name!r}: {message}")
