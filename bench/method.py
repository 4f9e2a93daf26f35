"""The interfaces that fine-tuning methods and compressions implement (one module each in
methods/, registered with `@METHODS.register(name)` / `@COMPRESSIONS.register(name)`).

A method is a config class (`Params`, a dataclass whose fields are the suite keys) plus the
code that builds, saves, reloads and merges a model for it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch.nn as nn

from bench.specs import ModelSpec
from bench.task import TaskInfo  # defined in bench.task (no torch); re-exported here


@dataclass
class NoParams:
    """For methods without parameters of their own (full fine-tuning)."""


class FineTuneMethod(ABC):
    """How to turn a pretrained model into something `transformers.Trainer` can fine-tune."""

    name: ClassVar[str]
    Params: ClassVar[type] = NoParams

    def check_available(self, device: str) -> None:
        """Raise BenchInputError when this method cannot run here (e.g. a missing package)."""

    def model_problems(self, params: Any, module_names: list[str]) -> list[tuple[str, str]]:
        """(key, what is wrong) for parameters that do not fit the model, whose module names
        (from a weightless skeleton) are given: checked before any cell runs."""
        return []

    @abstractmethod
    def build(self, model_spec: ModelSpec, task: TaskInfo, params: Any, device: str) -> nn.Module:
        """Load the base model for `task` and prepare it for training on `device`."""

    @abstractmethod
    def save(self, model: nn.Module, directory: Path) -> None:
        """Save what was trained (adapter + trained head, or the whole model) to `directory`."""

    @abstractmethod
    def load(self, model_spec: ModelSpec, task: TaskInfo, params: Any, directory: Path,
             device: str) -> nn.Module:
        """Reload what `save` wrote, ready for inference."""

    @abstractmethod
    def merge_for_deployment(self, model: nn.Module) -> nn.Module:
        """A plain fp32 transformers model with the adapter folded in (may change `model`:
        call `save` first)."""
