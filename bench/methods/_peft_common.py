"""What every peft method shares (`AdapterMethod`: all methods but full and bitfit; prompt and
prefix tuning through prompt_tuning.py's PromptLearningMethod): wrap a base classifier with a
peft config, save the adapter together with the trained head, reload both onto a fresh base,
merge; and what the LoRA family (LoRA, DoRA, QLoRA: `LoraFamily`) shares: its keys and config.

The classification head is new, so it is always trained and saved with the adapter
(`modules_to_save`); it is named from the model (`classifier_head_names`) rather than left to
peft's default ("classifier", "score"), which misses heads such as DistilBERT's pre_classifier.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bench.plugins import FineTuneMethod
from bench.table_checks import AT_LEAST_ONE, FRACTION, POSITIVE

if TYPE_CHECKING:
    import torch.nn as nn
    from peft import LoraConfig, PeftConfig, PeftModel
    from transformers import PreTrainedModel

    from bench.specs import ModelSpec
    from bench.task import TaskInfo


@dataclass
class LoraParams:
    """LoRA's suite keys. target_modules None: peft's default for the architecture (BERT
    query/value, GPT-2 c_attn)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    bias: Literal["none", "all", "lora_only"] = "none"
    target_modules: list[str] | None = None
    # alpha = alpha_per_r * r (overrides alpha): a rank sweep then keeps the update's scale
    # alpha / r fixed instead of shrinking it as r grows; the record shows the alpha used
    alpha_per_r: float | None = None
    use_rslora: bool = False  # rsLoRA: scale the update by alpha / sqrt(r) instead of alpha / r
    # the adapter's initialisation: "default" (B = 0: the model starts as the base), "pissa"
    # (A, B from the weight's top singular vectors, removed from the base weight) or "olora"
    # (from its QR decomposition, likewise): both change the base weights; peft reruns the same
    # initialisation on the original base when the adapter is reloaded, so reload and merge
    # give the trained logits back (tests/test_methods.py)
    init: Literal["default", "pissa", "olora"] = "default"

    def __post_init__(self) -> None:
        if self.alpha_per_r is not None:
            self.alpha = max(1, round(self.alpha_per_r * self.r))

    ranges: ClassVar[dict] = {"r": AT_LEAST_ONE, "alpha": POSITIVE, "dropout": FRACTION}

    def field_problems(self) -> list[tuple[str, str]]:
        return empty_module_lists(self, ("target_modules",))


def empty_module_lists(params: Any, keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """An empty list of module names adapts nothing; leaving the key out takes the default."""
    return [(key, "expected module names, or no key for the architecture's default")
            for key in keys if getattr(params, key) == []]


def module_matches(name: str, pattern: str) -> bool:
    """peft's rule for a list of target names: the full name, or its ending after a dot."""
    return name == pattern or name.endswith("." + pattern)


def lora_config(params: LoraParams, heads: list[str], use_dora: bool = False) -> LoraConfig:
    from peft import LoraConfig, TaskType

    return LoraConfig(task_type=TaskType.SEQ_CLS, r=params.r, lora_alpha=params.alpha,
                      lora_dropout=params.dropout, bias=params.bias,
                      target_modules=params.target_modules, modules_to_save=heads,
                      use_rslora=params.use_rslora, use_dora=use_dora,
                      init_lora_weights=True if params.init == "default" else params.init)


class AdapterMethod(FineTuneMethod):
    """A peft adapter on a frozen base; subclasses say which adapter and how the base loads."""

    module_keys: ClassVar[tuple[str, ...]] = ("target_modules",)  # Params keys naming modules
    # layer classes peft cannot adapt with this method (LoHa, LoKr, OFT: GPT-2's Conv1D)
    unsupported_layers: ClassVar[tuple[str, ...]] = ()

    def model_problems(self, params: Any, module_names: list[str],
                       module_types: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """Each named module must be one of the model's layers (`module_names`): peft would
        fail on a name that matches nothing, but only once the model is loaded."""
        endings = sorted({name.rsplit(".", 1)[-1] for name in module_names if name})
        problems = []
        for key in self.module_keys:
            missing = [pattern for pattern in getattr(params, key) or []
                       if not any(module_matches(name, pattern) for name in module_names)]
            if missing:
                problems.append((key, f"{', '.join(map(repr, missing))} match(es) no layer of "
                                      f"the model; its layer names end in: {', '.join(endings)}"))
        return problems + self.layer_type_problems(params, module_types or {})

    def unsupported_layer_classes(self, params: Any) -> list[tuple[str, tuple[str, ...], str]]:
        """(key, layer classes, why) for the layer classes this method cannot adapt with
        `params`."""
        if not self.unsupported_layers:
            return []
        return [("target_modules", self.unsupported_layers,
                 f"{self.name} cannot adapt them (peft supports Linear and convolutions only); "
                 "use lora, dora, ia3 or vera for this model")]

    def layer_type_problems(self, params: Any, module_types: dict[str, str]) -> list[tuple[str, str]]:
        """Targeted layers of a class the method cannot adapt. With the default targets
        (None), any such layer counts: the models that have them (GPT-2's Conv1D) are the ones
        whose default targets are of that class."""
        patterns = getattr(params, "target_modules", None)
        problems = []
        for key, classes, why in self.unsupported_layer_classes(params):
            bad = sorted({kind for name, kind in module_types.items()
                          if kind in classes and (patterns is None or any(
                              module_matches(name, pattern) for pattern in patterns))})
            if bad:
                problems.append((key, f"the targeted layers of this model are {'/'.join(bad)} "
                                      f"(GPT-2 style): {why}"))
        return problems

    @abstractmethod
    def adapter_config(self, params: Any, heads: list[str]) -> PeftConfig:
        """The peft config for `params`; `heads` are the modules to train and save in full."""

    def load_base(self, spec: ModelSpec, task: TaskInfo, params: Any, device: str) -> PreTrainedModel:
        from bench.models.loading import load_classifier

        return load_classifier(spec, task).to(device)

    def build(self, spec: ModelSpec, task: TaskInfo, params: Any, device: str) -> PeftModel:
        from peft import get_peft_model

        from bench.models.loading import classifier_head_names

        base = self.load_base(spec, task, params, device)
        return get_peft_model(base, self.adapter_config(params, classifier_head_names(base)))

    def save(self, model: nn.Module, directory: Path) -> None:
        model.save_pretrained(directory)  # adapter + head weights (safetensors) + adapter config

    def load(self, spec: ModelSpec, task: TaskInfo, params: Any, directory: Path,
             device: str) -> PeftModel:
        from peft import PeftModel

        base = self.load_base(spec, task, params, device)
        return PeftModel.from_pretrained(base, directory).eval()

    def merge_for_deployment(self, model: nn.Module) -> nn.Module:
        return as_plain_model(model.merge_and_unload())


class LoraFamily(AdapterMethod):
    """LoRA, DoRA, QLoRA: LoraParams and their layer checks."""

    Params = LoraParams

    def unsupported_layer_classes(self, params: LoraParams) -> list[tuple[str, tuple[str, ...], str]]:
        if params.init == "olora":
            return [("init", ("Conv1D",), "peft's OLoRA initialisation does not handle Conv1D "
                                          "(it fails on the transposed weight); use \"pissa\" "
                                          "or \"default\"")]
        return []


def as_plain_model(model: nn.Module) -> nn.Module:
    """fp32 and every weight trainable, like a freshly loaded model: after a merge only the
    head would still require grad, and a later fine-tune (QAT) would silently train nothing else."""
    return model.float().requires_grad_(True)
