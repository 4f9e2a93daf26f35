"""IA3: learnt vectors that rescale chosen activations; the fewest trainable weights of all."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.methods._peft_common import AdapterMethod, empty_module_lists

if TYPE_CHECKING:
    from peft import IA3Config


@dataclass
class IA3Params:
    """None: peft's default for the architecture. For BERT that is key, value and
    "output.dense", a pattern that matches the FFN output *and* the attention output layer
    (both scaled on their input)."""

    target_modules: list[str] | None = None
    feedforward_modules: list[str] | None = None

    def field_problems(self) -> list[tuple[str, str]]:
        problems = empty_module_lists(self, ("target_modules", "feedforward_modules"))
        if self.target_modules and self.feedforward_modules and not set(
                self.feedforward_modules) <= set(self.target_modules):
            problems.append(("feedforward_modules", "expected a subset of target_modules"))
        return problems


class IA3(AdapterMethod):
    name = "ia3"
    Params = IA3Params
    module_keys: ClassVar[tuple[str, ...]] = ("target_modules", "feedforward_modules")

    def adapter_config(self, params: IA3Params, heads: list[str]) -> IA3Config:
        from peft import IA3Config, TaskType

        return IA3Config(task_type=TaskType.SEQ_CLS, target_modules=params.target_modules,
                         feedforward_modules=params.feedforward_modules, modules_to_save=heads)

