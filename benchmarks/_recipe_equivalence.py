"""`training_recipe.py equivalence`: each shipped method entry (`lora`, `full`) against its
plain twin (`lora_plain`, `full_plain`, suites/recipe_equivalence.toml), paired by training
seed, on the test macro-F1 the records and their prediction sidecars hold.

Records are read with the typed loader (bench/record/store.py) and the per-example
predictions through the report's own reader; the statistics are bench/stats/paired_seeds.py.
The training samples/s ratio per seed comes from the records: the two arms of a pair ran at
different times of one suite run, not side by side, so it is indicative only (the `speed`
subcommand measures speed properly).
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import BenchInputError
from bench.record import CellRecord
from bench.record.store import read_cell_records
from bench.report.verdicts import load_test_predictions
from bench.stats.methods import SeedRuns
from bench.stats.paired_seeds import compare_paired_seeds

PLAIN_SUFFIX = "_plain"
SPEED_NOTE = ("from each record's own training run: the two arms of a pair did not run side "
              "by side, so the ratios are indicative only")


@dataclass
class Arm:
    """One method entry of one model and dataset: its finished records by training seed."""

    entry: str
    records: dict[int, CellRecord] = field(default_factory=dict)


@dataclass
class MethodEquivalence:
    """The figures of one shipped entry against its plain twin (JSON: `asdict`)."""

    method: str
    plain: str
    model: str | None
    dataset: str | None
    seeds_paired: list[int]
    seeds_unpaired: dict[str, list[int]]
    shipped_mean_f1: float | None
    plain_mean_f1: float | None
    comparison: dict | None  # bench/stats/paired_seeds.py PairedSeedComparison, as a dict
    samples_per_s_ratio: dict  # shipped / plain per seed, with their median and the note


def arms_of(records: list[CellRecord]) -> dict[tuple, Arm]:
    """(model, dataset, entry) -> its arm; failed records and records without a seed left out."""
    arms: dict[tuple, Arm] = {}
    for record in records:
        if not record.ok or record.seed is None:
            continue
        config = record.config
        key = (config.model_name, config.dataset_name, config.method_entry)
        arms.setdefault(key, Arm(config.method_entry)).records[record.seed] = record
    return arms


def twin_pairs(arms: dict[tuple, Arm]) -> list[tuple[tuple, Arm, Arm]]:
    """(model, dataset, shipped entry) with the shipped arm and its plain twin, sorted."""
    return [((model, dataset, entry), arm, arms[(model, dataset, entry + PLAIN_SUFFIX)])
            for (model, dataset, entry), arm in sorted(arms.items(), key=lambda kv: str(kv[0]))
            if not entry.endswith(PLAIN_SUFFIX)
            and (model, dataset, entry + PLAIN_SUFFIX) in arms]


def predictions_by_seed(arm: Arm, folders: dict[str, Path]) -> dict[int, tuple]:
    """seed -> (labels, probabilities) of the test split, for the seeds with a sidecar."""
    loaded = {seed: load_test_predictions(record, folders) for seed, record in arm.records.items()}
    return {seed: found for seed, found in loaded.items() if found is not None}


def speed_ratios(shipped: Arm, plain: Arm, seeds: list[int]) -> dict:
    ratios = {}
    for seed in seeds:
        fast, slow = (arm.records[seed].training for arm in (shipped, plain))
        if fast and slow and fast.samples_per_s and slow.samples_per_s:
            ratios[str(seed)] = fast.samples_per_s / slow.samples_per_s
    return {"per_seed": ratios,
            "median": statistics.median(ratios.values()) if ratios else None,
            "note": SPEED_NOTE}


def mean_f1(arm: Arm, seeds: list[int]) -> float | None:
    tests = [arm.records[s].evaluation.test for s in seeds]
    scores = [t.score("f1_macro") for t in tests if t and t.score("f1_macro") is not None]
    return float(np.mean(scores)) if scores else None


def compare_twins(key: tuple, shipped: Arm, plain: Arm, folders: dict[str, Path],
                  margin: float, looks: int) -> MethodEquivalence:
    """Pairs are the seeds both arms finished with a sidecar on the same test examples."""
    found = {arm.entry: predictions_by_seed(arm, folders) for arm in (shipped, plain)}
    seeds = sorted(found[shipped.entry].keys() & found[plain.entry].keys())
    unpaired = {arm.entry: sorted(set(arm.records) - set(seeds)) for arm in (shipped, plain)}
    comparison = None
    if seeds:
        labels = found[shipped.entry][seeds[0]][0]
        classes = found[shipped.entry][seeds[0]][1].shape[1]
        for arm in (shipped, plain):
            if any(not np.array_equal(found[arm.entry][s][0], labels) for s in seeds):
                raise SystemExit(f"{arm.entry}: seeds scored on other test examples than "
                                 f"{shipped.entry} seed {seeds[0]}")
        runs = [SeedRuns.of(labels, [found[arm.entry][s][1].argmax(axis=1) for s in seeds],
                            classes) for arm in (shipped, plain)]
        comparison = asdict(compare_paired_seeds(*runs, margin=margin, looks=looks))
    model, dataset, _ = key
    return MethodEquivalence(shipped.entry, plain.entry, model, dataset, seeds, unpaired,
                             mean_f1(shipped, seeds), mean_f1(plain, seeds), comparison,
                             speed_ratios(shipped, plain, seeds))


def equivalence_section(results: Path, margin: float, looks: dict[str, int]) -> dict:
    """The `equivalence` section of results/benchmarks/training_recipe.json; `looks`: shipped
    entry -> the verdicts read on its seeds so far (1 where not given)."""
    loaded = read_cell_records(results)
    pairs = twin_pairs(arms_of(loaded.records))
    if not pairs:
        raise BenchInputError(f"{results}: no method entry with its `{PLAIN_SUFFIX}` twin among "
                         f"{len(loaded.records)} record(s)")
    unknown = sorted(set(looks) - {shipped.entry for _, shipped, _ in pairs})
    if unknown:
        raise BenchInputError(f"--looks {unknown[0]}: {results} has no method entry of that "
                              f"name with its `{PLAIN_SUFFIX}` twin")
    methods = [compare_twins(key, shipped, plain, loaded.folders, margin,
                             looks.get(shipped.entry, 1))
               for key, shipped, plain in pairs]
    return {"results": str(results), "metric": "test f1_macro", "margin": margin,
            "unreadable": loaded.unreadable,
            "methods": [asdict(method) for method in methods]}


def looks_text(comparison: dict) -> str:
    """How the verdict paid for the looks before it; nothing after a single look."""
    looks = comparison["looks"]
    if looks == 1 or comparison["interval_verdict"] is None:
        return ""
    alpha = comparison["alpha"] / looks
    low, high = comparison["interval_verdict"]
    return (f"; look {looks}: alpha {comparison['alpha']}/{looks} per look, "
            f"{1 - 2 * alpha:.1%} interval [{low:+.4f}, {high:+.4f}]")


def describe(section: dict) -> list[str]:
    """One block of lines per method, for the terminal."""
    lines = []
    for method in section["methods"]:
        head = (f"{method['method']} against {method['plain']} ({method['model']}, "
                f"{method['dataset']}): {len(method['seeds_paired'])} seed(s) paired")
        lines.append(head)
        unpaired = {k: v for k, v in method["seeds_unpaired"].items() if v}
        if unpaired:
            lines.append(f"  without a twin (or a sidecar): {unpaired}")
        comparison = method["comparison"]
        if comparison and comparison["standard_error"] is not None:
            (low90, high90), (low95, high95) = comparison["interval_90"], comparison["interval_95"]
            lines.append(f"  test macro-F1 {method['shipped_mean_f1']:.4f} vs "
                         f"{method['plain_mean_f1']:.4f}: mean paired difference "
                         f"{comparison['difference']:+.4f}, 90% [{low90:+.4f}, {high90:+.4f}], "
                         f"95% [{low95:+.4f}, {high95:+.4f}]")
        if comparison:
            lines.append(f"  verdict at +-{comparison['margin']} (two one-sided tests, "
                         f">= {comparison['min_pairs']} pairs{looks_text(comparison)}): "
                         f"{comparison['verdict']}")
        ratio = method["samples_per_s_ratio"]
        if ratio["per_seed"]:
            per_seed = ", ".join(f"{s}: {r:.2f}" for s, r in ratio["per_seed"].items())
            lines.append(f"  training samples/s {method['method']} / {method['plain']}: median "
                         f"{ratio['median']:.2f}x (per seed {per_seed}); {ratio['note']}")
    return lines
