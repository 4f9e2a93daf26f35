"""VeRA: one pair of frozen random low-rank projections shared by every adapted layer; only
two scaling vectors per layer train (peft VeraConfig). The projections are saved with the
adapter (save_projection), so a reload does not depend on the random generator. Merges."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.table_checks import AT_LEAST_ONE, FRACTION, POSITIVE, SEED
from bench.methods._peft_common import AdapterMethod, empty_module_lists

if TYPE_CHECKING:
    from peft import VeraConfig


@dataclass
class VeraParams:
    """r: rank of the shared projections (large: they do not train); d_initial: initial value
    of the per-rank scaling vector. target_modules None: BERT query/value, GPT-2 c_attn."""

    r: int = 256
    dropout: float = 0.0
    d_initial: float = 0.1
    projection_seed: int = 0
    target_modules: list[str] | None = None

    ranges: ClassVar[dict] = {"r": AT_LEAST_ONE, "dropout": FRACTION, "d_initial": POSITIVE,
                              "projection_seed": SEED}

    def field_problems(self) -> list[tuple[str, str]]:
        return empty_module_lists(self, ("target_modules",))


class VeRA(AdapterMethod):
    name = "vera"
    Params = VeraParams

    def adapter_config(self, params: VeraParams, heads: list[str]) -> VeraConfig:
        from peft import TaskType, VeraConfig

        return VeraConfig(task_type=TaskType.SEQ_CLS, r=params.r, vera_dropout=params.dropout,
                          d_initial=params.d_initial, projection_prng_key=params.projection_seed,
                          save_projection=True, target_modules=params.target_modules,
                          modules_to_save=heads)
