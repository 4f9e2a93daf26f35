"""Full fine-tuning: every weight trains; the reference the adapter methods are measured against."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bench.plugins import FineTuneMethod, NoParams

if TYPE_CHECKING:
    import torch.nn as nn
    from transformers import PreTrainedModel

    from bench.specs import ModelSpec
    from bench.task import TaskInfo


class FullFineTuning(FineTuneMethod):
    name = "full"
    # every weight moves: rates an order of magnitude below the adapters' (suites/tuning.toml
    # chose 1.6e-4 of 4e-5..1.6e-4 on the tweets)
    study_space = {"learning_rate": {"log_uniform": [1e-5, 3e-4]}}

    def build(self, spec: ModelSpec, task: TaskInfo, params: NoParams, device: str) -> PreTrainedModel:
        from bench.models.loading import load_classifier

        return load_classifier(spec, task).to(device)

    def save(self, model: nn.Module, directory: Path) -> None:
        model.save_pretrained(directory)  # safetensors, config with the labels

    def load(self, spec: ModelSpec, task: TaskInfo, params: NoParams, directory: Path,
             device: str) -> PreTrainedModel:
        from bench.models.loading import load_classifier

        return load_classifier(spec, task, checkpoint=directory).to(device).eval()

    def merge_for_deployment(self, model: nn.Module) -> nn.Module:
        return model  # nothing to merge: already a plain fp32 model
