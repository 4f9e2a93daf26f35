"""Runs each compression chain's PyTorch transforms once per deployment run (the plugin
interface, `Compression`, is in bench/plugins.py; bench/stages/variants.py says how chains run)."""
from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from bench.plugins import Compression, CompressionContext

if TYPE_CHECKING:
    import torch.nn as nn


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
