"""Training compute estimates: 6N per token for full fine-tuning, about 4N for adapters."""
import pytest

from bench.stages.flops import matmul_parameters, peak_tflops, training_compute
from bench.task import TaskInfo
from bench.registry import METHODS
from bench.specs import ModelSpec

TASK = TaskInfo(["a", "b", "c"])
SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")


def build(method: str):
    registered = METHODS.get(method)()
    return registered.build(SPEC, TASK, registered.Params(), "cpu")


def test_full_fine_tuning_is_6n_per_token_and_lora_about_4n():
    full, lora = build("full"), build("lora")
    trainable, n = matmul_parameters(full)
    assert trainable == n and n < sum(p.numel() for p in full.parameters())  # no embeddings
    assert training_compute(full, 1000, 1.0, None, "fp32").flops == 6 * n * 1000
    lora_trainable, lora_n = matmul_parameters(lora)
    assert lora_n == n + lora_trainable  # adapters and the head's trained copy add weights
    per_token = training_compute(lora, 1, 1.0, None, "fp32").flops
    assert per_token == 4 * lora_n + 2 * lora_trainable and lora_trainable < 0.1 * lora_n


@pytest.mark.parametrize("name, precision, peak", [
    ("NVIDIA H100 80GB HBM3", "bf16", 989.4), ("NVIDIA H100 PCIe", "bf16", 756.0),
    ("NVIDIA H200", "fp16", 989.4), ("NVIDIA A100-SXM4-80GB", "bf16", 312.0),
    ("NVIDIA H100 80GB HBM3", "fp32", None), ("Intel Xeon", "bf16", None), (None, "bf16", None)])
def test_peaks_are_known_for_tensor_core_precisions_only(name, precision, peak):
    assert peak_tflops(name, precision) == peak


def test_mfu_is_achieved_over_peak():
    compute = training_compute(build("full"), 10_000, 2.0, "NVIDIA H100 80GB HBM3", "bf16")
    assert compute.achieved_tflops == pytest.approx(compute.flops / 2.0 / 1e12)
    assert compute.mfu == pytest.approx(compute.achieved_tflops / 989.4)
