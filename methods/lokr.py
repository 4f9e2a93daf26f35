"""LoKr: each update is a Kronecker product of a small full matrix and a low-rank one (peft
LoKrConfig); LoHa's keys. Merges."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from methods._peft_common import AdapterMethod
from methods.loha import LycorisParams

if TYPE_CHECKING:
    from peft import LoKrConfig


class LoKr(AdapterMethod):
    name = "lokr"
    Params = LycorisParams
    unsupported_layers: ClassVar[tuple[str, ...]] = ("Conv1D",)

    def adapter_config(self, params: LycorisParams, heads: list[str]) -> LoKrConfig:
        from peft import LoKrConfig, TaskType

        return LoKrConfig(task_type=TaskType.SEQ_CLS, r=params.r, alpha=params.alpha,
                          rank_dropout=params.rank_dropout, module_dropout=params.module_dropout,
                          target_modules=params.target_modules, modules_to_save=heads)
