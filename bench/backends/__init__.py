"""Inference backends: each turns a PyTorch model into a `Predictor` (numpy batch in, numpy
logits out) in its own runtime, and says what really ran.

A backend is one module here registering a `Backend` subclass with `@BACKENDS.register(name)`;
bench/deploy.py creates one instance per deployment run, so an instance may cache work
(an ONNX export shared by the fp32 and int8 variants of one model) for that run only.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np
import torch
import torch.nn as nn

from bench.measure import Footprint

Batch = dict[str, np.ndarray]


@dataclass
class Quantizer:
    """An int8 step that a backend runs in its own runtime, supplied by a compression.

    `apply`'s signature belongs to the backend: torch takes `module -> quantized module`,
    onnxruntime takes `(fp32 .onnx path, int8 .onnx path) -> None`.
    """

    name: str  # the compression that asked for it
    apply: Callable[..., Any]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Predictor:
    """A prepared model and what was really run."""

    predict: Callable[[Batch], np.ndarray]
    info: dict[str, Any]  # providers, device, dtype, threads, library versions, exporter...
    footprint: Footprint  # file_bytes: what would be shipped
    synchronize: Callable[[], None] | None = None  # wait for asynchronous device work
    onnx_max_abs_diff: float | None = None  # exported graph vs PyTorch on real inputs
    cuda_memory_visible: bool = False  # torch's allocator sees this predictor's memory

    def __call__(self, batch: Batch) -> np.ndarray:
        return self.predict(batch)

    @property
    def file_bytes(self) -> int | None:
        return self.footprint.file_bytes


class Backend(ABC):
    name: ClassVar[str]

    def check(self, device: str) -> None:
        """Raise VariantSkipped (with the reason) when this backend cannot run on `device`."""

    @abstractmethod
    def prepare(self, model: nn.Module, examples: list[Batch], workdir: Path, device: str,
                threads: int, quantizer: Quantizer | None = None) -> Predictor:
        """Build a predictor for fp32 `model` (never changed), int8 when `quantizer` is given.

        `examples` are real input batches: the first one traces exports, all of them check
        an exported graph against PyTorch. Files go under `workdir`.
        """


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    from bench.environment import cpu_name

    return cpu_name()


def to_torch(batch: Batch, device: str) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def torch_logits(model: nn.Module, batch: Batch, device: str) -> np.ndarray:
    with torch.inference_mode():
        return model(**to_torch(batch, device)).logits.float().cpu().numpy()
