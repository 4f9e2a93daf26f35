"""Wall time of one suite with the local executor and with Ray, on the same number of cores.

    python benchmarks/ray_speedup.py --json results/benchmarks/ray_speedup.json
    python benchmarks/ray_speedup.py SUITE --workers 2 --repeats 3

What "fair" means here: both sides may use the same W cores (W = --workers). Ray runs W cells
at once, each on the suite's own threads per cell (scaleout.toml: 1 thread, cpus_per_cell 1);
the local executor runs one cell at a time, each on W threads (the suite's `threads` set to
W in a copy of the suite). A ratio measured against a local run on one thread would mostly
measure the idle cores. What remains in the ratio is real: cells in parallel against threads
within one cell (small models scale poorly with intra-op threads), and Ray's start-up cost.

Each run is `bench run` in a scratch folder, as a user would run it (start-up included); both
runs must finish every cell. The two sides run alternated, `--repeats` rounds (see
benchmarks/timing.py); the JSON holds every wall time, their spread, the per-round ratio
ray/local with an interval of its median (95% from 6 rounds; --repeats 3, the default, gives
[min, max] at 75%: a round takes minutes), the machine's load before, during and after, the
commit, versions, CPU and settings.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench.measure.machine_load import LoadProbe
from timing import alternate, context, paired_ratio, spread, write_json

REPO = Path(__file__).resolve().parent.parent


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def toml_text(table: dict, prefix: str = "") -> str:
    """A parsed suite written back: scalars and inline values first, then sub-tables and
    arrays of tables (enough for suite files)."""
    lines, nested = [], []
    for key, value in table.items():
        if isinstance(value, dict):
            nested.append(f"\n[{prefix}{json.dumps(key)}]\n" + toml_text(value, f"{prefix}{json.dumps(key)}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            nested += [f"\n[[{prefix}{json.dumps(key)}]]\n" + toml_text(v, f"{prefix}{json.dumps(key)}.")
                       for v in value]
        else:
            lines.append(f"{json.dumps(key)} = {toml_value(value)}")
    return "\n".join(lines) + "".join(nested) + "\n"


def suite_with_threads(suite: Path, threads: int, destination: Path) -> Path:
    """A copy of `suite` whose cells train on `threads` threads; relative data paths made
    absolute, since the copy lives elsewhere."""
    raw = tomllib.loads(suite.read_text())
    raw.setdefault("defaults", {}).setdefault("training", {})["threads"] = threads
    for section in ("methods", "datasets"):
        for entry in raw.get(section, {}).values():
            if "threads" in entry.get("training", {}):
                entry["training"]["threads"] = threads
    for dataset in raw.get("datasets", {}).values():
        if dataset.get("path") and not Path(dataset["path"]).is_absolute() \
                and (suite.parent / dataset["path"]).exists():
            dataset["path"] = str((suite.parent / dataset["path"]).resolve())
    destination.write_text(toml_text(raw))
    return destination


def timed_run(suite: Path, extra: list[str]) -> tuple[float, int]:
    """Seconds `bench run` took, and how many result files it wrote."""
    with tempfile.TemporaryDirectory(prefix="ray-speedup-") as scratch:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bench", "run", str(suite), *extra],
                              cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"bench run {' '.join(extra)} failed ({done.returncode}):\n"
                     f"{done.stderr[-2000:]}")
        return seconds, len(list(Path(scratch, "runs").glob("*/*.json")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, nargs="?", default=REPO / "suites" / "scaleout.toml")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers, and the threads "
                        "per cell of the local run (the same cores on both sides)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.repeats < 1:
        print("error: --workers and --repeats must be at least 1", file=sys.stderr)
        return 2
    suite = args.suite.resolve()
    cells: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="ray-speedup-suite-") as folder:
        local_suite = suite_with_threads(suite, args.workers, Path(folder) / suite.name)
        sides = {f"local, {args.workers} threads per cell": (local_suite, []),
                 f"ray, {args.workers} workers": (suite, ["--executor", "ray", "--workers",
                                                          str(args.workers)])}

        def side(name: str) -> float:
            seconds, cells[name] = timed_run(*sides[name])
            return seconds

        probe = LoadProbe()  # counts the reaped `bench run` processes as its own
        probe.quiet_check("before")
        figures = alternate({name: (lambda n=name: side(n)) for name in sides}, args.repeats,
                            probe, progress=lambda text: print(text, flush=True))
        probe.quiet_check("after")
    if len(set(cells.values())) != 1:
        sys.exit(f"the runs wrote different numbers of result files: {cells}")
    local_name, ray_name = sides
    ratio = paired_ratio(figures[ray_name], figures[local_name])
    for name, values in figures.items():
        stats = spread(values)
        print(f"{name:>28}: median {stats['median']:6.1f} s (min {stats['min']:.1f}, "
              f"max {stats['max']:.1f}) for {cells[name]} cells")
    low, high = ratio["interval"]
    print(f"ray / local wall time: {ratio['median']:.2f} [{low:.2f}, {high:.2f}] "
          f"({ratio['interval_coverage']:.0%} interval; {ratio['verdict']})")
    write_json(args.json, {
        "suite": str(args.suite), "cells": cells[ray_name], "workers": args.workers,
        "repeats": args.repeats, "order": "alternated, rotated each round",
        "fairness": f"both sides on {args.workers} cores: local runs one cell at a time on "
                    f"{args.workers} threads, Ray runs {args.workers} cells at once on the "
                    f"suite's threads per cell",
        "wall_s": {name: spread(values) for name, values in figures.items()},
        "ray_over_local": ratio,
        "machine_load": probe.summary().to_dict(),
        "context": context({"suite": str(args.suite), "workers": args.workers,
                            "local_threads_per_cell": args.workers}),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
