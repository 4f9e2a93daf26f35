"""Eager PyTorch, CPU or CUDA: the reference every other variant is compared with."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from bench.backends import device_name
from bench.errors import VariantSkipped
from bench.measure.environment import installed_versions
from bench.plugins import Backend, Batch, ModuleQuantizer, Predictor, QuantizeStep

if TYPE_CHECKING:
    import torch.nn as nn


class TorchBackend(Backend):
    name = "torch"

    def check(self, device: str) -> None:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise VariantSkipped("torch on cuda: no CUDA GPU is available here")

    def prepare(self, model: nn.Module, examples: list[Batch], workdir: Path, device: str,
                threads: int, quantize: QuantizeStep[ModuleQuantizer] | None = None) -> Predictor:
        import torch

        from bench.measure.trackers import file_size, module_footprint
        from bench.models.inference import TorchPredictor

        if quantize:
            model = quantize.apply(copy.deepcopy(model))
        model = model.to(device).eval()
        path = save(model, workdir)
        info = {"runtime": "torch eager", "device": device, "device_name": device_name(device),
                "dtype": dtype_of(model, quantize), "threads": threads,
                "file": path.name, "versions": installed_versions("torch", "transformers", "torchao")}
        if quantize:
            info["quantization"] = {"by": quantize.compression, **quantize.info}
        if not is_plain(model):
            info["quantized_engine"] = torch.backends.quantized.engine
        return Predictor(TorchPredictor(model, device), info,
                         module_footprint(model, file_size([path])),
                         synchronize=torch.cuda.synchronize if device == "cuda" else None,
                         cuda_memory_visible=device == "cuda",
                         artefact=save_module(model, workdir))

    def load(self, artefact: Path, device: str, threads: int) -> Predictor:
        import torch

        from bench.models.inference import TorchPredictor
        from bench.record.deployment import Footprint

        model = torch.load(artefact, map_location=device, weights_only=False).eval()
        return Predictor(TorchPredictor(model, device), {}, Footprint(),
                         synchronize=torch.cuda.synchronize if device == "cuda" else None)


def save(model: nn.Module, workdir: Path) -> Path:
    """Write what would ship: safetensors for plain weights (a pruned model's shapes are in
    the tensors), torch.save of the state_dict for quantized modules that safetensors cannot
    hold (packed int8 params, torchao tensor subclasses)."""
    import torch
    from safetensors.torch import save_model

    workdir.mkdir(parents=True, exist_ok=True)
    if is_plain(model):
        path = workdir / "model.safetensors"
        save_model(model, str(path), force_contiguous=True)
    else:
        path = workdir / "model.pt"
        torch.save(model.state_dict(), path)
    return path


def save_module(model: nn.Module, workdir: Path) -> Path:
    """The whole module pickled, for the timing processes alone: a pruned or quantized
    model's state_dict cannot be loaded without rebuilding its modules first. torchao gives
    each module it quantizes an `extra_repr` bound to a functools.partial, which pickle cannot
    write: those are set aside while saving (the loaded module prints its class's repr)."""
    import torch

    path = workdir / "timing-module.pt"
    set_aside = {module: module.__dict__.pop("extra_repr") for module in model.modules()
                 if "extra_repr" in module.__dict__}
    try:
        torch.save(model, path)
    finally:
        for module, extra_repr in set_aside.items():
            module.extra_repr = extra_repr
    return path


def is_plain(model: nn.Module) -> bool:
    import torch

    return all(type(v) is torch.Tensor and not v.is_quantized
               for v in model.state_dict().values())


def dtype_of(model: nn.Module, quantize: QuantizeStep | None) -> str:
    """The parameters' dtype; a step that left plain tensors cast them (bf16) rather than
    packing int8 weights."""
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    if quantize and not is_plain(model):
        return f"int8 weights ({quantize.compression}), {dtype} elsewhere"
    return dtype
