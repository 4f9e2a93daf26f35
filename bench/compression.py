"""The compression plugin interface (a `Compression` registered per name in methods/) and
the cache that runs each chain's PyTorch transforms once per deployment run.

A compression step either changes the fp32 model in PyTorch (`transform`: pruning, QAT
training), or quantizes it in each backend's own runtime (`quantizer`), or both; bench.deploy
says how chains of steps run.
"""
from __future__ import annotations

import copy
import time
from abc import ABC
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import torch
import torch.nn as nn

from bench.backends import Quantizer

if TYPE_CHECKING:
    from bench.trainer import CellTrainer


@dataclass
class CompressionContext:
    trainer: CellTrainer | None  # the cell's training (train_more), None where not available
    example: dict[str, torch.Tensor]  # a real input batch on the model's device, for tracing
    device: str
    progress: Callable[[str], None] = lambda text: None


class Compression(ABC):
    """A config class (`Params`) plus the code of one compression step (chain semantics: see
    bench.deploy)."""

    name: ClassVar[str]
    Params: ClassVar[type]
    changes_model: ClassVar[bool] = False  # has a PyTorch `transform`
    quantizes: ClassVar[bool] = False  # supplies a Quantizer: must end its chain

    def check(self, params: Any, backend: str, device: str, can_finetune: bool) -> None:
        """Raise VariantSkipped when this step cannot run here, before any work is done."""

    def transform(self, model: nn.Module, params: Any,
                  context: CompressionContext) -> tuple[nn.Module, dict]:
        """Change this private fp32 copy of the model in PyTorch (only called when
        `changes_model`); return the model and what to record about the step."""
        return model, {}

    def quantizer(self, params: Any, backend: str) -> Quantizer | None:
        return None


def make_trainable(model: nn.Module) -> nn.Module:
    """A merged adapter model comes back frozen; recovery and QAT train every weight."""
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model.train()


class CompressedModels:
    """Runs each chain's PyTorch transforms once and shares the result (or the failure)
    across backends and across chains with the same prefix (prune / prune+int8)."""

    def __init__(self, model: nn.Module, params: dict[str, Any], context: CompressionContext,
                 compressions: dict[str, Compression]) -> None:
        self.params = params
        self.context = context
        self.compressions = compressions
        self._cache: dict[tuple[str, ...], tuple[nn.Module, dict] | Exception] = {(): (model, {})}

    def get(self, chain: list[str]) -> tuple[nn.Module, dict]:
        """The fp32 PyTorch model of `chain` and the info of each transform step."""
        entry = self._entry(tuple(n for n in chain if self.compressions[n].changes_model))
        if isinstance(entry, Exception):
            raise entry
        return entry

    def _entry(self, key: tuple[str, ...]) -> tuple[nn.Module, dict] | Exception:
        if key not in self._cache:
            parent = self._entry(key[:-1])
            self._cache[key] = parent if isinstance(parent, Exception) else self._apply(parent, key)
        return self._cache[key]

    def _apply(self, parent: tuple[nn.Module, dict],
               key: tuple[str, ...]) -> tuple[nn.Module, dict] | Exception:
        model, info = parent
        name = key[-1]
        self.context.progress(f"compress {'+'.join(key)}")
        start = time.perf_counter()
        try:
            model, step = self.compressions[name].transform(copy.deepcopy(model),
                                                             self.params[name], self.context)
        except Exception as error:  # recorded by every variant that needs this step
            return error
        step["seconds"] = round(time.perf_counter() - start, 3)
        return model.eval(), {**info, name: step}
