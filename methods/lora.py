"""LoRA: low-rank updates of chosen weight matrices, base frozen, head trained in full."""
from __future__ import annotations

from peft import LoraConfig

from bench.registry import METHODS
from methods._peft_common import AdapterMethod, LoraParams, lora_config


class LoRA(AdapterMethod):
    name = "lora"
    Params = LoraParams

    def adapter_config(self, params: LoraParams, heads: list[str]) -> LoraConfig:
        return lora_config(params, heads)


METHODS.register(LoRA.name)(LoRA())
