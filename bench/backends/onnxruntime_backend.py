"""ONNX Runtime: export the fp32 PyTorch model with torch.onnx (dynamo exporter), check the
graph against PyTorch on real inputs, optionally quantize the file, run it in a session.

Why the dynamo exporter: on transformers 5 the legacy TorchScript exporter bakes the traced
batch's padding/shape decisions into the graph (TracerWarnings in masking_utils / sdpa), so its
logits drift from PyTorch's on other shapes; the dynamo export keeps no such decision, for BERT
and GPT-2 alike. Every export is checked against PyTorch on the real example batches
(`onnx_max_abs_diff`, failing beyond deploy.onnx_tolerance).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from bench.backends import device_name, torch_logits
from bench.measure.environment import installed_versions
from bench.record.deployment import Footprint
from bench.plugins import Backend, Batch, OnnxFileQuantizer, Predictor, QuantizeStep

if TYPE_CHECKING:
    import torch.nn as nn


EXPORTER = "torch.onnx.export(dynamo=True)"


@dataclass
class Export:
    model: nn.Module  # kept so that the cache key (its id) cannot be reused by another model
    path: Path
    max_abs_diff: float


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self) -> None:
        self._exports: dict[int, Export] = {}

    def prepare(self, model: nn.Module, examples: list[Batch], workdir: Path, device: str,
                threads: int, quantize: QuantizeStep[OnnxFileQuantizer] | None = None) -> Predictor:
        exported = self._export_once(model, examples, workdir, device)
        return session_predictor(exported.path, workdir / "model.int8.onnx", device, threads,
                                 quantize, exported.max_abs_diff)

    def load(self, artefact: Path, device: str, threads: int) -> Predictor:
        return load_session(artefact, device, threads)

    def _export_once(self, model: nn.Module, examples: list[Batch], workdir: Path,
                     device: str) -> Export:
        """One export per model per run: the fp32 and int8 variants share it."""
        import torch

        from bench.backends._onnx_export import export_dynamo

        cached = self._exports.get(id(model))
        if cached is None or cached.model is not model:
            path = export_dynamo(model, examples[0], workdir / "model.onnx", device)
            session = make_session(path, "cpu", torch.get_num_threads())
            diff = max_abs_diff(model, SessionPredictor(session), examples, device)
            cached = self._exports[id(model)] = Export(model, path, diff)
        return cached


def session_predictor(fp32: Path, int8: Path, device: str, threads: int,
                      quantize: QuantizeStep[OnnxFileQuantizer] | None,
                      max_abs_diff: float) -> Predictor:
    """A session on the `fp32` graph, or on its copy quantized to `int8` by `quantize`, with
    what ran, what would ship and the export's difference from PyTorch."""
    from bench.measure.trackers import file_size

    path = fp32
    if quantize:
        path = int8
        int8.parent.mkdir(parents=True, exist_ok=True)
        with quiet_root_logger():
            quantize.apply(fp32, int8)
    session = make_session(path, device, threads)
    info = session_info(session, device, threads)
    info["file"] = path.name
    info["dtype"] = (f"int8 weights ({quantize.compression}), float32 elsewhere" if quantize
                     else "float32")
    if quantize:
        info["quantization"] = {"by": quantize.compression, **quantize.info}
    return Predictor(SessionPredictor(session), info,
                     onnx_footprint(path, file_size([path, *data_files(path)])),
                     onnx_max_abs_diff=max_abs_diff, artefact=path)


def load_session(path: Path, device: str, threads: int) -> Predictor:
    """A session on a graph `session_predictor` wrote (Backend.load of both ONNX backends)."""
    return Predictor(SessionPredictor(make_session(path, device, threads)), {}, Footprint())


def max_abs_diff(model: nn.Module, predict: SessionPredictor, examples: list[Batch],
                 device: str) -> float:
    return max(float(np.abs(predict(b) - torch_logits(model, b, device)).max()) for b in examples)


def data_files(path: Path) -> list[Path]:
    data = path.with_name(path.name + ".data")
    return [data] if data.exists() else []


@contextmanager
def quiet_root_logger() -> Iterator[None]:
    """quantize_dynamic logs a 'consider pre-processing' hint at WARNING on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def requested_providers(device: str) -> list[str]:
    import onnxruntime as ort

    if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def make_session(path: Path, device: str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=requested_providers(device))


def session_info(session, device: str, threads: int) -> dict:
    """What really ran: a CUDA provider that is requested but not used is a fall-back."""
    used = session.get_providers()
    fell_back = device == "cuda" and "CUDAExecutionProvider" not in used
    return {"runtime": "onnxruntime", "exporter": EXPORTER, "device": device,
            "providers": used, "requested_providers": requested_providers(device),
            "fell_back": fell_back,
            "device_name": device_name("cpu" if fell_back or device != "cuda" else "cuda"),
            "threads": threads,
            "versions": installed_versions("onnxruntime", "onnxruntime-gpu", "onnx", "torch")}


class SessionPredictor:
    """numpy batch -> logits, feeding only the inputs the graph declares (GPT-2 has no
    token_type_ids)."""

    def __init__(self, session) -> None:
        self.session = session
        self.inputs = [i.name for i in session.get_inputs()]

    def __call__(self, batch: Batch) -> np.ndarray:
        return self.session.run(["logits"], {name: batch[name] for name in self.inputs})[0]


def onnx_footprint(path: Path, file_bytes: int) -> Footprint:
    """Elements and bytes of the graph's initializers (int8 weights, their scales...)."""
    import onnx
    from onnx.helper import tensor_dtype_to_np_dtype


    graph = onnx.load(str(path), load_external_data=False).graph
    elements = size = 0
    for tensor in graph.initializer:
        count = int(np.prod(tensor.dims)) if tensor.dims else 1
        elements += count
        size += count * np.dtype(tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    return Footprint(elements, size, 0, file_bytes)
