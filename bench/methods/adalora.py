"""AdaLoRA: LoRA in SVD form whose rank budget is reallocated during training, from `init_r`
per layer down to an average of `target_r`, to the layers that matter most (peft
AdaLoraConfig). It needs a hook into training: after every optimizer step, before the
gradients are zeroed, `update_and_allocate(step)` scores and masks the ranks
(`training_callbacks`); its schedule spans the cell's real number of optimizer steps. Merges."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.table_checks import AT_LEAST_ONE, FRACTION, POSITIVE
from bench.methods._peft_common import AdapterMethod, empty_module_lists

if TYPE_CHECKING:
    from pathlib import Path

    import torch.nn as nn
    from peft import AdaLoraConfig, PeftModel

    from bench.specs import ModelSpec
    from bench.task import TaskInfo

PLACEHOLDER_STEPS = 1000  # peft wants total_step when the model is built; the real one is set
                          # by training_callbacks before training starts


@dataclass
class AdaLoraParams:
    """init_r: starting rank per layer; target_r: average rank kept at the end. The schedule,
    as fractions of the optimizer steps: ranks are kept during the first `warmup_fraction`,
    pruned down to the budget until the last `final_fraction`, then frozen. target_modules
    None: BERT query/value, GPT-2 c_attn."""

    init_r: int = 12
    target_r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    warmup_fraction: float = 0.1
    final_fraction: float = 0.2
    reallocate_every: int = 1  # optimizer steps between two rank reallocations
    orth_reg_weight: float = 0.5
    target_modules: list[str] | None = None

    ranges: ClassVar[dict] = {"init_r": AT_LEAST_ONE, "target_r": AT_LEAST_ONE,
                              "alpha": POSITIVE, "dropout": FRACTION,
                              "warmup_fraction": FRACTION, "final_fraction": FRACTION,
                              "reallocate_every": AT_LEAST_ONE}

    def field_problems(self) -> list[tuple[str, str]]:
        problems = empty_module_lists(self, ("target_modules",))
        if self.target_r > self.init_r:
            problems.append(("target_r", f"expected at most init_r ({self.init_r}): the budget "
                                         "only shrinks"))
        if self.warmup_fraction + self.final_fraction >= 1:
            problems.append(("final_fraction", "warmup_fraction + final_fraction must stay "
                                               "below 1: no steps would be left to reallocate"))
        return problems


def schedule(params: AdaLoraParams, total_steps: int) -> dict[str, int]:
    """peft's tinit/tfinal/total_step for `total_steps` optimizer steps (it needs
    tinit < total_step - tfinal)."""
    total = max(total_steps, 1)
    tinit = int(params.warmup_fraction * total)
    tfinal = int(params.final_fraction * total)
    if tinit >= total - tfinal:  # very short runs
        tinit, tfinal = 0, 0
    return {"total_step": total, "tinit": tinit, "tfinal": tfinal}


def rank_allocation_callback(model: nn.Module, total_steps: int) -> Any:
    """A TrainerCallback calling update_and_allocate after each optimizer step (transformers
    calls on_optimizer_step after optimizer.step() and before zero_grad, with
    state.global_step the 0-based index of that step); on_train_begin sets the schedule from
    the Trainer's own step count."""
    from transformers import TrainerCallback

    config = model.peft_config[model.active_adapter]  # the rank allocator reads this object
    fractions = AdaLoraParams(warmup_fraction=config.tinit / config.total_step,
                              final_fraction=config.tfinal / config.total_step)

    def set_steps(steps: int) -> None:
        for key, value in schedule(fractions, steps).items():
            setattr(config, key, value)

    class RankAllocation(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if state.max_steps:
                set_steps(state.max_steps)

        def on_optimizer_step(self, args, state, control, **kwargs):
            model.base_model.update_and_allocate(state.global_step)

    set_steps(total_steps)
    return RankAllocation()


class AdaLoRA(AdapterMethod):
    name = "adalora"
    Params = AdaLoraParams

    def adapter_config(self, params: AdaLoraParams, heads: list[str]) -> AdaLoraConfig:
        from peft import AdaLoraConfig, TaskType

        return AdaLoraConfig(task_type=TaskType.SEQ_CLS, init_r=params.init_r,
                             target_r=params.target_r, lora_alpha=params.alpha,
                             lora_dropout=params.dropout, deltaT=params.reallocate_every,
                             orth_reg_weight=params.orth_reg_weight,
                             target_modules=params.target_modules, modules_to_save=heads,
                             **schedule(params, PLACEHOLDER_STEPS))

    def training_callbacks(self, model: nn.Module, total_steps: int) -> list:
        return [rank_allocation_callback(model, total_steps)]

    def load(self, spec: ModelSpec, task: TaskInfo, params: AdaLoraParams, directory: Path,
             device: str) -> PeftModel:
        """peft 0.21 names the trainable adapter only when it trains, and its forward reads
        that name whenever labels come with the batch (to add the orthogonality loss): a
        reloaded model would fail on a labelled batch without it."""
        model = super().load(spec, task, params, directory, device)
        model.base_model.trainable_adapter_name = model.active_adapter
        return model
