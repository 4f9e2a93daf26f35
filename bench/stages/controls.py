"""Controls of the compressions that retrain (pruning recovery epochs, QAT): the uncompressed
model given the same extra training as a chain, with the same trainer and settings, but not
compressed. A retraining variant against its control is what the compression did; the control
against fp32 is what the extra training did. Without it, a pruned model that gained a point
from its recovery epoch reads as "pruning improves F1".

A control is named after the steps whose training it repeats: `fp32+prune-training` is the
fp32 model trained for prune's recovery epochs at its learning rate;
`fp32+prune-training+qat-training` repeats both, in chain order. Chains that retrain alike
share one control (prune and prune+int8). It is built and scored (test and validation, its
predictions kept) on the first backend only, and not timed: its graph is fp32's, so its latency
is fp32's, and timing it would add one more variant to every timing round for nothing.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from bench.plugins import Compression, ExtraTraining, Trainer

if TYPE_CHECKING:
    import torch.nn as nn

UNCOMPRESSED = "fp32"  # the variant name of the uncompressed model


@dataclass(frozen=True)
class Control:
    steps: tuple[tuple[str, ExtraTraining], ...]  # (compression, the training it adds)

    @property
    def name(self) -> str:
        return "+".join([UNCOMPRESSED, *(f"{step}-training" for step, _ in self.steps)])

    @property
    def trained_as(self) -> list[str]:
        return [step for step, _ in self.steps]

    def train(self, model: nn.Module, trainer: Trainer,
              progress: Callable[[str], None]) -> tuple[nn.Module, dict]:
        """A copy of `model` trained as the chain trains; what each step's training was."""
        model = copy.deepcopy(model)
        for step, training in self.steps:
            progress(f"control {self.name}: {step}'s training, {training.epochs} epoch(s)")
            model = training.run(model, trainer)
        return model.eval(), {step: {"epochs": training.epochs,
                                     "learning_rate": training.learning_rate}
                              for step, training in self.steps}


def control_of(chain: list[str], compressions: dict[str, Compression],
               params: dict[str, Any]) -> Control | None:
    """The control of `chain`, None where no step of it trains."""
    steps = [(name, compressions[name].extra_training(params[name])) for name in chain]
    trained = tuple((name, training) for name, training in steps if training is not None)
    return Control(trained) if trained else None
