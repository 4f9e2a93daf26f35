"""Quantization-aware training with torchao: fake-quantize the encoder's Linear layers (int8
per-token asymmetric activations, int8 per-channel weights), train more epochs so the weights
adapt to int8 rounding, then quantize for real.

Backends:
- torch: torchao's Int8DynamicActivationInt8WeightConfig with the same asymmetric per-token
  activations the training simulated. Eager CPU kernels are slower than fp32 (torchao is fast
  under torch.compile), which the figures show as they are.
- onnxruntime: models quantized by torchao do not export, so the QAT-trained fp32 weights
  are exported and quantized by ONNX Runtime's dynamic int8 (per-channel weights like the
  training; activations per tensor, not per token: the numerics differ slightly from what
  was trained, recorded in compression_info).

The classifier head (everything outside the base model) stays fp32, as in training.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.errors import VariantSkipped
from bench.plugins import (Compression, CompressionContext, ExtraTraining, ModuleQuantizer,
                           OnnxFileQuantizer, QuantizeStep)
from bench.table_checks import POSITIVE
from bench.compressions.quantize import (Int8Params, in_base_model, onnx_int8_info, quantize_onnx,
                             require_linear_layers)

if TYPE_CHECKING:
    import torch.nn as nn



@dataclass
class QATParams:
    epochs: float = 1.0  # more epochs of the cell's training, fake-quantized
    learning_rate: float = 2e-5  # full fine-tuning rate: the model is no adapter now

    ranges: ClassVar[dict] = {"epochs": POSITIVE, "learning_rate": POSITIVE}


class QuantizationAwareTraining(Compression):
    name = "qat"
    Params = QATParams
    changes_model = True
    quantizes = True
    precision = "int8"

    def check(self, params: QATParams, device: str, can_finetune: bool) -> None:
        if not can_finetune:
            raise VariantSkipped("qat needs the cell's training loop, which is not available here")

    def transform(self, model: nn.Module, params: QATParams,
                  context: CompressionContext) -> tuple[nn.Module, dict]:
        import torch
        from torchao.quantization import quantize_
        from torchao.quantization.qat import IntxFakeQuantizeConfig, QATConfig

        require_linear_layers(model, "qat")
        in_encoder = in_base_model(model)
        quantize_(model, QATConfig(
            activation_config=IntxFakeQuantizeConfig(torch.int8, "per_token", is_symmetric=False),
            weight_config=IntxFakeQuantizeConfig(torch.int8, "per_channel"), step="prepare"),
            filter_fn=in_encoder)
        context.progress(f"qat: fake-quantized training, {params.epochs} epoch(s)")
        model = self.extra_training(params).run(model, context.trainer)
        quantize_(model, QATConfig(step="convert"), filter_fn=in_encoder)
        return model.eval(), {"epochs": params.epochs, "learning_rate": params.learning_rate,
                              "trained_as": "int8 per-token asymmetric activations, int8 "
                                            "per-channel weights (torchao fake quantization)"}

    def extra_training(self, params: QATParams) -> ExtraTraining:
        return ExtraTraining(params.epochs, params.learning_rate)


def torch_recipe(params: QATParams, device: str) -> QuantizeStep[ModuleQuantizer]:
    return QuantizeStep(QuantizationAwareTraining.name, quantize_torchao, {
        "recipe": "torchao Int8DynamicActivationInt8WeightConfig (eager)",
        "weights": "int8 per-channel", "activations": "int8 per-token asymmetric"})


def onnxruntime_recipe(params: QATParams, device: str) -> QuantizeStep[OnnxFileQuantizer]:
    int8 = Int8Params(per_channel=True)
    return QuantizeStep(QuantizationAwareTraining.name,
                        lambda source, target: quantize_onnx(source, target, int8),
                        {**onnx_int8_info(int8), "note": "QAT-trained weights; ONNX Runtime "
                         "quantizes activations per tensor, training simulated per token"})


def quantize_torchao(model: nn.Module) -> nn.Module:
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, MappingType, quantize_

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_(model, Int8DynamicActivationInt8WeightConfig(
            act_mapping_type=MappingType.ASYMMETRIC, set_inductor_config=False),
            filter_fn=in_base_model(model))
    return model
