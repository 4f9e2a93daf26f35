"""The training recipes `training_recipe.py speed` measures: the plain one (random batches,
fp32, the model's attention as it loads, no compilation), each lever alone, and the recipe the
default suite ships, each applied around the harness's own trainer (bench/stages/trainer.py).

- length grouping: the harness's `sampling = "group_by_length"` (a suite key);
- bf16 autocast: the harness refuses bf16 on a CPU (bench/suite/devices.py resolve_precision),
  so the lever wraps the trainer in torch.autocast(device, bfloat16); it is measured only where
  the CPU has AVX512-BF16 or AMX (or when asked with --bf16 on);
- torch.compile: nn.Module.compile(dynamic=True) on the built model, in place, before the
  trainer sees it. Dynamic shapes from the start: dynamic padding gives batches of many
  lengths, and the default (static, then dynamic after a recompile) recompiled inside the
  measured steps of a trial run (LoRA at 10 samples/s after 5 warm-up steps, 38 plain);
- attention: the model switched to another attention implementation ("eager" or "sdpa")
  with transformers' set_attn_implementation after it is built;
- threads: torch's intra-op threads for the cell (the suite's `training.threads`); fewer
  threads per cell pays when the cells per hour of k cells side by side, each on its share of
  the cores, beat one cell on all of them (the Ray executor's `--workers`).
Compile and attention are not harness settings; they are measured here only, when asked.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields

from bench.measure.environment import cpu_info

BF16_FLAGS = ("avx512_bf16", "amx")


@dataclass(frozen=True)
class Recipe:
    """A set of levers; `name` says which (the plain recipe has none on)."""

    name: str
    group_by_length: bool = False
    bf16: bool = False
    compile: bool = False
    attention: str | None = None  # None: the implementation the model loads with
    threads: int | None = None  # None: the cell's own `training.threads`

    def levers(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "name")


PLAIN = Recipe("plain")


def bf16_capable(flags: dict[str, bool | None]) -> bool:
    """bf16 runs fast on a CPU only with its own instructions; elsewhere it is emulated."""
    return any(flags.get(name) for name in BF16_FLAGS)


def recipes(shipped: Recipe, bf16: str, compile_: bool, attention: str | None,
            threads: int | None = None) -> list[Recipe]:
    """Plain first, then each lever alone, then the shipped recipe (its own entry only where
    no single lever already is it). `bf16`: "auto" (where the CPU has the instructions),
    "on" or "off"."""
    chosen = [PLAIN, Recipe("length grouping", group_by_length=True)]
    if bf16 == "on" or (bf16 == "auto" and bf16_capable(cpu_info()["flags"])):
        chosen.append(Recipe("bf16 autocast", bf16=True))
    if compile_:
        chosen.append(Recipe("torch.compile", compile=True))
    if attention:
        chosen.append(Recipe(f"{attention} attention", attention=attention))
    if threads:
        chosen.append(Recipe(f"{threads} thread{'s' if threads > 1 else ''}", threads=threads))
    same = [r for r in chosen if r.levers() == shipped.levers()]
    if same:
        index = chosen.index(same[0])
        chosen[index] = Recipe(f"{same[0].name} (shipped)", *same[0].levers())
    else:
        chosen.append(shipped)
    return chosen


def shipped_recipe(training, device: str) -> Recipe:
    """The levers a suite's training configuration turns on, on this device."""
    from bench.suite.devices import resolve_precision

    return Recipe("shipped", group_by_length=training.sampling == "group_by_length",
                  bf16=resolve_precision(training.precision, device) == "bf16")


def prepare_model(model, recipe: Recipe):
    """The model levers, applied in place; returns the attention implementation it runs."""
    if recipe.attention:
        model.set_attn_implementation(recipe.attention)
    if recipe.compile:
        model.compile(dynamic=True)
    return model.config._attn_implementation


def autocast(recipe: Recipe, device: str):
    import torch

    if recipe.bf16:
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()
