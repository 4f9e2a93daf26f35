"""LoHa: each update is the Hadamard product of two low-rank products (peft LoHaConfig); more
expressive than LoRA at the same rank, twice its trainable weights. Merges."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.table_checks import AT_LEAST_ONE, FRACTION, POSITIVE
from bench.methods._peft_common import AdapterMethod, empty_module_lists

if TYPE_CHECKING:
    from peft import LoHaConfig


@dataclass
class LycorisParams:
    """LoHa's and LoKr's keys. target_modules None: peft's default for the architecture (BERT
    query/value, GPT-2 c_attn)."""

    r: int = 8
    alpha: int = 8
    rank_dropout: float = 0.0
    module_dropout: float = 0.0
    target_modules: list[str] | None = None

    ranges: ClassVar[dict] = {"r": AT_LEAST_ONE, "alpha": POSITIVE, "rank_dropout": FRACTION,
                              "module_dropout": FRACTION}

    def field_problems(self) -> list[tuple[str, str]]:
        return empty_module_lists(self, ("target_modules",))


class LoHa(AdapterMethod):
    name = "loha"
    Params = LycorisParams
    unsupported_layers: ClassVar[tuple[str, ...]] = ("Conv1D",)

    def adapter_config(self, params: LycorisParams, heads: list[str]) -> LoHaConfig:
        from peft import LoHaConfig

        return lycoris_config(LoHaConfig, params, heads)


def lycoris_config(config_class: type, params: LycorisParams, heads: list[str]) -> Any:
    """LoHa's and LoKr's configs take the same keys (peft's LyCORIS family)."""
    from peft import TaskType

    return config_class(task_type=TaskType.SEQ_CLS, r=params.r, alpha=params.alpha,
                        rank_dropout=params.rank_dropout, module_dropout=params.module_dropout,
                        target_modules=params.target_modules, modules_to_save=heads)
