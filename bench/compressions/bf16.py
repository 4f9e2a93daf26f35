"""bf16 inference: the model's weights and activations in bfloat16, asked for as a variant
(`[deploy] variants = [["bf16"]]`, or after pruning: `["prune", "bf16"]`) beside fp32 and int8,
never a silent change of the fp32 one.

- torch: the model cast to bfloat16 (`model.to(torch.bfloat16)`): what would ship, at half
  the fp32 file, every op in bf16 (autocast would keep fp32 weights and files).
- openvino: the fp32 IR compiled with INFERENCE_PRECISION_HINT "bf16" (its recipe lives in
  bench/backends/openvino_backend.py).

A CPU runs bf16 fast only with AMX or AVX512-BF16 (bench.measure.environment.cpu_bf16_support);
elsewhere PyTorch emulates it, about 130x slower than fp32, so a suite asking for bf16 there is
refused before anything runs. On CUDA the GPU must support bf16.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bench.errors import VariantSkipped
from bench.plugins import Compression, ModuleQuantizer, NoParams, QuantizeStep

if TYPE_CHECKING:
    import torch.nn as nn


class Bfloat16(Compression):
    name = "bf16"
    quantizes = True  # per-backend recipes, so it ends its chain
    precision = "bf16"

    def check(self, params: NoParams, device: str, can_finetune: bool) -> None:
        problem = self.host_problem(device)
        if problem:
            raise VariantSkipped(problem)

    def host_problem(self, device: str) -> str | None:
        from bench.measure.environment import NO_FAST_BF16, cpu_bf16_support

        if device == "cuda":
            import torch

            return None if torch.cuda.is_bf16_supported() else "this GPU does not support bf16"
        if cpu_bf16_support() is None:
            return f"bf16 inference refused: {NO_FAST_BF16}"
        return None


def torch_recipe(params: NoParams, device: str) -> QuantizeStep[ModuleQuantizer]:
    return QuantizeStep(Bfloat16.name, cast_to_bf16, {
        "recipe": "model.to(torch.bfloat16)", "weights": "bfloat16",
        "activations": "bfloat16 (logits read back as float32)"})


def cast_to_bf16(model: nn.Module) -> nn.Module:
    import torch

    return model.to(torch.bfloat16)
