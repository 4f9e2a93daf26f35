"""ONNX Runtime records what it really did: an export whose logits differ from PyTorch beyond
the tolerance fails its variant with the difference, and a CUDA provider that was asked for
but not used is recorded as a fall-back (a fake session stands in for a GPU machine)."""
import pytest
import torch

import bench.backends.onnxruntime_backend as ort_backend
from bench.stages.variants import deploy_cell
from bench.models.loading import load_classifier, load_tokenizer
from bench.specs import DeploySpec, ModelSpec
from toy import TASK, splits

SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")


def test_an_export_beyond_the_tolerance_fails_its_variant_with_the_difference(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr(ort_backend, "max_abs_diff", lambda *args: 0.25)
    tokenizer = load_tokenizer(SPEC)
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK)
    spec = DeploySpec(backends=["torch", "onnxruntime"], variants=[["int8"]], batch_sizes=[1],
                      sequence_length=16, warmup_calls=0, rounds=6, round_min_calls=1,
                      round_min_duration_s=0.0, timing_processes=1, onnx_tolerance=1e-3)
    deployment = deploy_cell(model, tokenizer, TASK, splits(tokenizer)["test"], spec, {}, None,
                             tmp_path, "cpu")
    by_key = {(r.variant, r.backend): r for r in deployment.variants}
    assert by_key[("fp32", "torch")].ok and by_key[("int8", "torch")].ok
    for variant in ("fp32", "int8"):  # the int8 graph comes from the same export
        failed = by_key[(variant, "onnxruntime")]
        assert failed.status == "failed" and failed.onnx_max_abs_diff == 0.25
        assert "2.50e-01 > deploy.onnx_tolerance = 0.001" in failed.reason
        assert failed.metrics is None and failed.speedup == {}


class FakeSession:
    def __init__(self, providers):
        self.providers = providers

    def get_providers(self):
        return self.providers


@pytest.fixture
def cuda_listed(monkeypatch):
    """onnxruntime lists the CUDA provider as available (as it does on machines without a GPU)."""
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])


def test_a_cuda_session_that_runs_on_cpu_is_recorded_as_a_fall_back(cuda_listed):
    info = ort_backend.session_info(FakeSession(["CPUExecutionProvider"]), "cuda", 2)
    assert info["requested_providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert info["providers"] == ["CPUExecutionProvider"]
    assert info["fell_back"] is True
    assert info["device_name"] == ort_backend.device_name("cpu")


def test_a_cuda_session_that_uses_cuda_is_no_fall_back(cuda_listed, monkeypatch):
    monkeypatch.setattr(ort_backend, "device_name", lambda device: f"name of {device}")
    used = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    info = ort_backend.session_info(FakeSession(used), "cuda", 2)
    assert info["fell_back"] is False and info["device_name"] == "name of cuda"
    cpu = ort_backend.session_info(FakeSession(["CPUExecutionProvider"]), "cpu", 2)
    assert cpu["fell_back"] is False and cpu["requested_providers"] == ["CPUExecutionProvider"]
