"""What a run will cost on this host, said before it starts (`bench validate`, `bench run`): the
cells to run and a projected wall time, from the rates that earlier records measured on the
same hardware, else from a stated built-in estimate.

A cell's projection is its training (seconds per training example per epoch of the budget, per
method and device, times its examples and epochs: early stopping counts as it did in those
records), plus the rest of a cell (start-up, data, floor, model load, evaluation, save: the
mean of those records), plus its deployment (seconds per deployed variant times its variants).
Earlier records are read from the run's output folder and from `results/` of the checkout the
code runs from, where there is one; only those measured on this host's CPU (model, flags,
logical cores: `Environment.describe_hardware`) count.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.record import CellRecord, CpuInfo, Environment
from bench.record.store import iter_files

TRAINING, DEPLOYMENT = "train", "deploy"  # the phases (bench/stages/events.py) priced apart
CHECKOUT_RESULTS = Path(__file__).resolve().parent.parent.parent / "results"


@dataclass(frozen=True)
class Rates:
    """Seconds per unit of work; `source` says where they come from."""

    train_s_per_example_epoch: float  # any method and device without a rate of its own
    rest_of_cell_s: float
    deploy_s_per_variant: float
    source: str
    train_examples: int = 1000  # a cell whose train_size is a fraction or the whole data
    by_method_device: dict[tuple[str, str], float] = field(default_factory=dict)
    train_examples_by_dataset: dict[str, int] = field(default_factory=dict)


# MiniLM (22M parameters, 64 tokens) on 2 cores: 0.011 s per example per epoch of budget and
# 18 s for the rest of a cell (an earlier default suite, 9 cells on a Xeon with AVX-512); 148 s
# per deployed variant (the default suite's 20 variants, each timed in 3 fresh processes, on an
# AVX2-only EPYC: results/classification).
BUILT_IN = Rates(0.011, 18.0, 148.0, "estimate: no earlier records on this CPU; built-in rates "
                                    "of a MiniLM-size model on 2 CPU cores")


def host_hardware() -> str:
    from bench.measure.environment import cpu_info

    return Environment(cpu=CpuInfo.from_dict(cpu_info())).describe_hardware()


def earlier_records(output_dir: Path, hardware: str) -> list[CellRecord]:
    """Finished records measured on `hardware`, from the run's folder and the checkout's. Only
    those are read whole: the others are judged by their environment alone."""
    found: dict[tuple, CellRecord] = {}
    for folder in (Path(output_dir), CHECKOUT_RESULTS):
        if not folder.is_dir():
            continue
        for _, raw, problem in iter_files(folder, include_failed=False):
            if problem or raw.get("status") != "ok" or Environment.from_dict(
                    raw.get("environment") or {}).describe_hardware() != hardware:
                continue
            record = CellRecord.from_dict(raw)
            found[(record.cell_id, record.config_hash, record.started_at)] = record
    return list(found.values())


def train_rate(record: CellRecord) -> float | None:
    t = record.training
    epochs = record.config.training.get("epochs")
    if TRAINING not in record.phases_s or not t or not t.train_samples or not epochs:
        return None
    return record.phases_s[TRAINING] / (t.train_samples * epochs)


def measured_rates(records: list[CellRecord]) -> Rates | None:
    trained = [r for r in records if train_rate(r) is not None]
    if not trained:
        return None
    by_key: dict[tuple[str, str], list[float]] = {}
    for r in trained:
        key = (r.config.method.get("name"), r.config.training.get("device"))
        by_key.setdefault(key, []).append(train_rate(r))
    rest = [sum(s for phase, s in r.phases_s.items() if phase not in (TRAINING, DEPLOYMENT))
            for r in trained]
    deployed = [r.phases_s[DEPLOYMENT] / len(r.variants) for r in records
                if r.variants and DEPLOYMENT in r.phases_s]
    return Rates(statistics.median(train_rate(r) for r in trained), statistics.mean(rest),
                 statistics.median(deployed) if deployed else BUILT_IN.deploy_s_per_variant,
                 f"from {len(trained)} records on this CPU",
                 by_method_device={k: statistics.median(v) for k, v in by_key.items()},
                 train_examples_by_dataset={r.config.dataset.get("name"): r.training.train_samples
                                            for r in trained})


def projected_seconds(cell, rates: Rates) -> float:
    size = cell.dataset.train_size
    examples = size if isinstance(size, int) else rates.train_examples_by_dataset.get(
        cell.dataset.name, rates.train_examples)
    rate = rates.by_method_device.get((cell.method, cell.training.device),
                                      rates.train_s_per_example_epoch)
    variants = 0
    if cell.deploy is not None:
        variants = (1 + len(cell.deploy.variants)) * len(cell.deploy.backends)  # fp32 too
    return (rate * examples * cell.training.epochs + rates.rest_of_cell_s
            + variants * rates.deploy_s_per_variant)


def preview_line(cells: list, output_dir: Path) -> str:
    """"N cell(s) to run, projected about T on this host (from K records on this CPU)"."""
    rates = measured_rates(earlier_records(output_dir, host_hardware())) or BUILT_IN
    total = sum(projected_seconds(cell, rates) for cell in cells)
    return (f"{len(cells)} cell(s) to run, projected about {duration(total)} on this host "
            f"({rates.source})")


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
