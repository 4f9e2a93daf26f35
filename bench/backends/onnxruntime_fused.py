"""ONNX Runtime with its transformer graph fusions (CPU): export the fp32 model with the legacy
TorchScript exporter from an eager-attention copy, fuse the graph with
`onnxruntime.transformers.optimizer.optimize_model` (EmbedLayerNormalization, Attention,
SkipLayerNormalization, BiasGelu), check it against PyTorch on real inputs, optionally quantize
the fused file, run it in a session.

Why this export, unlike the plain onnxruntime backend's dynamo export: the optimizer's fusion
patterns match the graph the legacy exporter writes from the eager attention code, not the
dynamo graph (which fuses nothing: onnxruntime issue 19423) nor the one traced through SDPA.
With eager attention the legacy export also keeps no shape decision of the traced batch
(tests/test_fused_and_openvino_backends.py checks it at a shape it was not traced with); the
check on every example batch enforces it for each model.

Quantize recipes: the fused file is saved with ONNX Runtime's symbolic shape inference, which
types the outputs of the fused contrib operators; with those types the plain onnxruntime
recipes (`OnnxFileQuantizer`: int8, qat) quantize it as they are, and quantize_dynamic turns
Attention into QAttention and EmbedLayerNormalization into QEmbedLayerNormalization. (Without
the types it stops with "Unable to find data type for weight_name".)
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.backends.onnxruntime_backend import (SessionPredictor, load_session, make_session,
                                                max_abs_diff, quiet_root_logger,
                                                session_predictor)
from bench.errors import VariantSkipped
from bench.measure.environment import installed_versions
from bench.plugins import Backend, Batch, OnnxFileQuantizer, Predictor, QuantizeStep

if TYPE_CHECKING:
    import torch.nn as nn

LEGACY_EXPORTER = "torch.onnx.export(dynamo=False, opset 17) of an eager-attention copy"

# transformers model_type -> the optimizer's model_type. The BERT family must fuse attention.
OPTIMIZER_MODEL_TYPES = {**dict.fromkeys(("bert", "roberta", "xlm-roberta", "distilbert",
                                          "electra", "camembert", "mpnet"), "bert"),
                         "gpt2": "gpt2"}
ATTENTION_OPS = ("Attention", "MultiHeadAttention")


@dataclass
class Fused:
    model: nn.Module  # kept so that the cache key (its id) cannot be reused by another model
    path: Path
    max_abs_diff: float
    optimizer: dict  # model type, heads, hidden size, fused operator counts


class OnnxRuntimeFusedBackend(Backend):
    name = "onnxruntime-fused"

    def __init__(self) -> None:
        self._fused: dict[int, Fused] = {}

    def check(self, device: str) -> None:
        if device != "cpu":
            raise VariantSkipped(f"onnxruntime-fused runs on CPU only (asked for {device}): its "
                                 "fused graph and quantize recipes are CPU ones")

    def prepare(self, model: nn.Module, examples: list[Batch], workdir: Path, device: str,
                threads: int, quantize: QuantizeStep[OnnxFileQuantizer] | None = None) -> Predictor:
        self.check(device)
        fused = self._fuse_once(model, examples, workdir)
        int8 = workdir / "model.fused.int8.onnx"
        predictor = session_predictor(fused.path, int8, "cpu", threads, quantize,
                                      fused.max_abs_diff)
        predictor.info.update(
            runtime="onnxruntime (transformer fusions)", exporter=LEGACY_EXPORTER,
            optimizer=fused.optimizer, graph_operators=operator_counts(int8 if quantize
                                                                       else fused.path),
            versions=installed_versions("onnxruntime", "onnx", "torch", "transformers"))
        return predictor

    def load(self, artefact: Path, device: str, threads: int) -> Predictor:
        return load_session(artefact, "cpu", threads)

    def _fuse_once(self, model: nn.Module, examples: list[Batch], workdir: Path) -> Fused:
        """One export and fusion per model per run: the fp32 and int8 variants share it."""
        import torch

        from bench.backends._onnx_export import export_legacy

        cached = self._fused.get(id(model))
        if cached is None or cached.model is not model:
            exported = export_legacy(model, examples[0], workdir / "model.legacy.onnx")
            path, optimizer = fuse(model, exported, workdir / "model.fused.onnx")
            session = make_session(path, "cpu", torch.get_num_threads())
            diff = max_abs_diff(model, SessionPredictor(session), examples, "cpu")
            cached = self._fused[id(model)] = Fused(model, path, diff, optimizer)
        return cached


def optimizer_settings(model: nn.Module) -> dict:
    """The optimizer's model_type, heads and hidden size, from the model's config; a model
    type it has no fusions for is skipped."""
    config = model.config
    model_type = OPTIMIZER_MODEL_TYPES.get(config.model_type)
    if model_type is None:
        raise VariantSkipped(f"onnxruntime-fused: ONNX Runtime's transformer optimizer has no "
                             f"fusions listed here for model_type {config.model_type!r} "
                             f"(known: {', '.join(sorted(OPTIMIZER_MODEL_TYPES))})")
    return {"model_type": model_type, "num_heads": int(config.num_attention_heads),
            "hidden_size": int(config.hidden_size)}


def fuse(model: nn.Module, source: Path, target: Path) -> tuple[Path, dict]:
    """The fused graph of `source`, typed by symbolic shape inference, saved to `target`;
    fails when a BERT-family graph got no fused attention (a fused backend that fused
    nothing is no result)."""
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    from onnxruntime.transformers.optimizer import optimize_model

    from bench.backends._onnx_export import needs_external_data

    settings = optimizer_settings(model)
    with quiet_loggers("onnxruntime.transformers"), quiet_root_logger():
        optimized = optimize_model(str(source), use_gpu=False, **settings)
    counts = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    attention_fused = any(counts.get(op) for op in ATTENTION_OPS)  # GPT-2 classifiers: none
    if settings["model_type"] == "bert" and not attention_fused:
        raise RuntimeError(
            f"onnxruntime-fused fused no attention in this {model.config.model_type} graph "
            f"(num_heads={settings['num_heads']}, hidden_size={settings['hidden_size']}; "
            f"fused: {counts or 'nothing'}): the export no longer matches the optimizer's "
            f"patterns, so this backend would only measure the plain graph")
    try:  # types for the quantizer; the fused graph runs without them
        typed = SymbolicShapeInference.infer_shapes(optimized.model, auto_merge=True)
    except Exception:  # noqa: BLE001
        typed = None
    optimized.model = typed if typed is not None else optimized.model
    optimized.save_model_to_file(str(target), use_external_data_format=needs_external_data(model))
    return target, {**settings, "tool": "onnxruntime.transformers.optimizer.optimize_model",
                    "fused_operators": counts, "attention_fused": attention_fused,
                    "shape_inference": typed is not None}


def operator_counts(path: Path) -> dict[str, int]:
    """Operators of the graph that runs (Attention, QAttention, MatMulInteger...)."""
    import onnx

    nodes = onnx.load(str(path), load_external_data=False).graph.node
    return dict(Counter(node.op_type for node in nodes).most_common())


class quiet_loggers:
    """The optimizer logs each fusion at INFO/WARNING on its own loggers."""

    def __init__(self, *names: str) -> None:
        self.loggers = [logging.getLogger(name) for name in names]
        self.levels: list[int] = []

    def __enter__(self) -> None:
        self.levels = [logger.level for logger in self.loggers]
        for logger in self.loggers:
            logger.setLevel(logging.ERROR)

    def __exit__(self, *exc) -> None:
        for logger, level in zip(self.loggers, self.levels):
            logger.setLevel(level)
