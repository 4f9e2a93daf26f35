"""What a stage's result depends on, hashed: a cell's result is keyed by its configuration, not
only by its readable id, so that an edited suite reruns what changed and never mixes old
figures with new ones.

- The training key hashes the model spec, the dataset spec, the method and its parameters and
  the training configuration as resolved on this host (a device or precision of "auto" counts
  as what it chose), the seed included; a [study] cell adds its role (trial N, or seed N of
  the chosen trial), whose drawn values are already in its method parameters or training.
- The deployment key hashes the training key, the [deploy] table, the compressions' parameters
  and this host's hardware: a deployment measured on another CPU is another result.

Paths in a spec (a dataset file) are hashed as written, relative to the suite file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from bench.suite.cell import Cell
from bench.suite.devices import cuda_available, resolve_device, resolve_precision
from bench.specs import TrainingConfig

KEY_LENGTH = 16  # hex digits: 64 bits, plenty for the cells of one results folder


@dataclass(frozen=True)
class StageKeys:
    training: str
    deployment: str | None  # None: the cell has no deployment stage


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def resolved_training(training: TrainingConfig) -> TrainingConfig:
    """The training configuration as it will run here: "auto" replaced by its choice."""
    device = resolve_device(training.device)
    return dataclasses.replace(training, device=device,
                               precision=resolve_precision(training.precision, device))


def training_inputs(cell: Cell) -> dict:
    """Everything the training stage reads, as plain JSON; a [study] cell's role too (a trial
    skips the test split), absent elsewhere so that earlier keys stay as they were."""
    inputs = {"model": asdict(cell.model), "dataset": asdict(cell.dataset),
              "method": {"name": cell.method, "params": asdict(cell.method_params)},
              "training": asdict(resolved_training(cell.training))}
    return inputs if cell.study is None else {**inputs, "study": asdict(cell.study)}


def training_key(cell: Cell) -> str:
    return digest(training_inputs(cell))


def host_hardware() -> dict:
    """The hardware a deployment's speed figures depend on: CPU model, instruction sets, cores,
    the GPU where one is used."""
    from bench.measure.environment import cpu_info

    gpu = None
    if cuda_available():
        import torch

        gpu = torch.cuda.get_device_name(0)
    return {**cpu_info(), "gpu": gpu}


def deployment_key(cell: Cell, trained_with: str, hardware: dict) -> str | None:
    if cell.deploy is None:
        return None
    return digest({"training": trained_with, "deploy": asdict(cell.deploy),
                   "compressions": {name: asdict(params)
                                    for name, params in sorted(cell.compressions.items())},
                   "hardware": hardware})


def stage_keys(cell: Cell, hardware: dict | None = None) -> StageKeys:
    key = training_key(cell)
    return StageKeys(key, deployment_key(cell, key, hardware or host_hardware()))


def config_changes(old: dict, new: dict, defaults: dict | None = None,
                   limit: int = 3) -> list[str]:
    """The keys whose values differ between two recorded configurations, in words
    ("training.learning_rate: 0.004 -> 0.002"), at most `limit` of them. A key the old record
    lacks (added to peft-bench since) is no change where the new value is its default
    (`defaults`, flattened keys): a new key's default keeps the behaviour from before it."""
    flat_old, flat_new, defaults = flatten(old), flatten(new), defaults or {}
    absent = object()
    changed = [f"{key}: {flat_old.get(key, '(absent)')} -> {flat_new.get(key, '(absent)')}"
               for key in sorted(flat_old.keys() | flat_new.keys())
               if flat_old.get(key, absent) != flat_new.get(key, absent)
               and not (key not in flat_old and flat_new.get(key) == defaults.get(key, absent))]
    return changed[:limit] + ([f"{len(changed) - limit} more"] if len(changed) > limit else [])


def config_defaults(cell: Cell) -> dict:
    """The default of every key of the cell's recorded configuration that has one, flattened
    as `config_changes` compares them."""
    parts = {"model": cell.model, "dataset": cell.dataset, "training": cell.training,
             "method.params": cell.method_params, "deploy": cell.deploy,
             **{f"compressions.{name}": params for name, params in cell.compressions.items()}}
    return {"study": None, **{f"{prefix}.{field.name}": default
                              for prefix, part in parts.items() if part is not None
                              for field in dataclasses.fields(part)
                              for default in [field_default(field)] if default is not NO_DEFAULT}}


NO_DEFAULT = object()


def field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return NO_DEFAULT


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}
