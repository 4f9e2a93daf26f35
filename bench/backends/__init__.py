"""Inference backends: each module here holds one `Backend` (bench/plugins.py) listed in
bench/registry.py's BACKENDS; this package module holds what they share."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from bench.plugins import Batch


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    from bench.measure.environment import cpu_name

    return cpu_name()


def to_torch(batch: Batch, device: str) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def torch_logits(model: nn.Module, batch: Batch, device: str) -> np.ndarray:
    with torch.inference_mode():
        return model(**to_torch(batch, device)).logits.float().cpu().numpy()
