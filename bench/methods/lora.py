"""LoRA: low-rank updates of chosen weight matrices, base frozen, head trained in full."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bench.methods._peft_common import LoraFamily, LoraParams, lora_config

if TYPE_CHECKING:
    from peft import LoraConfig


class LoRA(LoraFamily):
    name = "lora"
    Params = LoraParams

    def adapter_config(self, params: LoraParams, heads: list[str]) -> LoraConfig:
        return lora_config(params, heads)

