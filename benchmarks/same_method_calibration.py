"""Same-method calibration of the method-level test (issue 17, item 3; docs/statistics.md).

Many seeds of ONE method are split again and again into two pseudo-methods of K seeds; every
"better" or "worse" the method-level test says is false, and their share (with its
Monte-Carlo interval) should sit near the test's 5%. Beside it: the run-level paired test's
share on single seed pairs, and the power against a planted 3-point difference at K = 3 and 5.

    python -m bench run suites/calibration.toml          # 20 seeds of LoRA on the snippets
    python benchmarks/same_method_calibration.py --results runs/calibration
    python benchmarks/same_method_calibration.py --synthetic   # no training: the statistics alone

Writes results/benchmarks/same_method_calibration.json (or --out).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench.record.store import read_cell_records
from bench.report.verdicts import load_test_predictions
from bench.stats.calibration import (false_verdict_share, power_share, run_level_share,
                                     synthetic_seeds)

OUT = Path("results/benchmarks/same_method_calibration.json")


def seeds_of(folder: Path) -> tuple[np.ndarray, np.ndarray, int, str]:
    """(labels, predicted classes (seeds, n), classes, group) of the largest seed group."""
    loaded = read_cell_records(folder)
    groups: dict[str, list] = {}
    for record in loaded.records:
        if record.ok:
            groups.setdefault(record.group, []).append(record)
    name, records = max(groups.items(), key=lambda item: len(item[1]))
    predictions = [load_test_predictions(r, loaded.folders) for r in records]
    predictions = [p for p in predictions if p is not None]
    labels = predictions[0][0]
    if any((p[0] != labels).any() for p in predictions):
        raise SystemExit(f"{name}: seeds scored on different test examples")
    return (labels, np.stack([p[1].argmax(axis=1) for p in predictions]),
            predictions[0][1].shape[1], name)


def measure(labels, predicted, classes: int, splits: int, planted: float, margin: float,
            run_pairs: int) -> dict:
    false = {k: false_verdict_share(labels, predicted, classes, k, splits, seed=k,
                                    margin=margin).to_dict() for k in (3, 5)}
    power = {k: power_share(labels, predicted, classes, k, splits, planted, seed=100 + k,
                            margin=margin).to_dict() for k in (3, 5)}
    return {"false_verdict_rate": false[3]["rate"], "false_verdict_interval":
            [false[3]["low"], false[3]["high"]], "splits": splits,
            "false_verdicts_by_seeds": false,
            "power": {str(k): v["rate"] for k, v in power.items()},
            "power_detail": {str(k): v for k, v in power.items()},
            "planted_difference_points": planted,
            "run_level_false_verdict_rate": run_level_share(
                labels, predicted, classes, run_pairs).to_dict(),
            "margin": margin, "nominal_level": 0.05}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--results", type=Path, help="a folder with >= 20 seeds of one cell")
    source.add_argument("--synthetic", action="store_true",
                        help="24 synthetic seeds (bench/stats/calibration.py synthetic_seeds)")
    parser.add_argument("--splits", type=int, default=400)
    parser.add_argument("--planted", type=float, default=3.0, help="points of accuracy")
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--run-pairs", type=int, default=100)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.synthetic:
        labels, predicted = synthetic_seeds(24, seed=3)
        classes, source_name = 2, "synthetic: 24 seeds, 1,000 examples, seed noise 0.12 logit"
    else:
        labels, predicted, classes, source_name = seeds_of(args.results)
    if len(predicted) < 10:
        raise SystemExit(f"{source_name}: {len(predicted)} seeds; need >= 10 (two of K = 5)")
    figures = {"source": source_name, "seeds": int(len(predicted)),
               "examples": int(len(labels)),
               **measure(labels, predicted, classes, args.splits, args.planted, args.margin,
                         args.run_pairs)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: figures[k] for k in ("false_verdict_rate", "false_verdict_interval",
                                              "splits", "power")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
