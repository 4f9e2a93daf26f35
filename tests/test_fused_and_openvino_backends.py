"""The extra CPU backends on a tiny BERT: ONNX Runtime with its transformer fusions and
OpenVINO. Each matches PyTorch on real inputs at several shapes in fp32, records what it ran
(fused operators, precision), quantizes with its own int8 recipe to a graph that still agrees
with fp32, and skips CUDA with its reason."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import bench.backends.onnxruntime_fused as fused_backend
from bench.backends import torch_logits
from bench.stages.deploy_inputs import build_inputs, fixed_batch
from bench.errors import VariantSkipped
from bench.models.loading import load_classifier, load_tokenizer
from bench.registry import BACKENDS, COMPRESSIONS, quantize_recipe
from bench.specs import DeploySpec, ModelSpec
from toy import TASK, splits

SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")


@pytest.fixture(scope="module")
def tiny():
    """A tiny BERT (2 layers, 2 heads, hidden 64), its test rows, and the two example batches
    deploy hands a backend (a fixed (4, 16) batch and a ragged one), plus a third shape."""
    tokenizer = load_tokenizer(SPEC)
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK).eval()
    test = splits(tokenizer)["test"]
    inputs = build_inputs(test, tokenizer, DeploySpec(batch_sizes=[1, 4], sequence_length=16))
    other = fixed_batch(inputs.eval_data, tokenizer, 3, 24)
    rows = fixed_batch(inputs.eval_data, tokenizer, len(inputs.eval_data), 32)
    return SimpleNamespace(model=model, examples=inputs.examples, other=other, rows=rows)


def largest_diff(model, predictor, batches) -> float:
    return max(float(np.abs(predictor(b) - torch_logits(model, b, "cpu")).max()) for b in batches)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.argmax(1) == b.argmax(1)).mean())


# ------------------------------------------------------------------ onnxruntime-fused

@pytest.fixture(scope="module")
def fused(tiny, tmp_path_factory):
    backend = BACKENDS.get("onnxruntime-fused")()
    workdir = tmp_path_factory.mktemp("fused")
    fp32 = backend.prepare(tiny.model, tiny.examples, workdir, "cpu", 1)
    step = quantize_recipe("int8", "onnxruntime-fused")(COMPRESSIONS.get("int8").Params(), "cpu")
    int8 = backend.prepare(tiny.model, tiny.examples, workdir, "cpu", 1, step)
    return SimpleNamespace(fp32=fp32, int8=int8)


def test_the_fused_graph_matches_pytorch_at_several_shapes(tiny, fused):
    assert {b["input_ids"].shape for b in tiny.examples} >= {(4, 16)}
    assert len({b["input_ids"].shape for b in tiny.examples}) == 2
    assert fused.fp32.onnx_max_abs_diff < 1e-4
    assert fused.fp32.onnx_max_abs_diff == pytest.approx(
        largest_diff(tiny.model, fused.fp32, tiny.examples), abs=1e-7)
    assert largest_diff(tiny.model, fused.fp32, [tiny.other]) < 1e-4


def test_the_fused_graph_records_what_was_fused(fused):
    optimizer = fused.fp32.info["optimizer"]
    assert (optimizer["model_type"], optimizer["num_heads"], optimizer["hidden_size"]) == \
        ("bert", 2, 64)
    assert optimizer["fused_operators"] == {"EmbedLayerNormalization": 1, "Attention": 2,
                                            "BiasGelu": 2, "SkipLayerNormalization": 4}
    info = fused.fp32.info
    assert info["graph_operators"]["Attention"] == 2 and info["dtype"] == "float32"
    assert info["providers"] == ["CPUExecutionProvider"] and info["threads"] == 1
    assert "dynamo=False" in info["exporter"] and "onnxruntime" in info["versions"]
    assert fused.fp32.file_bytes > 0


def test_the_fused_int8_graph_quantizes_the_fused_attention_and_agrees_with_fp32(tiny, fused):
    operators = fused.int8.info["graph_operators"]
    assert operators.get("QAttention") == 2 and "Attention" not in operators
    assert fused.int8.info["quantization"]["by"] == "int8"
    assert fused.int8.file_bytes < fused.fp32.file_bytes / 2
    assert fused.int8.onnx_max_abs_diff == fused.fp32.onnx_max_abs_diff  # the shared export
    assert agreement(fused.int8(tiny.rows), fused.fp32(tiny.rows)) >= 0.75


def test_the_qat_recipe_of_onnxruntime_quantizes_the_fused_graph_too(tiny, fused, tmp_path):
    step = quantize_recipe("qat", "onnxruntime-fused")(COMPRESSIONS.get("qat").Params(), "cpu")
    predictor = BACKENDS.get("onnxruntime-fused")().prepare(tiny.model, tiny.examples, tmp_path,
                                                            "cpu", 1, step)
    assert predictor.info["graph_operators"].get("QAttention") == 2
    assert agreement(predictor(tiny.rows), fused.fp32(tiny.rows)) >= 0.75


def test_a_bert_graph_without_fused_attention_fails_its_variant(tiny, tmp_path, monkeypatch):
    from onnxruntime.transformers import optimizer

    real = optimizer.optimize_model

    def fusing_no_attention(*args, **kwargs):
        optimized = real(*args, **kwargs)
        statistics = optimized.get_fused_operator_statistics()
        optimized.get_fused_operator_statistics = lambda: {**statistics, "Attention": 0}
        return optimized

    monkeypatch.setattr(optimizer, "optimize_model", fusing_no_attention)
    with pytest.raises(RuntimeError, match="fused no attention in this bert graph"):
        BACKENDS.get("onnxruntime-fused")().prepare(tiny.model, tiny.examples, tmp_path, "cpu", 1)


def test_a_model_type_without_fusions_is_skipped_with_the_reason():
    t5 = SimpleNamespace(config=SimpleNamespace(model_type="t5"))
    with pytest.raises(VariantSkipped, match="no fusions listed here for model_type 't5'"):
        fused_backend.optimizer_settings(t5)


# --------------------------------------------------------------------------- openvino

@pytest.fixture(scope="module")
def openvino(tiny, tmp_path_factory):
    backend = BACKENDS.get("openvino")()
    workdir = tmp_path_factory.mktemp("openvino")
    fp32 = backend.prepare(tiny.model, tiny.examples, workdir, "cpu", 1)
    step = quantize_recipe("int8", "openvino")(COMPRESSIONS.get("int8").Params(), "cpu")
    int8 = backend.prepare(tiny.model, tiny.examples, workdir, "cpu", 1, step)
    return SimpleNamespace(fp32=fp32, int8=int8)


def test_openvino_matches_pytorch_at_several_shapes_in_f32(tiny, openvino):
    assert openvino.fp32.onnx_max_abs_diff < 1e-4
    assert openvino.fp32.onnx_max_abs_diff == pytest.approx(
        largest_diff(tiny.model, openvino.fp32, tiny.examples), abs=1e-7)
    assert largest_diff(tiny.model, openvino.fp32, [tiny.other]) < 1e-4
    info = openvino.fp32.info
    assert info["inference_precision_hint"] == "f32" and info["dtype"] == "float32"
    assert info["inference_num_threads"] == 1 and info["performance_hint"] == "LATENCY"
    assert info["execution_devices"] == ["CPU"] and "openvino" in info["versions"]
    assert openvino.fp32.file_bytes > 0


def test_openvino_int8_is_calibrated_on_the_examples_and_agrees_with_fp32(tiny, openvino):
    quantization = openvino.int8.info["quantization"]
    assert quantization["by"] == "int8" and quantization["recipe"].startswith("nncf.quantize")
    assert quantization["calibration_size"] == "2 batches, 12 rows"
    assert openvino.int8.file_bytes < openvino.fp32.file_bytes / 2
    assert agreement(openvino.int8(tiny.rows), openvino.fp32(tiny.rows)) >= 0.75


def test_openvino_has_no_recipe_for_what_nncf_does_not_do():
    params = COMPRESSIONS.get("int8").Params(per_channel=False)
    with pytest.raises(VariantSkipped, match="per channel"):
        quantize_recipe("int8", "openvino")(params, "cpu")
    with pytest.raises(VariantSkipped, match="qat has no recipe for the openvino backend"):
        quantize_recipe("qat", "openvino")


@pytest.mark.parametrize("name", ["onnxruntime-fused", "openvino"])
def test_the_cpu_backends_skip_cuda_with_the_reason(name):
    with pytest.raises(VariantSkipped, match="CPU only"):
        BACKENDS.get(name)().check("cuda")
    BACKENDS.get(name)().check("cpu")


def test_deploy_runs_fp32_and_int8_on_the_new_backends(tmp_path):
    from bench.stages.variants import deploy_cell

    tokenizer = load_tokenizer(SPEC)
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK)
    spec = DeploySpec(backends=["torch", "onnxruntime-fused", "openvino"], variants=[["int8"]],
                      batch_sizes=[1], sequence_length=16, warmup_calls=0, rounds=6,
                      timing_processes=1, round_min_calls=1, round_min_duration_s=0.0)
    deployment = deploy_cell(model, tokenizer, TASK, splits(tokenizer)["test"], spec, {}, None,
                             tmp_path, "cpu")
    by_key = {(r.variant, r.backend): r for r in deployment.variants}
    assert {r.status for r in by_key.values()} == {"ok"}, {k: r.reason for k, r in by_key.items()}
    for backend in ("onnxruntime-fused", "openvino"):
        for variant in ("fp32", "int8"):
            record = by_key[(variant, backend)]
            assert record.onnx_max_abs_diff < 1e-4 and record.speedup[1].ratio > 0
            assert record.footprint.file_bytes > 0
        assert by_key[("int8", backend)].compression_info["int8"]["recipe"]
