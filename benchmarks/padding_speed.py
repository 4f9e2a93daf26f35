"""Training throughput with dynamic padding vs padding every batch to the cell's max_length.

    python benchmarks/padding_speed.py suites/classification.toml minilm--lora--tweets \
        --json results/benchmarks/padding_speed.json

Trains the cell's method on the cell's data from the same start (same seed, evaluation off) in
three modes: every batch padded to the cell's own max_length (the length it truncates to, so
that every mode sees the same tokens), dynamic padding of shuffled batches, and dynamic padding
of batches grouped by length. The modes run alternated (see benchmarks/timing.py), `--repeats`
rounds of each; the figures are training samples/s, given with their spread, and each dynamic
mode's speed-up over padding as a per-round ratio with an interval of its median (95% from 6
rounds, the default; fewer give [min, max] with its coverage). The JSON records the commit,
library versions, CPU and its flags, the load of the machine before, during and after, and
the settings. `--train-samples` and `--epochs` shorten the run (a smoke run on a tiny model:
`suites/smoke.toml tiny-bert--full--tweets --train-samples 48 --repeats 1`).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

from bench.measure.machine_load import LoadProbe
from timing import alternate, context, paired_ratio, spread, write_json

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PADDED = "padded to max_length"
MODES = {PADDED: ("max_length", "random"), "dynamic": ("dynamic", "random"),
         "dynamic, grouped by length": ("dynamic", "group_by_length")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path)
    parser.add_argument("cell", help="a cell id of the suite (see `bench validate SUITE`)")
    parser.add_argument("--train-samples", type=int, default=640)
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--repeats", type=int, default=6, help="rounds of every mode (6 give "
                        "a 95%% interval)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    import torch

    from bench.data import prepare_dataset
    from bench.errors import BenchInputError
    from bench.models.loading import load_tokenizer
    from bench.registry import METHODS
    from bench.suite.parser import load_suite
    from bench.suite.devices import resolve_device
    from bench.stages.trainer import CellTrainer

    try:
        if args.repeats < 1:
            raise BenchInputError(f"--repeats = {args.repeats}: expected at least 1")
        cell = next((c for c in load_suite(args.suite).cells if c.id == args.cell), None)
        if cell is None:
            raise BenchInputError(f"{args.suite}: no cell {args.cell!r}")
        data_spec = replace(cell.dataset, train_size=args.train_samples)
        data = prepare_dataset(data_spec, Path(cell.base_dir))
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    max_length = data_spec.max_length
    cfg = replace(cell.training, eval_each_epoch=False, keep_best=False,
                  epochs=args.epochs)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    model_spec = cell.model
    trainer = CellTrainer.of_prepared(data, load_tokenizer(model_spec), cfg, device, max_length)
    lengths = [len(ids) for ids in trainer.data["train"]["input_ids"]]
    method = METHODS.get(cell.method)()

    def train(padding: str, sampling: str) -> float:
        torch.manual_seed(cfg.seed)
        model = method.build(model_spec, data.task, cell.method_params, device)
        mode = replace(trainer, config=replace(cfg, padding=padding, sampling=sampling))
        return mode.train(model).samples_per_s

    probe = LoadProbe()
    probe.quiet_check("before")
    figures = alternate({name: (lambda p=p, s=s: train(p, s)) for name, (p, s) in MODES.items()},
                        args.repeats, probe, progress=lambda text: print(text, flush=True))
    probe.quiet_check("after")
    summary = {
        "cell": cell.id, "train_samples": len(lengths), "epochs": args.epochs,
        "batch_size": cfg.batch_size, "max_length": max_length, "repeats": args.repeats,
        "order": "alternated, rotated each round",
        "mean_tokens": sum(lengths) / len(lengths), "threads": torch.get_num_threads(),
        "device": device,
        "samples_per_s": {name: spread(values) for name, values in figures.items()},
        "speedup_over_padded": {name: paired_ratio(values, figures[PADDED])
                                for name, values in figures.items() if name != PADDED},
        "machine_load": probe.summary().to_dict(),
        "context": context({"suite": str(args.suite), "cell": cell.id,
                            "training": {**asdict(cell.training), "epochs": args.epochs},
                            "dataset": asdict(data_spec)}),
    }
    print(f"mean {summary['mean_tokens']:.1f} tokens per text, max_length {max_length}, "
          f"{summary['threads']} threads, {args.repeats} round(s)")
    for name, stats in summary["samples_per_s"].items():
        print(f"{name:>28}: median {stats['median']:7.1f} samples/s "
              f"(min {stats['min']:.1f}, max {stats['max']:.1f})")
    for name, ratio in summary["speedup_over_padded"].items():
        low, high = ratio["interval"]
        print(f"{name:>28}: {ratio['median']:.2f}x over padding [{low:.2f}, {high:.2f}] "
              f"({ratio['interval_coverage']:.0%} interval; {ratio['verdict']})")
    write_json(args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
