"""The shapes the data layer passes around: what a source read (RawData), the cleaned rows in
between (Row), and what comes out (PreparedData of three Splits); and its one kind of error."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench.errors import BenchInputError
from bench.specs import DatasetSpec
from bench.task import TaskInfo

SPLITS = ("train", "validation", "test")


@dataclass
class RawData:
    """What a source read, row by row, before any cleaning."""

    texts: list
    labels: list  # str/int per row, or a list of them per row (multi-label); None: unlabelled
    text_pairs: list | None = None
    splits: list[str] | None = None  # "train"/"validation"/"test" per row: the dataset's own
    notes: str = ""  # provenance and licence, shown in reports
    label_names: list[str] | None = None  # the source's own class order (e.g. hf ClassLabel)
    confidence: list[float] | None = None  # annotator agreement per row, for spec.min_confidence


DatasetSource = Callable[[DatasetSpec, Path], RawData]


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
class Row:
    text: str
    pair: str | None
    label: str | tuple[str, ...]  # multi-label: sorted tuple of names
    split: str | None


def input_error(spec: DatasetSpec, message: str) -> BenchInputError:
    return BenchInputError(f"dataset {spec.name!r}: {message}")
