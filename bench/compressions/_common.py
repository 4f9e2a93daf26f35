"""What the training compressions (pruning recovery, QAT) share."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch.nn as nn


def make_trainable(model: nn.Module) -> nn.Module:
    """A merged adapter model comes back frozen; recovery and QAT train every weight."""
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model.train()
