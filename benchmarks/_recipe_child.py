"""One measurement of `training_recipe.py speed`, in a process of its own (so that memory,
threads and compiled kernels of one recipe never carry over to the next):

    python benchmarks/_recipe_child.py SPEC.json OUT.json

SPEC holds the cell (bench/suite/cell.py cell_to_json), the recipe, the training examples and
the warm-up and measured step counts. The child builds data, tokenizer and model as the
training stage does (bench/stages/training.py), applies the recipe's levers, trains
`warmup_steps` then `steps` more with the harness's CellTrainer (evaluation off, a fixed step
count), and writes the measured run's figures to OUT.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class ChildSpec:
    cell: str  # cell_to_json
    recipe: dict  # _recipe_levers.Recipe fields
    examples: int
    steps: int
    warmup_steps: int


@dataclass
class Measurement:
    """What one child measured: the run after the warm-up, and how it ran."""

    recipe: str
    method: str
    cell: str
    samples_per_s: float
    train_time_s: float
    steps: int
    warmup_steps: int
    warmup_samples_per_s: float | None  # far below the measured run: the warm-up compiled
    train_samples: int
    batch_size: int
    sampling: str
    precision: str
    attention: str  # the implementation the model ran
    compiled: bool
    threads: int
    peak_rss_bytes: int | None


def measure(spec: ChildSpec) -> Measurement:
    """Train the cell's method under the recipe; the figures of the run after the warm-up."""
    import torch

    from _recipe_levers import Recipe, autocast, prepare_model
    from bench.data import prepare_dataset
    from bench.models.loading import load_tokenizer
    from bench.registry import METHODS
    from bench.stages.trainer import CellTrainer
    from bench.stages.training import use_threads
    from bench.suite.cell import cell_from_json
    from bench.suite.devices import resolve_device

    cell, recipe = cell_from_json(spec.cell), Recipe(**spec.recipe)
    sampling = "group_by_length" if recipe.group_by_length else "random"
    cfg = replace(cell.training, eval_each_epoch=False, keep_best=False, report_to=[],
                  early_stopping_patience=None, sampling=sampling, precision="fp32")
    use_threads(recipe.threads or cfg.threads)
    device = resolve_device(cfg.device)
    data_spec = replace(cell.dataset, train_size=spec.examples)
    data = prepare_dataset(data_spec, Path(cell.base_dir))
    trainer = CellTrainer.of_prepared(data, load_tokenizer(cell.model), cfg, device,
                                      data_spec.max_length)
    method = METHODS.get(cell.method)()
    torch.manual_seed(cfg.seed)
    model = method.build(cell.model, data.task, cell.method_params, device)
    attention = prepare_model(model, recipe)
    runs = []
    with autocast(recipe, device):
        for steps in (spec.warmup_steps, spec.steps):
            if steps > 0:
                runs.append(replace(trainer, config=replace(cfg, max_steps=steps)).train(model))
    summary = runs[-1]
    return Measurement(
        recipe.name, cell.method_entry, cell.id, summary.samples_per_s, summary.train_time_s,
        summary.steps, spec.warmup_steps, runs[0].samples_per_s if len(runs) > 1 else None,
        summary.train_samples, cfg.batch_size, sampling,
        "bf16 autocast" if recipe.bf16 else "fp32", attention, recipe.compile,
        torch.get_num_threads(), summary.peak_rss_bytes)


def main(argv: list[str]) -> int:
    spec_path, out_path = (Path(a) for a in argv)
    spec = ChildSpec(**json.loads(spec_path.read_text()))
    out_path.write_text(json.dumps(asdict(measure(spec)), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
