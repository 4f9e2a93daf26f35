"""Do a cell's speed-ups reproduce? Times the same deployed variants twice in a row.

    python benchmarks/deploy_repro.py suites/classification.toml minilm--full--tweets

Loads the cell's saved model from `<results>/artefacts/<cell id>/<training key>/model` (the
suite's output folder, or --results), merges it as `bench run` does, builds the cell's deployment variants once
(compressions, exports, sessions, exactly as the suite's [deploy] table says, QAT training
included), then runs the deployment measurement (timing processes of shuffled interleaved rounds,
speed-ups with their interval, machine-load checks; docs/measurement.md) twice in a row on
those same variants.
Prints every speed-up of both runs and their ratio, and writes the figures with the commit,
library versions, CPU and settings to results/benchmarks/deploy_repro--<cell id>.json (or
--json). --rounds, --warmup-calls, --round-min-calls, --round-min-duration-s and
--timing-processes override the suite's timing budget. Run it on a quiet machine: both runs'
machine load is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
AGREEMENT = 0.10  # the two runs' speed-ups should agree within this relative difference
BUDGET = ("rounds", "warmup_calls", "round_min_calls", "round_min_duration_s", "timing_processes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path)
    parser.add_argument("cell", help="a deployed cell id of the suite (see `bench validate SUITE`)")
    parser.add_argument("--results", type=Path, help="the suite's results folder (default: its own)")
    parser.add_argument("--json", type=Path, help="where to write the figures")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--warmup-calls", type=int)
    parser.add_argument("--round-min-calls", type=int)
    parser.add_argument("--round-min-duration-s", type=float)
    parser.add_argument("--timing-processes", type=int)
    args = parser.parse_args(argv)

    from bench.errors import BenchInputError
    from bench.record.store import ResultStore
    from bench.stages.stage_files import StageFiles
    from bench.suite.identity import training_key
    from bench.suite.parser import load_suite

    try:
        suite = load_suite(args.suite)
        cell = next((c for c in suite.cells if c.id == args.cell), None)
        if cell is None or cell.deploy is None:
            raise BenchInputError(f"{args.suite}: no deployed cell {args.cell!r}")
        artefacts = StageFiles(ResultStore(args.results or suite.output_dir).cell_artefacts(
            cell.id) / training_key(cell)).model
        if not artefacts.is_dir():
            raise BenchInputError(f"{artefacts}: no saved model (run the suite first)")
        overrides = {k: getattr(args, k) for k in BUDGET if getattr(args, k) is not None}
        spec = replace(cell.deploy, **overrides)
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    runs, threads = measure_twice(cell, artefacts, spec)
    summary = summarise(cell.id, spec, threads, runs)
    print_summary(summary)
    out = args.json or Path("results/benchmarks") / f"deploy_repro--{cell.id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written: {out}")
    return 0


def measure_twice(cell, artefacts: Path, spec) -> tuple[list, int]:
    """The cell's saved model, merged, deployed once and measured twice."""
    return measure_runs(cell, artefacts, spec, 2)


def measure_runs(cell, artefacts: Path, spec, count: int) -> tuple[list, int]:
    """The cell's saved model, merged, deployed once (as the deployment stage does, with
    `spec` as its [deploy] table) and measured `count` times: a DeploymentResult per run."""
    import tempfile

    from bench.stages.deployment import saved_model_variants
    from bench.stages.variants import measure_prepared

    def progress(text: str) -> None:
        print(f"  {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="deploy-repro-") as workdir, \
            saved_model_variants(replace(cell, deploy=spec), artefacts, Path(workdir),
                                 progress) as prepared:
        runs = [measure_prepared(prepared.variants, spec, prepared.inputs, prepared.threads,
                                 prepared.device, progress) for _ in range(count)]
    return runs, prepared.threads


def summarise(cell_id: str, spec, threads: int, runs: list) -> dict:
    from bench.measure.environment import cpu_info, git_state, library_versions

    variants = {}
    for run in runs:
        for record in (variant.to_dict() for variant in run.variants):
            name = f"{record['variant']}/{record['backend']}"
            entry = variants.setdefault(name, {"status": [], "runs": []})
            entry["status"].append(record["status"])
            entry["runs"].append({size: {"p50_ms": stats["p50_ms"],
                                         "speedup": (record["speedup"] or {}).get(size)}
                                  for size, stats in (record["latency"] or {}).items()})
    agreement = {}
    for name, entry in variants.items():
        first, second = entry["runs"] if len(entry["runs"]) == 2 else ({}, {})
        for size in first:
            a, b = first[size]["speedup"], (second.get(size) or {}).get("speedup")
            if a and b:
                agreement.setdefault(size, {})[name] = b["ratio"] / a["ratio"]
    return {"benchmark": "deploy_repro", "cell": cell_id, "git": git_state(),
            "versions": library_versions(), "cpu": cpu_info(), "threads": threads,
            "settings": asdict(spec),
            "machine_load": [run.timing.machine_load.to_dict() for run in runs],
            "timing_seconds": [run.timing.seconds for run in runs],
            "variants": variants, "second_over_first": agreement,
            "largest_disagreement": {size: max(abs(r - 1) for r in ratios.values())
                                     for size, ratios in agreement.items()},
            "agreement_limit": AGREEMENT}


def print_summary(summary: dict) -> None:
    print(f"{summary['cell']}: {summary['cpu']['model']}, {summary['threads']} threads; "
          f"rounds {summary['settings']['rounds']}")
    for index, load in enumerate(summary["machine_load"], 1):
        print(f"run {index}: machine {'BUSY: ' + load['warning'] if load['busy'] else 'quiet'}")
    sizes = sorted(summary["second_over_first"], key=int, reverse=True)
    for size in sizes:
        print(f"\nbatch {size}: speed-up vs fp32 reference, run 1 | run 2 | run 2 / run 1")
        for name, ratio in summary["second_over_first"][size].items():
            one, two = (run[size]["speedup"] for run in summary["variants"][name]["runs"])
            print(f"  {name:>24}: {show(one)} | {show(two)} | {ratio:.3f}")
        worst = summary["largest_disagreement"][size]
        verdict = "agree" if worst <= AGREEMENT else "DO NOT agree"
        print(f"  largest difference {worst:.1%}: the runs {verdict} within {AGREEMENT:.0%}")


def show(speedup: dict) -> str:
    return (f"{speedup['ratio']:.2f}x [{speedup['low']:.2f}-{speedup['high']:.2f}] "
            f"{speedup['verdict']}")


if __name__ == "__main__":
    sys.exit(main())
