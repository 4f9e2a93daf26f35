"""Prompt tuning: learnt embeddings of a few virtual tokens put before every input; the model
stays frozen but for the head (peft PromptTuningConfig). Does not merge: deployment runs the
PeftModel itself (the virtual tokens are part of every forward)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bench.table_checks import AT_LEAST_ONE
from bench.methods._peft_common import AdapterMethod

if TYPE_CHECKING:
    import torch.nn as nn
    from peft import PromptTuningConfig


@dataclass
class PromptTuningParams:
    """virtual_tokens: how many learnt embeddings go first; init "random" or "sample_vocab"
    (embeddings of random vocabulary tokens)."""

    virtual_tokens: int = 20
    init: Literal["random", "sample_vocab"] = "random"

    ranges: ClassVar[dict] = {"virtual_tokens": AT_LEAST_ONE}


def last_token_problems(module_names: list[str], key: str, method: str) -> list[tuple[str, str]]:
    """Decoder classifiers (GPT-2, Llama...: a head called "score") find the last real token
    from input_ids, which peft's prompt learning replaces by embeddings: they would read a pad
    position of padded rows, so predictions would depend on the batch."""
    if any(name == "score" for name in module_names):
        return [(key, f"{method} does not work with decoder classifiers (a 'score' head, e.g. "
                      "GPT-2): they find each row's last token from input_ids, which prompt "
                      "learning replaces by embeddings, so padded rows would read a pad token")]
    return []


class PromptLearningMethod(AdapterMethod):
    """Virtual tokens (prompt and prefix tuning): nothing to merge."""

    merges: ClassVar[bool] = False
    module_keys: ClassVar[tuple[str, ...]] = ()

    def merge_for_deployment(self, model: nn.Module) -> nn.Module:
        return model.float().eval()


class PromptTuning(PromptLearningMethod):
    name = "prompt_tuning"
    # a few virtual-token embeddings: higher rates (an earlier search on the movie snippets
    # chose 8.9e-2)
    study_space = {"learning_rate": {"log_uniform": [1e-2, 2e-1]}}
    Params = PromptTuningParams

    def model_problems(self, params: Any, module_names: list[str],
                       module_types: dict[str, str] | None = None) -> list[tuple[str, str]]:
        return last_token_problems(module_names, "virtual_tokens", "prompt tuning")

    def adapter_config(self, params: PromptTuningParams, heads: list[str]) -> PromptTuningConfig:
        from peft import PromptTuningConfig, PromptTuningInit, TaskType

        return PromptTuningConfig(task_type=TaskType.SEQ_CLS,
                                  num_virtual_tokens=params.virtual_tokens,
                                  prompt_tuning_init=PromptTuningInit[params.init.upper()],
                                  modules_to_save=heads)
