"""What a classifier is asked to predict: its classes, and whether a text may have several.

A light module (no torch): the data layer builds a TaskInfo, the models and methods read it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TaskInfo:
    label_names: list[str]
    multi_label: bool = False

    @property
    def num_labels(self) -> int:
        return len(self.label_names)
