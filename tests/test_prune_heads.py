"""Head pruning removes whole attention heads: every layer is told its new head count, the
q/k/v projections shrink by whole heads, and the pruned model still runs on any input shape."""
import torch

from bench.stages.variants import CompressionContext
from bench.models.loading import load_classifier, load_tokenizer
from bench.specs import ModelSpec
from bench.compressions.prune import PruneParams, StructuredPrune
from toy import TASK

SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")


def test_head_pruning_removes_heads_and_the_model_still_runs():
    tokenizer = load_tokenizer(SPEC)
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK).eval()
    example = dict(tokenizer(["love great item", "awful worst hate item 3"], padding=True,
                             return_tensors="pt"))
    head_size = model.bert.encoder.layer[0].attention.self.attention_head_size
    assert model.config.num_attention_heads == 2
    pruned, info = StructuredPrune().transform(
        model, PruneParams(ffn_ratio=0.0, head_ratio=0.5), CompressionContext(None, example, "cpu"))
    assert info["heads"] == "2->1" and info["ffn"] == "128->128"
    assert info["parameters_after"] < info["parameters_before"]
    assert info["config_matches"] is False  # the config no longer describes the model
    for layer in pruned.bert.encoder.layer:
        attention = layer.attention.self
        assert attention.num_attention_heads == 1
        assert attention.all_head_size == head_size
        for linear in (attention.query, attention.key, attention.value):
            assert linear.out_features == head_size
        assert layer.attention.output.dense.in_features == head_size
    other = dict(tokenizer(["a longer text than the example batch had in it"] * 3,
                           return_tensors="pt"))
    with torch.inference_mode():
        logits = pruned(**other).logits
    assert logits.shape == (3, TASK.num_labels) and torch.isfinite(logits).all()
