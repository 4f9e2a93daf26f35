"""A PyTorch classifier -> one ONNX file (inputs named, logits the only output, batch and
sequence axes dynamic), by either exporter: the dynamo one for the onnxruntime backend, the
legacy TorchScript one of an eager-attention copy for onnxruntime-fused and openvino (each
backend's docstring says why). Imports torch at import time: the backends import this module
inside the functions that export, so that their own import stays light."""
from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from bench.backends import to_torch
from bench.plugins import Batch

OPSET = 17  # named in onnxruntime_fused.LEGACY_EXPORTER
GRAPH_INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # LogitsOnly.forward's order
SINGLE_FILE_LIMIT = 1_800_000_000  # protobuf's 2 GB cap: larger weights go to a .data file


class LogitsOnly(nn.Module):
    """Names the graph's inputs and keeps only `logits` as its output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


def needs_external_data(model: nn.Module) -> bool:
    return sum(p.numel() * p.element_size() for p in model.parameters()) > SINGLE_FILE_LIMIT


def export_dynamo(model: nn.Module, example: Batch, path: Path, device: str) -> Path:
    """fp32 export with dynamic batch and sequence axes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    inputs = to_torch(example, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(LogitsOnly(model.eval()), (), str(path), kwargs=inputs,
                          input_names=list(inputs), output_names=["logits"],
                          dynamic_shapes={name: {0: batch, 1: sequence} for name in inputs},
                          dynamo=True, external_data=needs_external_data(model), verbose=False)
    return path


def eager_copy(model: nn.Module) -> nn.Module:
    """A copy of `model` running the eager attention code (the original is left as it is)."""
    eager = copy.deepcopy(model).eval()
    eager.set_attn_implementation("eager")
    return eager


def export_legacy(model: nn.Module, example: Batch, path: Path) -> Path:
    """fp32 export of an eager-attention copy with the TorchScript exporter, dynamic batch and
    sequence axes (CPU)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = {name: torch.from_numpy(example[name]) for name in GRAPH_INPUTS if name in example}
    eager = eager_copy(model).cpu()
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(LogitsOnly(eager), tuple(inputs.values()), str(path),
                          input_names=list(inputs), output_names=["logits"],
                          dynamic_axes={**axes, "logits": {0: "batch"}}, opset_version=OPSET,
                          dynamo=False, verbose=False)
    del eager
    return path
