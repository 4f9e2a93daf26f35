"""Cells per hour with k cells sharing one GPU (the Ray executor's `cells_per_gpu`), k = 1, 2, 4.
Needs a CUDA GPU; NOT RUN YET: this project has had no GPU for it (docs/measurement.md).

    python benchmarks/gpu_sharing.py --json results/benchmarks/gpu_sharing.json
    python benchmarks/gpu_sharing.py SUITE --ks 1 2 4 8 --repeats 2

Each run is `bench run COPY --executor ray` in a scratch folder, start-up included, where COPY
is the suite with `[suite] cells_per_gpu = k` (its gpus_per_cell removed); every run must
finish every cell. The ks run alternated, `--repeats` rounds (benchmarks/timing.py). Written
per k: wall times, cells per hour (cells / median wall time), and from the records the mean
training time per cell (which sharing makes longer: the report leaves such times out of its
cost columns) and the largest CUDA peak reserved, against the GPU's memory. The machine's load,
commit, versions and GPU go with them.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench.measure.machine_load import LoadProbe
from ray_speedup import toml_text
from timing import alternate, context, spread, write_json

REPO = Path(__file__).resolve().parent.parent


def suite_sharing(suite: Path, cells_per_gpu: int, destination: Path) -> Path:
    """A copy of `suite` asking for `cells_per_gpu` cells on each GPU."""
    raw = tomllib.loads(suite.read_text())
    header = raw.setdefault("suite", {})
    header.pop("gpus_per_cell", None)
    header["cells_per_gpu"] = cells_per_gpu
    destination.write_text(toml_text(raw))
    return destination


def timed_run(suite: Path) -> tuple[float, list[dict]]:
    """Seconds `bench run --executor ray` took, and the records it wrote."""
    with tempfile.TemporaryDirectory(prefix="gpu-sharing-") as scratch:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bench", "run", str(suite), "--executor",
                               "ray"], cwd=scratch, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"bench run of {suite.name} failed ({done.returncode}):\n"
                     f"{done.stderr[-2000:]}")
        return seconds, [json.loads(p.read_text()) for p in Path(scratch, "runs").glob("*/*.json")]


def per_k_figures(seconds: list[float], records: list[dict]) -> dict:
    training = [r["training"] for r in records if r.get("training")]
    wall = spread(seconds)
    return {"wall_s": seconds, "wall_spread": wall, "cells": len(records),
            "cells_per_hour": len(records) / wall["median"] * 3600,
            "mean_train_runtime_s": statistics.mean(t["runtime_s"] for t in training),
            "max_cuda_reserved_bytes": max(t.get("cuda_max_reserved_bytes") or 0
                                           for t in training),
            "device_sharing": records[0].get("device_sharing")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, nargs="?",
                        default=REPO / "suites" / "gpu_sharing.toml")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    from bench.suite.devices import cuda_available

    if not cuda_available():
        print("error: this benchmark needs a CUDA GPU", file=sys.stderr)
        return 2
    records: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="gpu-sharing-suite-") as folder:
        copies = {k: suite_sharing(args.suite.resolve(), k, Path(folder) / f"k{k}.toml")
                  for k in args.ks}

        def run(k: int) -> float:
            seconds, records[k] = timed_run(copies[k])
            return seconds

        probe = LoadProbe()
        figures = alternate({f"k={k}": (lambda k=k: run(k)) for k in args.ks}, args.repeats,
                            probe, progress=lambda text: print(text, flush=True))
    if len({len(found) for found in records.values()}) != 1:
        sys.exit(f"the runs wrote different numbers of records: "
                 f"{ {k: len(found) for k, found in records.items()} }")
    result = {k: per_k_figures(figures[f"k={k}"], records[k]) for k in args.ks}
    for k, figure in result.items():
        print(f"k={k}: {figure['cells_per_hour']:.1f} cells/hour, mean training "
              f"{figure['mean_train_runtime_s']:.1f} s/cell, peak reserved "
              f"{figure['max_cuda_reserved_bytes'] / 2**30:.2f} GiB")
    write_json(args.json, {"figures": {str(k): v for k, v in result.items()},
                           "load": probe.summary().to_dict(), **context(vars(args) | {
                               "suite": str(args.suite)})})
    return 0


if __name__ == "__main__":
    sys.exit(main())
