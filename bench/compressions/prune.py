"""Structured pruning with torch-pruning: remove whole FFN channels (and optionally whole
attention heads) by weight magnitude, so that the model gets really smaller and faster on
every backend, not just sparser. Optionally recovers accuracy with more training epochs.

Supports BERT-style encoders (`<base>.encoder.layer[i].intermediate.dense`,
`attention.self.query/key/value`: BERT, MiniLM, RoBERTa, ELECTRA...). GPT-2 keeps its weights
in transformers' Conv1D, which torch-pruning does not know how to prune: skipped.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.errors import VariantSkipped
from bench.plugins import Compression, CompressionContext, ExtraTraining
from bench.table_checks import AT_LEAST_ONE, FRACTION, NOT_NEGATIVE, POSITIVE

if TYPE_CHECKING:
    import torch
    import torch.nn as nn


@dataclass
class PruneParams:
    ffn_ratio: float = 0.3  # fraction of FFN channels removed in every layer
    head_ratio: float = 0.0  # fraction of attention heads removed in every layer
    round_to: int = 8  # keep channel counts multiples of this (fast kernels)
    # epochs of the cell's training after pruning (needs the cell's trainer)
    recovery_epochs: float = 0
    recovery_learning_rate: float = 5e-5  # full fine-tuning rate: the model is no adapter now

    ranges: ClassVar[dict] = {"ffn_ratio": FRACTION, "head_ratio": FRACTION,
                              "round_to": AT_LEAST_ONE, "recovery_epochs": NOT_NEGATIVE,
                              "recovery_learning_rate": POSITIVE}

    def field_problems(self) -> list[tuple[str, str]]:
        if self.ffn_ratio == 0 and self.head_ratio == 0:
            return [("ffn_ratio", "ffn_ratio and head_ratio are both 0: nothing to prune")]
        return []


class StructuredPrune(Compression):
    name = "prune"
    Params = PruneParams
    changes_model = True

    def check(self, params: PruneParams, device: str, can_finetune: bool) -> None:
        if params.recovery_epochs > 0 and not can_finetune:
            raise VariantSkipped("compressions.prune.recovery_epochs > 0 needs the cell's "
                                 "training loop, which is not available here")

    def transform(self, model: nn.Module, params: PruneParams,
                  context: CompressionContext) -> tuple[nn.Module, dict]:
        layers = encoder_layers(model)
        before = describe(model, layers)
        prune(model, layers, params, context.example)
        after = describe(model, layers)
        model.config.intermediate_size = after["ffn"]
        info = {"ffn": f"{before['ffn']}->{after['ffn']}",
                "heads": f"{before['heads']}->{after['heads']}",
                "parameters_before": before["parameters"], "parameters_after": after["parameters"],
                "config_matches": params.head_ratio == 0, "recovery_epochs": params.recovery_epochs}
        recovery = self.extra_training(params)
        if recovery:
            context.progress(f"prune: recovery training, {recovery.epochs} epoch(s)")
            model = recovery.run(model, context.trainer)
        return model.eval(), info

    def extra_training(self, params: PruneParams) -> ExtraTraining | None:
        if params.recovery_epochs <= 0:
            return None
        return ExtraTraining(params.recovery_epochs, params.recovery_learning_rate)


def encoder_layers(model: nn.Module) -> list[nn.Module]:
    import torch.nn as nn

    encoder = getattr(model.base_model, "encoder", None)
    layers = list(getattr(encoder, "layer", []) or [])
    if not layers or not all(isinstance(getattr(getattr(l, "intermediate", None), "dense", None),
                                        nn.Linear) for l in layers):
        raise VariantSkipped(f"prune supports BERT-style encoders (encoder.layer[i].intermediate"
                             f".dense as nn.Linear); {type(model).__name__} has another layout "
                             f"(GPT-2's Conv1D layers are not prunable by torch-pruning)")
    return layers


def describe(model: nn.Module, layers: list[nn.Module]) -> dict:
    return {"ffn": layers[0].intermediate.dense.out_features,
            "heads": layers[0].attention.self.num_attention_heads,
            "parameters": sum(p.numel() for p in model.parameters())}


def prune(model: nn.Module, layers: list[nn.Module], params: PruneParams,
          example: dict[str, torch.Tensor]) -> None:
    """One MetaPruner step with per-layer ratios, so every layer keeps the same shape.

    Heads: torch-pruning prunes whole heads only when q/k/v are in `num_heads` AND in the
    ratio dict (otherwise it silently prunes nothing); BERT's attention must then be told its
    new head count.
    """
    import torch_pruning as tp

    ratios: dict[nn.Module, float] = {}
    heads: dict[nn.Module, int] = {}
    for layer in layers:
        if params.ffn_ratio:
            ratios[layer.intermediate.dense] = params.ffn_ratio
        if params.head_ratio:
            attention = layer.attention.self
            for linear in (attention.query, attention.key, attention.value):
                heads[linear] = attention.num_attention_heads
                ratios[linear] = params.head_ratio
    head_modules = [m for name, m in model.named_children() if name != model.base_model_prefix]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pruner = tp.pruner.MetaPruner(
            model, example, importance=tp.importance.MagnitudeImportance(p=2),
            pruning_ratio=0.0, pruning_ratio_dict=ratios, ignored_layers=head_modules,
            round_to=params.round_to, num_heads=heads, prune_num_heads=bool(heads),
            prune_head_dims=False, head_pruning_ratio=params.head_ratio,
            output_transform=lambda output: output.logits.sum())
        pruner.step()
    for layer in layers:
        attention = layer.attention.self
        if attention.query in pruner.num_heads:
            attention.num_attention_heads = pruner.num_heads[attention.query]
            attention.all_head_size = attention.query.out_features
