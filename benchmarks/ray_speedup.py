"""Wall time of one suite with the local executor and with Ray, each from a clean start.

    python benchmarks/ray_speedup.py                     # suites/scaleout.toml, 2 Ray workers
    python benchmarks/ray_speedup.py SUITE --workers 4

Runs `bench run SUITE` twice in scratch folders, as a user would (Ray's start-up included),
checks that both runs finished every cell, and prints both wall times and their ratio.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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
        return seconds, len(list(Path(scratch, "results").glob("*/*.json")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, nargs="?", default=REPO / "suites" / "scaleout.toml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    suite = args.suite.resolve()
    local_s, local_cells = timed_run(suite, [])
    print(f"local executor: {local_s:6.1f} s for {local_cells} cells", flush=True)
    ray_s, ray_cells = timed_run(suite, ["--executor", "ray", "--workers", str(args.workers)])
    print(f"ray executor:   {ray_s:6.1f} s for {ray_cells} cells ({args.workers} workers)")
    if ray_cells != local_cells:
        sys.exit(f"the runs wrote {local_cells} and {ray_cells} result files")
    print(f"ray / local wall time: {ray_s / local_s:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "suite": str(args.suite), "cells": local_cells, "workers": args.workers,
            "local_s": local_s, "ray_s": ray_s, "ray_over_local": ray_s / local_s}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
