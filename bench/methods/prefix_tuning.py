"""Prefix tuning: learnt key/value vectors of a few virtual tokens in every attention layer
(peft PrefixTuningConfig), the model frozen but for the head. Does not merge: deployment runs
the PeftModel itself."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.table_checks import AT_LEAST_ONE
from bench.methods.prompt_tuning import PromptLearningMethod

if TYPE_CHECKING:
    from peft import PrefixTuningConfig


@dataclass
class PrefixTuningParams:
    """virtual_tokens: prefix length; projection: learn the prefixes through a two-layer MLP
    (more weights to train, often steadier) instead of directly."""

    virtual_tokens: int = 20
    projection: bool = False

    ranges: ClassVar[dict] = {"virtual_tokens": AT_LEAST_ONE}


class PrefixTuning(PromptLearningMethod):
    name = "prefix_tuning"
    Params = PrefixTuningParams

    def adapter_config(self, params: PrefixTuningParams, heads: list[str]) -> PrefixTuningConfig:
        from peft import PrefixTuningConfig, TaskType

        return PrefixTuningConfig(task_type=TaskType.SEQ_CLS,
                                  num_virtual_tokens=params.virtual_tokens,
                                  prefix_projection=params.projection, modules_to_save=heads)
