"""Is the shipped training recipe free in accuracy, and what does each lever buy in speed?

    python -m bench run suites/recipe_equivalence.toml
    python benchmarks/training_recipe.py equivalence runs/recipe_equivalence [--margin 0.01] \
        [--looks lora=3 --looks full=2]
    python benchmarks/training_recipe.py speed [--rounds 5] [--examples 1000] \
        [--compile] [--attention eager] [--threads 1] [--phases results/classification]

`equivalence` (benchmarks/_recipe_equivalence.py): each shipped method entry against its
`_plain` twin, paired by seed: the mean paired difference of test macro-F1 with its 90% and
95% intervals (two-level bootstrap of seeds and examples) and the equivalence verdict within
the margin (two one-sided tests; >= 10 paired seeds, else "not enough seeds"; alpha split over
an entry's `--looks`, the verdicts read before seeds were added, this one included), and the
records' training samples/s ratio per seed (indicative only: not measured side by side).
`speed` (benchmarks/_recipe_speed.py): samples/s of each recipe (_recipe_levers.py) and
method in rotated rounds, every measurement a fresh process; with `--phases`, where a cell's
time goes and the default suite's projected time per recipe (_recipe_phases.py).
Both write their section of results/benchmarks/training_recipe.json (or --out), keeping the
other. `--tiny`: the tiny random BERT, 64 examples, 2 steps (tests, smoke runs).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _recipe_* and timing helpers

from bench.errors import BenchInputError  # noqa: E402
from bench.record import now_iso  # noqa: E402

OUT = Path("results/benchmarks/training_recipe.json")
RECIPE_SUITE = Path("suites/recipe_equivalence.toml")
DEFAULT_SUITE = Path("suites/classification.toml")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    commands = parser.add_subparsers(dest="command", required=True)
    equivalence = commands.add_parser("equivalence", help="shipped against plain, by seed")
    equivalence.add_argument("results", type=Path)
    equivalence.add_argument("--margin", type=float, default=0.01,
                             help="equivalence margin in macro-F1 (0.01: 1 point)")
    equivalence.add_argument("--looks", action="append", default=[], metavar="ENTRY=K",
                             help="ENTRY's verdict was read K times, this one included, "
                             "seeds being added after each inconclusive one: alpha is split "
                             "over the K looks (default 1)")
    speed = commands.add_parser("speed", help="training samples/s per recipe")
    speed.add_argument("--rounds", type=int, default=5)
    speed.add_argument("--examples", type=int, help="training examples (default 1000; "
                       "--tiny 64)")
    speed.add_argument("--steps", type=int, help="measured steps (default one epoch)")
    speed.add_argument("--warmup-steps", type=int, help="steps first, not measured (default 3; "
                       "--tiny 1)")
    speed.add_argument("--methods", nargs="+", default=["lora", "full"])
    speed.add_argument("--suite", type=Path, default=RECIPE_SUITE,
                       help="where the cells come from (the first seed of each method)")
    speed.add_argument("--default-suite", type=Path, default=DEFAULT_SUITE,
                       help="the suite whose recipe is the shipped one, and that --phases projects")
    speed.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                       help="auto: only where the CPU has AVX512-BF16 or AMX")
    speed.add_argument("--compile", action="store_true", help="also measure torch.compile")
    speed.add_argument("--attention", choices=("eager", "sdpa"),
                       help="also measure this attention implementation")
    speed.add_argument("--threads", type=int,
                       help="also measure the cells on this many torch threads")
    speed.add_argument("--phases", type=Path, help="a results folder: per-phase seconds and "
                       "the default suite's projected time")
    speed.add_argument("--tiny", action="store_true", help="tiny random BERT, few steps")
    return parser.parse_args(argv)


def write_section(path: Path, name: str, section: dict) -> None:
    """Replace one section of the file, keeping the others."""
    from bench.record.store import write_json_atomic

    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = section
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, data)


def run_equivalence(args: argparse.Namespace) -> dict:
    from _recipe_equivalence import describe, equivalence_section
    from bench.measure.environment import git_state

    if not args.results.is_dir():
        raise BenchInputError(f"{args.results}: no such results folder")
    if not 0 < args.margin < 1:
        raise BenchInputError(f"--margin {args.margin}: expected a share of macro-F1 in (0, 1)")
    section = {**equivalence_section(args.results, args.margin, looks_of(args.looks)),
               "date": now_iso(),
               "git": git_state()}
    print("\n".join(describe(section)))
    return section


def looks_of(given: list[str]) -> dict[str, int]:
    """`--looks lora=3 --looks full=2` -> {"lora": 3, "full": 2}."""
    looks = {}
    for text in given:
        entry, _, count = text.partition("=")
        if not entry or not count.isdigit() or int(count) < 1:
            raise BenchInputError(f"--looks {text}: expected ENTRY=K with K >= 1, e.g. lora=3")
        looks[entry] = int(count)
    return looks


def speed_cells(args: argparse.Namespace) -> tuple[dict, object]:
    """method entry -> the first cell of --suite with it, and the shipped recipe."""
    from _recipe_levers import shipped_recipe
    from _recipe_speed import tiny_cells
    from bench.suite.devices import resolve_device
    from bench.suite.parser import load_suite

    cells = {}
    for cell in load_suite(args.suite).cells:
        cells.setdefault(cell.method_entry, cell)
    missing = [m for m in args.methods if m not in cells]
    if missing:
        raise BenchInputError(f"{args.suite}: no method entry {', '.join(map(repr, missing))} "
                              f"(it has {', '.join(cells)})")
    chosen = {m: cells[m] for m in args.methods}
    default = load_suite(args.default_suite).cells[0].training
    shipped = shipped_recipe(default, resolve_device(default.device))
    return (tiny_cells(chosen) if args.tiny else chosen), shipped


def run_speed(args: argparse.Namespace) -> dict:
    from _recipe_levers import bf16_capable, recipes
    from _recipe_phases import describe as describe_phases, phase_records, phases_section
    from _recipe_speed import RATIO_INTERVAL, SpeedPlan, describe, measure_speed
    from bench.measure.environment import cpu_info
    from timing import context

    examples = args.examples or (64 if args.tiny else 1000)
    warmup = args.warmup_steps if args.warmup_steps is not None else (1 if args.tiny else 3)
    for flag, value, least in (("--rounds", args.rounds, 1), ("--examples", examples, 1),
                               ("--steps", args.steps or 1, 1), ("--warmup-steps", warmup, 0),
                               ("--threads", args.threads or 1, 1)):
        if value < least:
            raise BenchInputError(f"{flag} {value}: expected at least {least}")
    if args.phases and not args.phases.is_dir():
        raise BenchInputError(f"--phases {args.phases}: no such results folder")
    records = phase_records(args.phases) if args.phases else []
    cells, shipped = speed_cells(args)
    plan = SpeedPlan.one_epoch(cells, recipes(shipped, args.bf16, args.compile, args.attention,
                                       args.threads),
                               examples, args.steps or (2 if args.tiny else None), warmup,
                               args.rounds)
    measured = measure_speed(plan, progress=lambda text: print(text, flush=True))
    section = {"settings": {"suite": str(args.suite), "methods": args.methods,
                            "cells": {m: c.id for m, c in cells.items()}, "tiny": args.tiny,
                            "examples": plan.examples, "steps": plan.steps,
                            "warmup_steps": plan.warmup_steps, "rounds": plan.rounds,
                            "order": "rotated each round", "bf16": args.bf16,
                            "bf16_capable": bf16_capable(cpu_info()["flags"]),
                            "ratio_interval": RATIO_INTERVAL,
                            "shipped": {"suite": str(args.default_suite),
                                        "levers": asdict(shipped)}},
               **asdict(measured), "date": now_iso(), "context": context({})}
    print("\n".join(describe(measured.results)))
    if args.phases:
        section["phases"] = phases_section(args.phases, records, args.default_suite,
                                           measured.results)
        print("\n".join(describe_phases(section["phases"])))
    return section


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        section = run_equivalence(args) if args.command == "equivalence" else run_speed(args)
    except BenchInputError as error:  # a suite's problems too, one line each
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_section(args.out, args.command, section)
    print(f"wrote section {args.command!r} of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
