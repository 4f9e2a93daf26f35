"""What a classification task is, as the data defines it: the label names and whether an
example may carry several labels. Light (no torch): the data layer and the plugins share it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TaskInfo:
    label_names: list[str]
    multi_label: bool = False

    @property
    def num_labels(self) -> int:
        return len(self.label_names)
