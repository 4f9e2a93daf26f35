"""Do the speed-up intervals hold across runs? Measures one deployed cell R times and counts how
often a run's speed-up falls inside another run's interval.

    python benchmarks/latency_coverage.py runs/coverage --cell minilm--lora--tweets--seed1

RESULTS is a results folder of `bench run` with the cell's saved training result (what `bench
deploy` reads, bench/executors/redeploy.py). The cell's variants are built once from its saved
model exactly as the deployment stage builds them (compressions, QAT training, exports,
sessions), then the whole deployment measurement runs `--runs` times (default 3), each run in
its own `timing_processes` fresh processes with their own shuffled rounds
(docs/measurement.md). For every ordered pair of runs (A, B), every variant but the reference
and every batch size: is B's speed-up inside A's interval? `coverage` = inside / checks. With
timing processes a run's interval is a 95% prediction interval of the speed-up a repeat run
estimates (docs/measurement.md): a repeat run's own estimate should fall inside it 95% of the
time when the processes' medians are log-normal, against 63% (68 of 108) for the
single-process intervals of before and 83% (30 of 36) for the confidence interval that
came between.

Writes results/benchmarks/latency_coverage.json (or --json): coverage, checks, inside, runs,
processes_per_run, the host's CPU and its flags, the commit, every check, each run's machine
load. --timing-processes, --rounds, --warmup-calls, --round-min-calls and
--round-min-duration-s override the cell's [deploy] budget (a tiny self-check:
tests/test_latency_coverage.py). Run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, replace
from itertools import permutations
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
BUDGET = ("timing_processes", "rounds", "warmup_calls", "round_min_calls",
          "round_min_duration_s")


@dataclass
class Check:
    """Is run `estimate_run`'s speed-up inside run `interval_run`'s interval?"""

    variant: str
    batch_size: int
    interval_run: int
    estimate_run: int
    low: float
    high: float
    estimate: float
    inside: bool


def coverage_checks(runs: list[list]) -> list[Check]:
    """Every ordered pair of runs, every timed variant but the reference, every batch size
    that both runs timed (runs: lists of DeployedVariant)."""
    timed = [{v.name: v for v in run if v.ok and v.speedup} for run in runs]
    checks = []
    for a, b in permutations(range(len(runs)), 2):
        for name, record in timed[a].items():
            other = timed[b].get(name)
            if other is None or record.reference == f"{record.variant}/{record.backend}":
                continue
            for size, interval in sorted(record.speedup.items()):
                estimate = other.speedup.get(size)
                if estimate is None or None in (interval.low, interval.high, estimate.ratio):
                    continue
                checks.append(Check(name, size, a + 1, b + 1, interval.low, interval.high,
                                    estimate.ratio,
                                    interval.low <= estimate.ratio <= interval.high))
    return checks


def summarise(cell_id: str, spec, runs: list) -> dict:
    """The JSON the script writes: the coverage, its context and every check."""
    from bench.measure.environment import cpu_info, git_state, library_versions

    checks = coverage_checks([run.variants for run in runs])
    inside = sum(check.inside for check in checks)
    cpu, git = cpu_info(), git_state()
    return {"benchmark": "latency_coverage", "cell": cell_id,
            "coverage": inside / len(checks) if checks else None, "checks": len(checks),
            "inside": inside, "runs": len(runs), "processes_per_run": spec.timing_processes,
            "cpu_flags": cpu["flags"], "cpu": cpu, "commit": git["commit"],
            "dirty": git["dirty"], "versions": library_versions(), "settings": asdict(spec),
            "machine_busy": [run.timing.busy for run in runs],
            "machine_load": [run.timing.machine_load.to_dict() if run.timing.machine_load
                             else None for run in runs],
            "timing_seconds": [run.timing.seconds for run in runs],
            "details": [asdict(check) for check in checks]}


def find_cell(results: Path, text: str):
    """(cell, saved model folder) of the one finished cell of `results` whose id holds `text`."""
    from bench.errors import BenchInputError
    from bench.executors.redeploy import deployable_cells
    from bench.record.store import ResultStore
    from bench.stages.stage_files import StageFiles

    store = ResultStore(results)
    cells, problems = deployable_cells(store, [text], None)
    exact = [(cell, key) for cell, key in cells if cell.id == text] or cells
    if len(exact) != 1:
        found = ", ".join(cell.id for cell, _ in cells) or "; ".join(problems) or "none"
        raise BenchInputError(f"{results}: expected one deployed cell matching {text!r}, "
                              f"found: {found}")
    cell, key = exact[0]
    return cell, StageFiles(store.cell_artefacts(cell.id) / key).model


def budget_spec(deploy, args):
    """The cell's [deploy] table with the command line's budget, checked like a suite's."""
    from bench.errors import BenchInputError
    from bench.table_checks import check_ranges

    spec = replace(deploy, **{k: getattr(args, k) for k in BUDGET
                              if getattr(args, k) is not None})
    problems = check_ranges(spec, "deploy") + [f"deploy.{key}: {text}"
                                               for key, text in spec.field_problems()]
    if problems:
        raise BenchInputError("; ".join(problems))
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a results folder of `bench run`")
    parser.add_argument("--cell", required=True, help="the deployed cell's id (or part of it)")
    parser.add_argument("--runs", type=int, default=3, help="measurements of the cell (>= 2)")
    parser.add_argument("--json", type=Path,
                        default=Path("results/benchmarks/latency_coverage.json"))
    for key in BUDGET:
        parser.add_argument(f"--{key.replace('_', '-')}",
                            type=float if key.endswith("_s") else int)
    args = parser.parse_args(argv)

    from bench.errors import BenchInputError

    try:
        if args.runs < 2:
            raise BenchInputError(f"--runs: expected at least 2 (pairs of runs), got {args.runs}")
        cell, model = find_cell(args.results, args.cell)
        spec = budget_spec(cell.deploy, args)
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from deploy_repro import measure_runs

    runs, _ = measure_runs(cell, model, spec, args.runs)
    summary = summarise(cell.id, spec, runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    coverage = summary["coverage"]
    print(f"{cell.id}: {summary['inside']} of {summary['checks']} repeat-run speed-ups inside "
          f"another run's interval ({'-' if coverage is None else f'{coverage:.1%}'}); "
          f"{args.runs} runs of {spec.timing_processes} process(es); machine busy in runs: "
          f"{summary['machine_busy']}\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
