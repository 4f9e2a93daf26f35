"""Quantization-aware training really trains fake-quantized: during the extra epochs every
Linear layer of the base model is a fake-quantized one (the classifier head is not), its output
differs from the fp32 layer's by int8 rounding; after conversion the layers are plain again and
the torch recipe stores int8 weights."""
import copy

import torch
import torch.nn as nn
from torchao.quantization.qat import FakeQuantizedLinear

from bench.stages.variants import CompressionContext
from bench.models.loading import load_classifier, load_tokenizer
from bench.specs import ModelSpec, TrainingConfig
from bench.stages.trainer import CellTrainer
from bench.compressions.qat import QATParams, QuantizationAwareTraining, quantize_torchao
from toy import TASK, trainer

SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")
CFG = TrainingConfig(epochs=1, batch_size=8, learning_rate=1e-3, logging_steps=2,
                     eval_each_epoch=False, keep_best=False)


def base_linears(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules()
            if name.startswith("bert.") and isinstance(m, nn.Linear)}


def test_qat_trains_fake_quantized_and_converts_to_int8_weights():
    tokenizer = load_tokenizer(SPEC)
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK).eval()
    fp32 = copy.deepcopy(model)
    example = dict(tokenizer(["love great item", "awful worst hate item 3", "meeting noon"],
                             padding=True, return_tensors="pt"))
    seen = {}

    class Watched(CellTrainer):
        def train_more(self, m, epochs, learning_rate):
            watch(m)
            super().train_more(m, epochs, learning_rate)
            seen["still_fake"] = isinstance(m.bert.encoder.layer[0].attention.self.query,
                                            FakeQuantizedLinear)
            return m

    def watch(m):
        linears = base_linears(m)
        seen["fake"] = sum(isinstance(l, FakeQuantizedLinear) for l in linears.values())
        seen["linears"] = len(linears)
        seen["head_fake"] = isinstance(m.classifier, FakeQuantizedLinear)
        query = m.bert.encoder.layer[0].attention.self.query
        x = torch.randn(3, 5, query.in_features)
        with torch.no_grad():
            seen["rounding"] = float((query(x) - fp32.bert.encoder.layer[0].attention.self.query(x))
                                     .abs().max())

    context = CompressionContext(Watched(**vars(trainer(tokenizer, CFG))), example, "cpu")
    qat, info = QuantizationAwareTraining().transform(
        model, QATParams(epochs=1, learning_rate=1e-3), context)

    assert seen["linears"] == 13 and seen["fake"] == 13  # 2 layers x 6 Linear + the pooler
    assert not seen["head_fake"] and seen["still_fake"]
    assert 0 < seen["rounding"] < 0.5  # int8 rounding: a change, a small one
    assert not any(isinstance(m, FakeQuantizedLinear) for m in qat.modules())
    moved = (qat.bert.encoder.layer[0].attention.self.query.weight
             - fp32.bert.encoder.layer[0].attention.self.query.weight).abs().max()
    assert moved > 0  # the extra epochs trained the weights
    assert "int8" in info["trained_as"]

    with torch.inference_mode():
        converted_logits = qat(**example).logits
    int8 = quantize_torchao(qat)
    for name, linear in base_linears(int8).items():
        assert linear.weight.qdata.dtype == torch.int8, name
        assert linear.weight.qdata.shape == linear.weight.shape
    assert type(int8.classifier.weight) is nn.Parameter
    with torch.inference_mode():
        int8_logits = int8(**example).logits
    assert torch.equal(int8_logits.argmax(-1), converted_logits.argmax(-1))
    assert (int8_logits - converted_logits).abs().max() < 0.2
