"""OpenVINO on CPU: read the fp32 ONNX graph, check it against PyTorch on real inputs, optionally
quantize it with NNCF, save the IR (.xml + .bin: what would ship) and run the compiled model
with the latency hint, `threads` inference threads and f32 inference precision.

Why read an ONNX file rather than `ov.convert_model` of the PyTorch model: the ONNX graph is
the legacy export of an eager-attention copy that the onnxruntime-fused backend uses too (one
checked export code path); `ov.convert_model` traces the model with TorchScript through the
SDPA masking code, the same tracing that bakes the traced batch's
shape decisions into a graph (TracerWarnings in masking_utils on transformers 5). It is the
choice of one checked path, not a fix of a difference seen.

Precision: OpenVINO's CPU plugin runs fp32 models in bf16 by default on CPUs that have it
(logits then no longer match PyTorch's fp32 ones), so the fp32 variant asks for
INFERENCE_PRECISION_HINT f32; the int8 variant keeps f32 for what NNCF leaves unquantized.
The bf16 variant (`bf16_recipe`, "bf16/openvino") compiles the same fp32 IR with the hint
"bf16", and fails where the compiled model reads back another precision: OpenVINO falls back
to f32 quietly on CPUs without bf16, which would time fp32 under a bf16 label.

int8 (`int8_recipe`, "int8/openvino"): OpenVINO cannot read ONNX Runtime's dynamically
quantized graph (ConvInteger / DynamicQuantizeLinear), so it gets its own recipe: NNCF's
post-training static quantization (`nncf.quantize`, model_type TRANSFORMER) calibrated on the
example batches the backend receives: int8 weights per output channel and int8 activations with
ranges fixed at calibration (FakeQuantize), unlike ONNX Runtime's dynamic int8, which measures
activation ranges on every call.
"""
from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from bench.backends.onnxruntime_backend import max_abs_diff
from bench.backends.onnxruntime_fused import LEGACY_EXPORTER
from bench.errors import VariantSkipped
from bench.measure.environment import installed_versions
from bench.plugins import Backend, Batch, Predictor, QuantizeStep
from bench.record.deployment import Footprint

if TYPE_CHECKING:
    import openvino as ov
    import torch.nn as nn

    from bench.compressions.quantize import Int8Params

# what an OpenVINO quantize recipe's step applies: (fp32 model, calibration batches) -> model
OpenVinoQuantizer = Callable[["ov.Model", list[Batch]], "ov.Model"]


@dataclass(frozen=True)
class InferencePrecision:
    """A step that changes no graph, only the precision the CPU plugin computes in."""

    hint: str  # an INFERENCE_PRECISION_HINT value: "bf16"

PERFORMANCE_HINT = "LATENCY"
PRECISION_HINT = "f32"


@dataclass
class Converted:
    model: nn.Module  # kept so that the cache key (its id) cannot be reused by another model
    graph: Any  # the fp32 ov.Model read from the ONNX file
    onnx_path: Path
    max_abs_diff: float


class OpenVinoBackend(Backend):
    name = "openvino"

    def __init__(self) -> None:
        self._converted: dict[int, Converted] = {}

    def check(self, device: str) -> None:
        if device != "cpu":
            raise VariantSkipped(f"openvino runs on CPU only here (asked for {device}): the "
                                 "benchmark compiles for OpenVINO's CPU plugin")

    def prepare(self, model: nn.Module, examples: list[Batch], workdir: Path, device: str,
                threads: int, quantize: QuantizeStep[OpenVinoQuantizer | InferencePrecision]
                | None = None) -> Predictor:
        import openvino as ov

        from bench.measure.trackers import file_size

        self.check(device)
        converted = self._convert_once(model, examples, workdir, threads)
        graph, name, precision = converted.graph, "model", PRECISION_HINT
        if quantize and isinstance(quantize.apply, InferencePrecision):
            precision = quantize.apply.hint
        elif quantize:
            graph, name = quantize.apply(converted.graph.clone(), examples), "model.int8"
        xml = workdir / f"{name}.xml"
        ov.save_model(graph, str(xml), compress_to_fp16=False)
        core = ov.Core()
        compiled = compile_model(core, xml, threads, precision)
        info = compiled_info(core, compiled, threads)
        if info["inference_precision_hint"] != precision:
            raise RuntimeError(f"OpenVINO compiled the model in {info['inference_precision_hint']}"
                               f" although {precision} was asked for")
        info["source"] = f"ONNX ({LEGACY_EXPORTER}) read by openvino.Core.read_model"
        info["dtype"] = ("bfloat16 compute (INFERENCE_PRECISION_HINT), float32 weights"
                         if precision == "bf16" else
                         f"int8 weights and activations ({quantize.compression}), float32 "
                         "elsewhere" if quantize else "float32")
        if quantize and precision == PRECISION_HINT:
            rows = sum(len(batch["input_ids"]) for batch in examples)
            info["quantization"] = {"by": quantize.compression, **quantize.info,
                                    "calibration_size": f"{len(examples)} batches, {rows} rows"}
        return Predictor(CompiledPredictor(compiled), info,
                         ir_footprint(graph, file_size([xml, xml.with_suffix(".bin")])),
                         onnx_max_abs_diff=converted.max_abs_diff, artefact=xml)

    def load(self, artefact: Path, device: str, threads: int) -> Predictor:
        import openvino as ov

        return Predictor(CompiledPredictor(compile_model(ov.Core(), artefact, threads)), {},
                         Footprint())

    def _convert_once(self, model: nn.Module, examples: list[Batch], workdir: Path,
                      threads: int) -> Converted:
        """One export, read and check per model per run: the fp32 and int8 variants share it."""
        import openvino as ov

        from bench.backends._onnx_export import export_legacy

        cached = self._converted.get(id(model))
        if cached is None or cached.model is not model:
            path = export_legacy(model, examples[0], workdir / "model.legacy.onnx")
            core = ov.Core()
            graph = core.read_model(str(path))
            check = CompiledPredictor(compile_model(core, graph, threads))
            diff = max_abs_diff(model, check, examples, "cpu")
            cached = self._converted[id(model)] = Converted(model, graph, path, diff)
        return cached


def compile_model(core, model, threads: int, precision: str = PRECISION_HINT):
    """`model`: an ov.Model or the path of a saved one."""
    return core.compile_model(model if not isinstance(model, Path) else str(model), "CPU", {
        "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": PERFORMANCE_HINT,
        "INFERENCE_PRECISION_HINT": precision})


def compiled_info(core, compiled, threads: int) -> dict:
    """What the compiled model really uses, read back from it."""
    def read(name: str) -> str:
        value = compiled.get_property(name)
        return value.get_type_name() if hasattr(value, "get_type_name") else str(value)  # f32

    return {"runtime": "openvino", "exporter": LEGACY_EXPORTER, "device": "cpu",
            "device_name": core.get_property("CPU", "FULL_DEVICE_NAME"),
            "execution_devices": list(compiled.get_property("EXECUTION_DEVICES")),
            "threads": threads, "inference_num_threads": int(read("INFERENCE_NUM_THREADS")),
            "performance_hint": read("PERFORMANCE_HINT"), "num_streams": read("NUM_STREAMS"),
            "inference_precision_hint": read("INFERENCE_PRECISION_HINT"),
            "cpu_capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
            "versions": installed_versions("openvino", "nncf", "onnx", "torch", "transformers")}


class CompiledPredictor:
    """numpy batch -> logits through one infer request, feeding only the inputs the graph
    declares (GPT-2 has no token_type_ids)."""

    def __init__(self, compiled) -> None:
        self.request = compiled.create_infer_request()
        self.inputs = [port.get_any_name() for port in compiled.inputs]
        self.output = compiled.output("logits")

    def __call__(self, batch: Batch) -> np.ndarray:
        return np.array(self.request.infer({name: batch[name] for name in self.inputs},
                                           share_outputs=False)[self.output])


def ir_footprint(graph, file_bytes: int) -> Footprint:
    """Elements and bytes of the model's constants (int8 weights, their scales...)."""

    elements = size = 0
    for op in graph.get_ops():
        if op.get_type_name() == "Constant":
            count = int(np.prod(list(op.get_output_shape(0)))) if len(op.get_output_shape(0)) else 1
            elements += count
            size += count * op.get_output_element_type(0).size
    return Footprint(elements, size, 0, file_bytes)


# ------------------------------------------------------------------------ recipes

def bf16_recipe(params, device: str) -> QuantizeStep[InferencePrecision]:
    """"bf16/openvino": the fp32 IR computed in bf16 by the CPU plugin (the bf16 compression's
    own check refuses CPUs without AMX or AVX512-BF16)."""
    from bench.compressions.bf16 import Bfloat16

    if device != "cpu":
        raise VariantSkipped("bf16 on openvino runs on CPU only here")
    return QuantizeStep(Bfloat16.name, InferencePrecision("bf16"), {
        "recipe": "compile_model with INFERENCE_PRECISION_HINT bf16", "weights":
        "float32 in the IR, bf16 in the compiled kernels", "activations": "bfloat16"})


def int8_recipe(params: Int8Params, device: str) -> QuantizeStep[OpenVinoQuantizer]:
    """"int8/openvino": NNCF post-training static quantization (see the module docstring)."""
    from bench.compressions.quantize import DynamicInt8

    if device != "cpu":
        raise VariantSkipped("int8 on openvino (NNCF) runs on CPU only here")
    if not params.per_channel or params.reduce_range:
        raise VariantSkipped("int8 on openvino quantizes weights per channel at full 8-bit "
                             "range (NNCF); per_channel=false or reduce_range=true has no "
                             "recipe there")
    return QuantizeStep(DynamicInt8.name, quantize_nncf, {
        "recipe": "nncf.quantize (post-training static, model_type=TRANSFORMER, preset "
                  "MIXED: its default for transformers)",
        "weights": "int8 per-channel, symmetric",
        "activations": "int8 per tensor, static ranges from calibration (FakeQuantize)",
        "calibration": "every example batch the backend receives (real rows of the validation "
                       "split; of the test split only where a cell has none)",
        "algorithms": "SmoothQuant, fast bias correction (NNCF defaults for transformers)"})


def quantize_nncf(graph, batches: list[Batch]):
    import nncf

    names = [port.get_any_name() for port in graph.inputs]
    dataset = nncf.Dataset(batches, lambda batch: {name: batch[name] for name in names})
    previous = nncf.nncf_logger.level
    nncf.set_log_level(logging.ERROR)
    try:  # its progress bars (rich) go to stdout
        with contextlib.redirect_stdout(io.StringIO()):
            return nncf.quantize(graph, dataset, model_type=nncf.ModelType.TRANSFORMER,
                                 subset_size=len(batches))
    finally:
        nncf.set_log_level(previous)
