"""Training throughput with dynamic padding vs padding every batch to max_length, on one cell.

    python benchmarks/padding_speed.py suites/classification.toml minilm--lora--tweets

Trains the cell's method on the cell's data from the same start (same seed, evaluation off)
three times: every batch padded to max_length, dynamic padding of shuffled batches, and dynamic
padding of batches grouped by length; prints training samples/s of each and the ratios to the
padded run. `--train-samples` and `--epochs` shorten the run; `--max-length` sets the padded
length (default 128, the usual fixed length, whatever the cell truncates to).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODES = (("padded to max_length", "max_length", "random"), ("dynamic", "dynamic", "random"),
         ("dynamic, grouped by length", "dynamic", "group_by_length"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path)
    parser.add_argument("cell", help="a cell id of the suite (see `bench validate SUITE`)")
    parser.add_argument("--train-samples", type=int, default=640)
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    import torch

    from bench.data import prepare_dataset
    from bench.errors import BenchInputError
    from bench.models import load_tokenizer
    from bench.registry import METHODS
    from bench.specs import DatasetSpec, ModelSpec, TrainingConfig
    from bench.suite import load_suite
    from bench.tokenization import tokenize_splits
    from bench.train import finetune, resolve_device

    try:
        cell = next((c for c in load_suite(args.suite).cells if c.id == args.cell), None)
        if cell is None:
            raise BenchInputError(f"{args.suite}: no cell {args.cell!r}")
        data_spec = replace(DatasetSpec(**cell.dataset), train_size=args.train_samples,
                            max_length=args.max_length)
        data = prepare_dataset(data_spec, Path(cell.base_dir))
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    cfg = replace(TrainingConfig(**cell.training), eval_each_epoch=False, keep_best=False,
                  epochs=args.epochs)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    model_spec = ModelSpec(**cell.model)
    tokenizer = load_tokenizer(model_spec)
    tokenized = tokenize_splits(data, tokenizer, args.max_length)
    lengths = [len(ids) for ids in tokenized["train"]["input_ids"]]
    method = METHODS.get(cell.method)
    results = {}
    for name, padding, sampling in MODES:
        torch.manual_seed(cfg.seed)
        model = method.build(model_spec, data.task, method.Params(**cell.method_params), device)
        report = finetune(model, tokenizer, tokenized,
                          replace(cfg, padding=padding, sampling=sampling), data.task, device,
                          args.max_length)
        results[name] = {"padding": padding, "sampling": sampling, "steps": report.steps,
                         "samples_per_s": report.samples_per_s, "runtime_s": report.runtime_s}
        print(f"{name:>24}: {report.samples_per_s:7.1f} training samples/s "
              f"({report.steps} steps in {report.runtime_s:.1f} s)", flush=True)
    padded = results[MODES[0][0]]["samples_per_s"]
    summary = {"cell": cell.id, "train_samples": len(lengths), "epochs": args.epochs,
               "batch_size": cfg.batch_size, "max_length": args.max_length,
               "mean_tokens": sum(lengths) / len(lengths), "threads": torch.get_num_threads(),
               "device": device, "results": results,
               "speedup_over_padded": {name: r["samples_per_s"] / padded
                                       for name, r in results.items()}}
    print(f"mean {summary['mean_tokens']:.1f} tokens per text, {summary['threads']} threads; "
          "speed-up over padding to " + f"{args.max_length}: " + ", ".join(
              f"{name} {x:.2f}x" for name, x in summary["speedup_over_padded"].items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
