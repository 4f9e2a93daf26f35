"""QLoRA: LoRA on a base whose linear layers are stored as 4-bit NF4 (bitsandbytes), on CUDA
and on CPU.

Two bitsandbytes traps on CPU, both handled here (measured with bitsandbytes 0.50.2):
- the new classifier head must stay out of quantisation (a 4-bit head fails its forward with a
  bare AssertionError): it is named from a weightless skeleton of the model before loading;
- on CPUs with AVX512-BF16 the first eval-mode forward repacks the 4-bit weights, after which
  every training forward fails; repacking is switched off on every 4-bit layer.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bench.errors import BenchInputError
from bench.methods._peft_common import LoraFamily, LoraParams, as_plain_model, lora_config

if TYPE_CHECKING:
    import torch
    import torch.nn as nn
    from peft import LoraConfig
    from transformers import PreTrainedModel

    from bench.specs import ModelSpec
    from bench.task import TaskInfo


@dataclass
class QLoraParams(LoraParams):
    """LoRA's keys plus the quantisation. compute_dtype "auto": float32 on CPU (no fast
    half-precision matmul there), bfloat16 on CUDA (float16 on GPUs without bf16)."""

    double_quant: bool = True
    compute_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"

    def field_problems(self) -> list[tuple[str, str]]:
        problems = super().field_problems()
        if self.init != "default":  # peft refuses: it would decompose the 4-bit weights
            problems.append(("init", f"{self.init!r} needs the unquantised base weights; QLoRA "
                                     "takes \"default\" only (use lora or dora for it)"))
        return problems


def compute_dtype(params: QLoraParams, device: str) -> torch.dtype:
    import torch

    if params.compute_dtype == "auto":
        if device != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, params.compute_dtype)


def keep_4bit_weights_unpacked(model: nn.Module) -> None:
    """Stop bitsandbytes from repacking 4-bit weights for AVX512-BF16 CPUs at the first
    eval-mode forward: a repacked weight breaks every later training forward ("a view of a
    leaf Variable that requires grad..."), and training alternates evaluation and training."""
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False


class QLoRA(LoraFamily):
    name = "qlora"
    Params = QLoraParams

    def check_available(self, device: str) -> None:
        if importlib.util.find_spec("bitsandbytes") is None:
            raise BenchInputError("QLoRA needs the bitsandbytes package: pip install bitsandbytes")

    def adapter_config(self, params: QLoraParams, heads: list[str]) -> LoraConfig:
        return lora_config(params, heads)

    def load_base(self, spec: ModelSpec, task: TaskInfo, params: QLoraParams,
                  device: str) -> PreTrainedModel:
        """The 4-bit base, frozen, with its other weights in fp32 (prepare_model_for_kbit_training;
        no gradient checkpointing: these models are small, and it slows every step)."""
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        from bench.models.loading import classifier_head_names, classifier_skeleton, load_classifier

        quantization = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=params.double_quant,
            bnb_4bit_compute_dtype=compute_dtype(params, device),
            llm_int8_skip_modules=classifier_head_names(classifier_skeleton(spec, task)))
        model = load_classifier(spec, task, quantization_config=quantization,
                                device_map={"": device})
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        keep_4bit_weights_unpacked(model)
        return model

    def merge_for_deployment(self, model: nn.Module) -> nn.Module:
        """Dequantise the NF4 base to fp32 in place, then fold the adapter into it, so the
        merged model computes what the trained 4-bit model computed. (Merging into a fresh
        fp32 copy of the original weights, the other usual way, ships weights the adapter was
        never trained against and would need the saved adapter folder.) peft cannot merge into
        the 4-bit layers directly without re-quantising the sum, so the adapter is lifted off,
        the bare base dequantised, and the adapter put back and merged."""
        import torch
        from peft import (PeftModel, get_peft_model, get_peft_model_state_dict,
                          set_peft_model_state_dict)

        assert isinstance(model, PeftModel)
        config = model.peft_config[model.active_adapter]
        adapter = get_peft_model_state_dict(model)
        base = model.unload()  # keeps the trained head
        base.dequantize(dtype=torch.float32)
        rebuilt = get_peft_model(base, config)
        set_peft_model_state_dict(rebuilt, adapter)
        return as_plain_model(rebuilt.merge_and_unload())

