"""Training compute: an estimate of the FLOPs a fine-tuning run did, the rate it reached, and
its model FLOPs utilisation (MFU) on GPUs whose peak is known.

Per trained token: 2N FLOPs forward, 2N backward to the activations, and 2 per trainable
weight of N for its gradient, N being the parameters that multiply activations (everything
but the embedding tables). Full fine-tuning is the usual 6N; an adapter method, whose frozen base
gets no weight gradients, about 4N. Attention's own score FLOPs (about 4 x layers x sequence
x hidden per token) are left out: under 10% for the short sequences of classification.
"""
from __future__ import annotations

import torch.nn as nn

from bench.models.loading import count_parameters
from bench.record.training import TrainingCompute

FLOP_COUNT = "2N forward + 2N backward + 2 per trainable weight, per token; N without embeddings"

# Dense bf16/fp16 tensor-core peaks (TFLOP/s, without sparsity) from the vendors' datasheets;
# the first name contained in the device name wins, so specific names come first.
PEAK_TFLOPS = (("H200", 989.4), ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.4),
               ("A100", 312.0), ("L40S", 362.1), ("L4", 121.0), ("A10", 125.0),
               ("V100", 125.0), ("T4", 65.0))


def peak_tflops(device_name: str | None, precision: str) -> float | None:
    if not device_name or precision not in ("bf16", "fp16"):
        return None
    return next((peak for name, peak in PEAK_TFLOPS if name in device_name), None)


def matmul_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, all) parameters outside embedding tables, each counted at its real size
    (4-bit included). An embedding's gradient touches only the rows looked up: no matmul."""
    tables = [m.weight for m in model.modules() if isinstance(m, nn.Embedding)]
    trainable, total = count_parameters(model)
    return (trainable - sum(t.numel() for t in tables if t.requires_grad),
            total - sum(t.numel() for t in tables))


def training_compute(model: nn.Module, tokens: int, train_seconds: float,
                     device_name: str | None, precision: str) -> TrainingCompute:
    trainable, n = matmul_parameters(model)
    flops = float(tokens) * (4 * n + 2 * trainable)
    achieved = flops / train_seconds / 1e12
    peak = peak_tflops(device_name, precision)
    return TrainingCompute(
        tokens=tokens, matmul_parameters=n, trainable_matmul_parameters=trainable, flops=flops,
        achieved_tflops=achieved, peak_tflops=peak, mfu=achieved / peak if peak else None,
        method=FLOP_COUNT)
