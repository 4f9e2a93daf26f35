"""BitFit: only the biases train (every layer's, layer norms' included) plus the classifier
head; no peft. `save` writes only what trained (biases + head, one safetensors file) and
`load` puts it back onto a freshly loaded base, like an adapter. Already a plain model: merging
is a no-op."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bench.plugins import FineTuneMethod, NoParams

if TYPE_CHECKING:
    import torch.nn as nn
    from transformers import PreTrainedModel

    from bench.specs import ModelSpec
    from bench.task import TaskInfo

WEIGHTS_FILE = "bitfit.safetensors"


class BitFit(FineTuneMethod):
    name = "bitfit"

    def build(self, spec: ModelSpec, task: TaskInfo, params: NoParams,
              device: str) -> PreTrainedModel:
        from bench.models.loading import classifier_head_names, load_classifier

        model = load_classifier(spec, task).to(device)
        heads = tuple(f"{name}." for name in classifier_head_names(model))
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.startswith(heads) or name.endswith("bias"))
        return model

    def save(self, model: nn.Module, directory: Path) -> None:
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        trained = {name: p.detach().cpu().contiguous() for name, p in model.named_parameters()
                   if p.requires_grad}
        save_file(trained, str(directory / WEIGHTS_FILE), metadata={"method": self.name})

    def load(self, spec: ModelSpec, task: TaskInfo, params: NoParams, directory: Path,
             device: str) -> PreTrainedModel:
        from safetensors.torch import load_file

        from bench.models.loading import load_classifier

        model = load_classifier(spec, task)
        trained = load_file(str(directory / WEIGHTS_FILE))
        missing = set(trained) - {name for name, _ in model.named_parameters()}
        if missing:
            raise ValueError(f"{directory / WEIGHTS_FILE} holds weights the model lacks: "
                             f"{sorted(missing)[:5]}")
        model.load_state_dict(trained, strict=False)
        return model.to(device).eval()

    def merge_for_deployment(self, model: nn.Module) -> nn.Module:
        return model.float().requires_grad_(True)  # a plain model: every weight trainable again
