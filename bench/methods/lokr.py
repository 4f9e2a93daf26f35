"""LoKr: each update is a Kronecker product of a small full matrix and a low-rank one (peft
LoKrConfig); LoHa's keys. Merges."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from bench.methods._peft_common import AdapterMethod
from bench.methods.loha import LycorisParams, lycoris_config

if TYPE_CHECKING:
    from peft import LoKrConfig


class LoKr(AdapterMethod):
    name = "lokr"
    Params = LycorisParams
    unsupported_layers: ClassVar[tuple[str, ...]] = ("Conv1D",)

    def adapter_config(self, params: LycorisParams, heads: list[str]) -> LoKrConfig:
        from peft import LoKrConfig

        return lycoris_config(LoKrConfig, params, heads)
