"""Dynamic int8 quantization, in each backend's own runtime: int8 weights stored, activations
quantized on the fly per call. No calibration data and no training, hence the usual first
step of deployment.

- torch: torch.ao.quantization.quantize_dynamic on every nn.Linear (fbgemm/x86 kernels: CPU
  only). Deprecated since torch 2.10 but working (measured on 2.13); its successor (torchao
  Int8DynamicActivationInt8Weight) is slower than fp32 in eager mode on CPU.
- onnxruntime: onnxruntime.quantization.quantize_dynamic of the exported fp32 graph (MatMul
  and embedding Gather weights to int8).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import VariantSkipped
from bench.plugins import Compression, ModuleQuantizer, OnnxFileQuantizer, QuantizeStep

if TYPE_CHECKING:
    import torch.nn as nn



@dataclass
class Int8Params:
    # Weights quantized per output channel rather than per tensor: closer to fp32 logits (one
    # scale per row follows each row's own range) at about the same size and speed.
    per_channel: bool = True
    # ONNX Runtime only: 7-bit weights, which avoid u8s8 overflow on CPUs without VNNI; costs
    # accuracy on CPUs with VNNI, so off by default. (torch's fbgemm kernels always reduce
    # the activation range instead.)
    reduce_range: bool = False


class DynamicInt8(Compression):
    name = "int8"
    Params = Int8Params
    quantizes = True
    precision = "int8"


def torch_recipe(params: Int8Params, device: str) -> QuantizeStep[ModuleQuantizer]:
    if device == "cuda":
        raise VariantSkipped("dynamic int8 in PyTorch runs on CPU only")
    return QuantizeStep(DynamicInt8.name, lambda model: quantize_torch(model, params.per_channel), {
        "recipe": "torch.ao.quantization.quantize_dynamic", "modules": "nn.Linear",
        "weights": "qint8 per-channel" if params.per_channel else "qint8 per-tensor",
        "activations": "dynamic uint8 per tensor, 7-bit range (fbgemm)"})


def onnxruntime_recipe(params: Int8Params, device: str) -> QuantizeStep[OnnxFileQuantizer]:
    return QuantizeStep(DynamicInt8.name,
                        lambda source, target: quantize_onnx(source, target, params),
                        onnx_int8_info(params))


def in_base_model(model: nn.Module):
    """A filter for Linear layers of the base model (not the classifier head)."""
    prefix = model.base_model_prefix + "."

    import torch.nn as nn

    def keep(module: nn.Module, fqn: str) -> bool:
        return isinstance(module, nn.Linear) and fqn.startswith(prefix)

    return keep


def require_linear_layers(model: nn.Module, compression: str) -> None:
    """PyTorch int8 recipes quantize nn.Linear: on a model without any (GPT-2 keeps its
    weights in transformers' Conv1D) they would quietly change nothing."""
    keep = in_base_model(model)
    if not any(keep(module, name) for name, module in model.named_modules()):
        raise VariantSkipped(f"{compression} in PyTorch quantizes nn.Linear layers and "
                             f"{type(model).__name__} has none in its base model (Conv1D?)")


def quantize_torch(model: nn.Module, per_channel: bool) -> nn.Module:
    """torch.ao dynamic int8 of every nn.Linear, with its deprecation warnings silenced."""
    import torch
    import torch.nn as nn
    from torch.ao.quantization import (default_dynamic_qconfig, per_channel_dynamic_qconfig,
                                       quantize_dynamic)

    require_linear_layers(model, "int8")
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_(tensor|channel).*")
        return quantize_dynamic(model.cpu(), {nn.Linear: qconfig}, dtype=torch.qint8)


def quantize_onnx(source: Path, target: Path, params: Int8Params) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(source, target, weight_type=QuantType.QInt8,
                     per_channel=params.per_channel, reduce_range=params.reduce_range)


def onnx_int8_info(params: Int8Params) -> dict:
    return {"recipe": "onnxruntime.quantization.quantize_dynamic", "weights":
            f"QInt8 {'per-channel' if params.per_channel else 'per-tensor'}"
            f"{', reduce_range (7-bit)' if params.reduce_range else ''}",
            "activations": "dynamic uint8, per tensor"}
