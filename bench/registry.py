"""Name -> plugin registries: fine-tuning methods, compressions, quantize recipes, dataset
sources and inference backends.

Every plugin is listed here by name with where it lives ("module:attribute"), so that names
are known without importing anything: `bench ls` and the suite checks read names, and `get`
imports one plugin module when it is needed. Adding a plugin is one new module plus its line
here (tests/test_registry.py fails when a plugin module is not listed, a line points
nowhere, or a plugin imports a heavy library at import time).
"""
from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING, Generic, TypeVar

from bench.errors import BenchInputError

if TYPE_CHECKING:
    from bench.plugins import (Backend, Compression, DatasetSource, FineTuneMethod,
                               QuantizeRecipe)

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, entries: dict[str, str]) -> None:
        self.kind = kind
        self._entries = entries  # name -> "module:attribute"

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def location(self, name: str) -> str:
        return self._entries[name]

    def get(self, name: str) -> T:
        """The plugin called `name` (importing its module), or BenchInputError naming the
        known ones."""
        if name not in self._entries:
            raise BenchInputError(unknown_name_message(self.kind, name, self.names()))
        module, attribute = self._entries[name].split(":")
        return getattr(importlib.import_module(module), attribute)


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1)
    maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"unknown {kind} {name!r}{maybe}; known: {', '.join(known) or 'none'}"


METHODS: Registry[type[FineTuneMethod]] = Registry("method", {
    "adalora": "bench.methods.adalora:AdaLoRA",
    "bitfit": "bench.methods.bitfit:BitFit",
    "dora": "bench.methods.dora:DoRA",
    "full": "bench.methods.full:FullFineTuning",
    "ia3": "bench.methods.ia3:IA3",
    "loha": "bench.methods.loha:LoHa",
    "lokr": "bench.methods.lokr:LoKr",
    "lora": "bench.methods.lora:LoRA",
    "oft": "bench.methods.oft:OFT",
    "prefix_tuning": "bench.methods.prefix_tuning:PrefixTuning",
    "prompt_tuning": "bench.methods.prompt_tuning:PromptTuning",
    "qlora": "bench.methods.qlora:QLoRA",
    "vera": "bench.methods.vera:VeRA",
})

COMPRESSIONS: Registry[type[Compression]] = Registry("compression", {
    "bf16": "bench.compressions.bf16:Bfloat16",
    "int8": "bench.compressions.quantize:DynamicInt8",
    "prune": "bench.compressions.prune:StructuredPrune",
    "qat": "bench.compressions.qat:QuantizationAwareTraining",
})

# "<compression>/<backend>": how that compression quantizes in that backend's runtime. A pair
# not listed is a variant skipped with the reason "no recipe".
QUANTIZE_RECIPES: Registry[QuantizeRecipe] = Registry("quantize recipe", {
    "bf16/torch": "bench.compressions.bf16:torch_recipe",
    "bf16/openvino": "bench.backends.openvino_backend:bf16_recipe",  # a compile hint
    "int8/torch": "bench.compressions.quantize:torch_recipe",
    "int8/onnxruntime": "bench.compressions.quantize:onnxruntime_recipe",
    "int8/onnxruntime-fused": "bench.compressions.quantize:onnxruntime_recipe",  # typed fused file
    "int8/openvino": "bench.backends.openvino_backend:int8_recipe",  # NNCF, calibrated
    "qat/torch": "bench.compressions.qat:torch_recipe",
    "qat/onnxruntime": "bench.compressions.qat:onnxruntime_recipe",
    "qat/onnxruntime-fused": "bench.compressions.qat:onnxruntime_recipe",
})

BACKENDS: Registry[type[Backend]] = Registry("backend", {
    "onnxruntime": "bench.backends.onnxruntime_backend:OnnxRuntimeBackend",
    "onnxruntime-fused": "bench.backends.onnxruntime_fused:OnnxRuntimeFusedBackend",
    "openvino": "bench.backends.openvino_backend:OpenVinoBackend",
    "torch": "bench.backends.torch_backend:TorchBackend",
})

DATASET_SOURCES: Registry[DatasetSource] = Registry("dataset source", {
    "bbc": "bench.datasets.bbc:load",
    "csv": "bench.datasets.files:load_csv",
    "hf": "bench.datasets.hf:load",
    "jsonl": "bench.datasets.files:load_jsonl",
    "parquet": "bench.datasets.files:load_parquet",
    "rotten_tomatoes": "bench.datasets.rotten_tomatoes:load",
    "tweets": "bench.datasets.tweets:load",
})


def quantize_recipe(compression: str, backend: str) -> QuantizeRecipe:
    """The recipe for the pair, or VariantSkipped saying there is none (and which exist)."""
    from bench.errors import VariantSkipped

    key = f"{compression}/{backend}"
    if key not in QUANTIZE_RECIPES:
        known = [name for name in QUANTIZE_RECIPES.names() if name.startswith(compression + "/")]
        raise VariantSkipped(f"{compression} has no recipe for the {backend} backend "
                             f"(it has: {', '.join(known) or 'none'})")
    return QUANTIZE_RECIPES.get(key)


