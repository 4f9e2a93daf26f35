"""CUDA paths: mixed-precision training, QLoRA on real 4-bit kernels, synchronised timing, CUDA
memory figures, ONNX Runtime's CUDA provider (or its recorded fall-back), the idle-GPU check.

Marked `gpu` and skipped without a GPU: run them with `pytest -m gpu` on a CUDA machine (the
nightly GPU workflow does). The last test checks the idle-GPU logic on any machine.
"""
from dataclasses import replace

import pytest
import torch

from bench.stages.deploy_inputs import build_inputs
from bench.measure.environment import gpu_check
from bench.measure.trackers import cuda_working_memory, summarise
from bench.models.loading import count_parameters, load_classifier, load_tokenizer
from bench.registry import BACKENDS, METHODS
from bench.specs import DeploySpec, ModelSpec, TrainingConfig
from bench.stages.timing_rounds import RoundBudget, bound_call, interleaved_rounds, warm_up
from bench.suite.devices import resolve_precision
from toy import TASK, splits, trainer

SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")
# Adapters on a random tiny BERT need a high rate to move the loss within a few epochs: at
# 1e-3 for 3 epochs the bf16 loss of LoRA stayed at chance (1.10 first and last) on an H100.
CFG = TrainingConfig(epochs=6, batch_size=8, learning_rate=1e-3, logging_steps=1,
                     eval_each_epoch=False, device="cuda")
ADAPTER_CFG = replace(CFG, learning_rate=1e-2)


def first_and_last_epoch_loss(report) -> tuple[float, float]:
    """Mean training loss of the first and of the last epoch: single logged steps are too
    noisy (and rounded in bf16) to compare one against another."""
    losses = [(entry["epoch"], entry["loss"]) for entry in report.log_history if "loss" in entry]
    last_epoch = max(epoch for epoch, _ in losses)
    first = [loss for epoch, loss in losses if epoch <= 1]
    last = [loss for epoch, loss in losses if epoch > last_epoch - 1]
    return sum(first) / len(first), sum(last) / len(last)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("method", ["full", "lora"])
def test_mixed_precision_training_on_cuda(method):
    tokenizer = load_tokenizer(SPEC)
    registered = METHODS.get(method)()
    model = registered.build(SPEC, TASK, registered.Params(), "cuda")
    cfg = CFG if method == "full" else ADAPTER_CFG
    report = trainer(tokenizer, cfg, device="cuda").train(model)
    assert report.precision == resolve_precision("auto", "cuda") in ("bf16", "fp16")
    first, last = first_and_last_epoch_loss(report)
    assert last < first
    assert report.cuda_max_allocated_bytes > 0
    assert report.cuda_max_reserved_bytes >= report.cuda_max_allocated_bytes


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_qlora_trains_on_4bit_cuda_kernels_and_merges():
    import bitsandbytes as bnb

    tokenizer = load_tokenizer(SPEC)
    qlora = METHODS.get("qlora")()
    model = qlora.build(SPEC, TASK, qlora.Params(), "cuda")
    four_bit = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert four_bit and all(m.weight.device.type == "cuda" and m.weight.dtype == torch.uint8
                            for m in four_bit)
    report = trainer(tokenizer, ADAPTER_CFG, device="cuda").train(model)
    first, last = first_and_last_epoch_loss(report)
    assert last < first
    batch = tokenizer(["love it", "awful"], return_tensors="pt").to("cuda")
    with torch.no_grad():
        before = model(**batch).logits.float()
        merged = qlora.merge_for_deployment(model)
        after = merged(**batch).logits.float()
    assert all(p.dtype == torch.float32 for p in merged.parameters())
    assert count_parameters(merged)[1] == merged.num_parameters()
    torch.testing.assert_close(after, before, rtol=0, atol=5e-2)  # bf16 compute vs fp32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_timing_is_synchronised_and_memory_is_torchs_own(tmp_path):
    tokenizer = load_tokenizer(SPEC)
    inputs = build_inputs(splits(tokenizer)["test"], tokenizer, DeploySpec(batch_sizes=[1, 8],
                                                                           sequence_length=32))
    model = load_classifier(SPEC, TASK).to("cuda").eval()
    predictor = BACKENDS.get("torch")().prepare(model, inputs.examples, tmp_path, "cuda", 1)
    assert predictor.synchronize is torch.cuda.synchronize and predictor.cuda_memory_visible
    calls = {"fp32": bound_call(predictor, inputs.timed[8])}
    warm_up(calls, 3)
    stats = summarise(interleaved_rounds(calls, RoundBudget(6, 3, 2, 0.05))["fp32"], None, 8, 32, 3)
    assert stats.calls >= 12 and stats.p50_ms > 0
    assert cuda_working_memory(calls["fp32"])["cuda_working_bytes"] > 0
    assert predictor.info["device_name"] == torch.cuda.get_device_name(0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_onnxruntime_on_cuda_records_the_providers_that_ran(tmp_path):
    import onnxruntime as ort

    tokenizer = load_tokenizer(SPEC)
    inputs = build_inputs(splits(tokenizer)["test"], tokenizer, DeploySpec(batch_sizes=[1]))
    model = load_classifier(SPEC, TASK).to("cuda").eval()
    info = BACKENDS.get("onnxruntime")().prepare(model, inputs.examples, tmp_path, "cuda", 1).info
    cuda_ran = "CUDAExecutionProvider" in info["providers"]
    assert info["fell_back"] is (not cuda_ran)
    if "CUDAExecutionProvider" in ort.get_available_providers() and cuda_ran:
        assert info["device_name"] == torch.cuda.get_device_name(0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_check_reads_the_real_device():
    check = gpu_check()
    assert 0 <= check["memory_used_bytes"] < check["memory_total_bytes"]
    assert isinstance(check["idle"], bool)


@pytest.mark.parametrize("used_gib, utilization, idle", [(0.3, 0, True), (3, 0, False),
                                                         (0.3, 55, False), (0.3, None, True)])
def test_gpu_check_flags_a_busy_gpu(monkeypatch, used_gib, utilization, idle):
    total = 80 << 30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (total - int(used_gib * 2**30), total))

    def utilisation():
        if utilization is None:
            raise ModuleNotFoundError("pynvml")
        return utilization

    monkeypatch.setattr(torch.cuda, "utilization", utilisation)
    check = gpu_check()
    assert check["idle"] is idle and ("warning" in check) is (not idle)
