"""`training_recipe.py speed`: training samples/s of each recipe (benchmarks/_recipe_levers.py)
and method, every measurement a fresh child process (benchmarks/_recipe_child.py), in rounds
whose order rotates (benchmarks/timing.py alternate: A B C, B C A, ...). Each recipe's ratio
to the plain recipe is taken per round, for the same method; its interval is timing.py's
paired_ratio: the distribution-free interval of the median from 6 rounds on (95%), else
[min, max] of the per-round ratios with its own coverage (93.75% for 5 rounds)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from _recipe_child import ChildSpec, Measurement
from _recipe_levers import PLAIN, Recipe
from bench.measure.machine_load import LoadProbe
from timing import alternate, paired_ratio, spread

CHILD = Path(__file__).resolve().parent / "_recipe_child.py"
RATIO_INTERVAL = ("per-round ratio to plain, same method: from 6 rounds on the 95% "
                  "distribution-free interval of its median, else [min, max] over the rounds "
                  "with its coverage (`interval_coverage`)")


@dataclass
class SpeedPlan:
    cells: dict[str, object]  # method entry -> its bench.suite.cell.Cell
    recipes: list[Recipe]
    examples: int
    steps: int
    warmup_steps: int
    rounds: int

    @classmethod
    def one_epoch(cls, cells: dict, recipes: list[Recipe], examples: int, steps: int | None,
                  warmup_steps: int, rounds: int) -> "SpeedPlan":
        """`steps` None: one epoch of `examples` at the cells' batch size."""
        batch = next(iter(cells.values())).training.batch_size
        return cls(cells, recipes, examples, steps or math.ceil(examples / batch),
                   warmup_steps, rounds)


@dataclass
class RecipeSpeed:
    """One recipe and method over the rounds: samples/s (timing.py spread) and the per-round
    ratio to the plain recipe (timing.py paired_ratio; None for plain itself)."""

    recipe: Recipe
    method: str
    samples_per_s: dict
    ratio_to_plain: dict | None


@dataclass
class SpeedFigures:
    results: list[RecipeSpeed]  # per recipe and method, in the plan's order
    measurements: list[Measurement]  # every child's, in the order they ran
    machine_load: dict  # bench/measure/machine_load.py LoadProbe summary


def mode_name(recipe: Recipe, method: str) -> str:
    return f"{recipe.name} / {method}"


def in_child(spec: ChildSpec) -> Measurement:
    """One measurement in a fresh process (benchmarks/_recipe_child.py)."""
    with tempfile.TemporaryDirectory(prefix="recipe-speed-") as scratch:
        spec_path, out_path = Path(scratch) / "spec.json", Path(scratch) / "out.json"
        spec_path.write_text(json.dumps(asdict(spec)))
        done = subprocess.run([sys.executable, str(CHILD), str(spec_path), str(out_path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{spec.recipe['name']}: the measuring process failed "
                             f"(exit {done.returncode}):\n{done.stderr[-3000:]}")
        return Measurement(**json.loads(out_path.read_text()))


def measure_speed(plan: SpeedPlan, progress=print,
                  measure_one: Callable[[ChildSpec], Measurement] = in_child) -> SpeedFigures:
    """Samples/s per recipe and method over the rounds, the ratios to plain, and the load.
    `measure_one`: how one measurement runs (a fresh process; the tests run it in theirs)."""
    from bench.suite.cell import cell_to_json

    details: list[Measurement] = []

    def run(recipe: Recipe, method: str) -> float:
        spec = ChildSpec(cell_to_json(plan.cells[method]), asdict(recipe), plan.examples,
                         plan.steps, plan.warmup_steps)
        details.append(measure_one(spec))
        return details[-1].samples_per_s

    modes = {mode_name(recipe, method): (lambda r=recipe, m=method: run(r, m))
             for recipe in plan.recipes for method in plan.cells}
    probe = LoadProbe()
    probe.quiet_check("before")
    figures = alternate(modes, plan.rounds, probe, progress=progress)
    probe.quiet_check("after")
    results = [RecipeSpeed(recipe, method, spread(figures[mode_name(recipe, method)]),
                           None if recipe == PLAIN else paired_ratio(
                               figures[mode_name(recipe, method)],
                               figures[mode_name(PLAIN, method)]))
               for recipe in plan.recipes for method in plan.cells]
    return SpeedFigures(results, details, probe.summary().to_dict())


def describe(results: list[RecipeSpeed]) -> list[str]:
    lines = []
    for row in results:
        rate = row.samples_per_s
        line = (f"{row.recipe.name:>28} / {row.method:<6}: median {rate['median']:8.2f} "
                f"samples/s (min {rate['min']:.2f}, max {rate['max']:.2f})")
        ratio = row.ratio_to_plain
        if ratio:
            low, high = ratio["interval"]
            line += (f"; {ratio['median']:.2f}x plain [{low:.2f}, {high:.2f}] "
                     f"({interval_kind(ratio)}; {ratio['verdict']})")
        lines.append(line)
    return lines


def interval_kind(ratio: dict) -> str:
    """What the interval of a per-round ratio is (timing.py paired_ratio)."""
    rounds, coverage = len(ratio["per_round"]), ratio["interval_coverage"]
    if rounds >= 6:
        return f"{coverage:.0%} distribution-free interval of the median over {rounds} rounds"
    return f"min-max of {rounds} per-round ratios, coverage {coverage:.1%}"


def tiny_cells(cells: dict) -> dict:
    """The cells on the built-in tiny random BERT (tests, smoke runs): the same data and
    training, a model that trains in a blink."""
    from bench.specs import ModelSpec

    return {name: replace(cell, model=ModelSpec("tiny-bert", "tiny-bert"),
                          training=replace(cell.training, threads=1),
                          dataset=replace(cell.dataset, validation_size=16, test_size=16))
            for name, cell in cells.items()}
