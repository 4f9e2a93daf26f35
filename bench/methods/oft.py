"""OFT: each adapted weight is multiplied by a learnt block-diagonal orthogonal matrix (Cayley
parametrisation; peft OFTConfig), which keeps the angles between its neurons. Merges."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.table_checks import AT_LEAST_ONE, FRACTION
from bench.methods._peft_common import AdapterMethod, empty_module_lists

if TYPE_CHECKING:
    from peft import OFTConfig


@dataclass
class OftParams:
    """block_size: size of each orthogonal block; it must divide the input size of every
    adapted layer (32 fits BERT-style 384/768 and tiny 64). target_modules None: BERT
    query/value, GPT-2 c_attn."""

    block_size: int = 32
    dropout: float = 0.0
    coft: bool = False  # constrained OFT: keep each block near the identity (eps)
    target_modules: list[str] | None = None

    ranges: ClassVar[dict] = {"block_size": AT_LEAST_ONE, "dropout": FRACTION}

    def field_problems(self) -> list[tuple[str, str]]:
        return empty_module_lists(self, ("target_modules",))


class OFT(AdapterMethod):
    name = "oft"
    Params = OftParams
    unsupported_layers: ClassVar[tuple[str, ...]] = ("Conv1D",)

    def adapter_config(self, params: OftParams, heads: list[str]) -> OFTConfig:
        from peft import OFTConfig, TaskType

        return OFTConfig(task_type=TaskType.SEQ_CLS, r=0, oft_block_size=params.block_size,
                         module_dropout=params.dropout, coft=params.coft,
                         target_modules=params.target_modules, modules_to_save=heads)
