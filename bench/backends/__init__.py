"""Inference backends: each module here holds one `Backend` (bench/plugins.py) listed in
bench/registry.py's BACKENDS; this package module holds what they share. Like every plugin
module, light to import: torch is imported inside the functions that use it."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bench.plugins import Batch

if TYPE_CHECKING:
    import torch
    import torch.nn as nn


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    from bench.measure.environment import cpu_name

    return cpu_name()


def to_torch(batch: Batch, device: str) -> dict[str, torch.Tensor]:
    import torch

    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def torch_logits(model: nn.Module, batch: Batch, device: str) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return model(**to_torch(batch, device)).logits.float().cpu().numpy()
