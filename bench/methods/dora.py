"""DoRA: LoRA on the direction of each weight plus a learnt magnitude per output (peft's
use_dora); LoRA's keys. Merges like LoRA."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bench.methods._peft_common import LoraFamily, LoraParams, lora_config

if TYPE_CHECKING:
    from peft import LoraConfig


class DoRA(LoraFamily):
    name = "dora"
    Params = LoraParams

    def adapter_config(self, params: LoraParams, heads: list[str]) -> LoraConfig:
        return lora_config(params, heads, use_dora=True)
