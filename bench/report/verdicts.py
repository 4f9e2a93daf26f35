"""Paired tests between method groups on the same test examples, from the cells' prediction
sidecars: what lets the report call two methods tied, or one better, rather than read it off
two means. Every seed both groups ran is paired (a single run against each seed of the other
group), because a verdict can flip from one seed to the next: the default suite's full
fine-tuning was "better" than LoRA on seed 1 and "tied" on seeds 2 and 3."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.record import CellRecord
from bench.report.document import Table, Text
from bench.report.format import signed
from bench.report.groups import MethodGroup

NO_PAIRED_TEST = ("No paired test is possible: these records carry no per-example predictions "
                  "(prediction sidecars) on the test split.")


@dataclass
class Comparison:
    """A against B on the same test examples: `difference` = F1 macro(A) - F1 macro(B), its
    95% paired bootstrap interval, the exact McNemar p of the accuracy difference, the verdict
    for A, and the seeds of the two runs paired."""

    verdict: str  # better | worse | tied; "mixed" for a summary whose seeds disagree
    difference: float
    low: float
    high: float
    mcnemar_p: float | None
    seed_a: int | None
    seed_b: int | None
    pairs: int = 1  # runs paired; a summary of several shows the first pair's figures

    def seeds_text(self) -> str:
        if self.seed_a is None and self.seed_b is None:
            return "single runs"
        if self.seed_a == self.seed_b:
            return f"seed {self.seed_a}"
        return f"seeds {self.seed_a} / {self.seed_b}"


def paired_runs(a: MethodGroup, b: MethodGroup) -> list[tuple[CellRecord, CellRecord]]:
    """Every seed both groups ran; without a shared seed, a single run against each run of the
    other group, else the runs of both in seed order."""
    by_seed = {r.seed: r for r in b.records if r.seed is not None}
    shared = [(r, by_seed[r.seed]) for r in a.records if r.seed in by_seed]  # sorted by seed
    if shared:
        return shared
    if len(a.records) == 1:
        return [(a.records[0], other) for other in b.records]
    if len(b.records) == 1:
        return [(run, b.records[0]) for run in a.records]
    return list(zip(a.records, b.records))


def compare_runs(a: MethodGroup, b: MethodGroup, folders: dict[str, Path]) -> list[Comparison]:
    """A against B on each pair of runs that has sidecars on the same examples."""
    tests = []
    for run_a, run_b in paired_runs(a, b):
        predictions = [load_test_predictions(r, folders) for r in (run_a, run_b)]
        if None in predictions or len(predictions[0][0]) != len(predictions[1][0]) or (
                predictions[0][0] != predictions[1][0]).any():
            continue
        from bench.stats.bootstrap import paired_verdict

        verdict = paired_verdict(predictions[0][0], predictions[0][1], predictions[1][1],
                                 metric="f1_macro", num_classes=predictions[0][1].shape[1])
        tests.append(Comparison(verdict.verdict, verdict.difference, verdict.low, verdict.high,
                                verdict.mcnemar_p, run_a.seed, run_b.seed))
    return tests


def compare(a: MethodGroup, b: MethodGroup, folders: dict[str, Path]) -> Comparison | None:
    """One verdict for A against B: the verdict of every paired run when they agree (figures
    of the first pair), "mixed" when seeds disagree; None without sidecars."""
    tests = compare_runs(a, b, folders)
    if not tests:
        return None
    verdicts = {t.verdict for t in tests}
    first = tests[0]
    return Comparison(verdicts.pop() if len(verdicts) == 1 else "mixed", first.difference,
                      first.low, first.high, first.mcnemar_p, first.seed_a, first.seed_b,
                      pairs=len(tests))


def load_sidecar(record: CellRecord, folders: dict[str, Path]) -> dict | None:
    """Every split the record's sidecar keeps (bench/record/predictions.py keys), or None."""
    if not record.predictions_file or record.cell_id not in folders:
        return None
    path = folders[record.cell_id] / record.predictions_file
    if not path.is_file():
        return None
    from bench.record.predictions import load_predictions

    return load_predictions(path)


def load_test_predictions(record: CellRecord, folders: dict[str, Path]):
    """(labels, class probabilities) on the test split, or None without a sidecar."""
    split = (load_sidecar(record, folders) or {}).get("test")
    if split is None or split.probs.ndim != 2:
        return None
    return split.labels, split.probs


def by_validation(groups: list[MethodGroup]) -> list[MethodGroup]:
    """Highest validation F1 first (test F1 where a group has no validation score)."""
    def key(g: MethodGroup) -> tuple:
        score = g.validation_f1 if g.validation_f1 is not None else g.f1.mean
        return (score is None, -(score or 0.0))
    return sorted(groups, key=key)


def verdicts_block(groups: list[MethodGroup], folders: dict[str, Path]) -> Table | Text | None:
    """Every pair of groups, A the one ranked higher on validation; None for a single group."""
    ranked = by_validation(groups)
    pairs = [(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1:]]
    if not pairs:
        return None
    tests = [(a, b, compare_runs(a, b, folders)) for a, b in pairs]
    if all(not t for _, _, t in tests):
        return Text(NO_PAIRED_TEST)
    rows = []
    for a, b, runs in tests:
        if not runs:
            rows.append([a.name, b.name, "–", "–", "–", "no paired test (no sidecar on the "
                                                        "same examples)"])
        for test in runs:
            p_value = "–" if test.mcnemar_p is None else f"{test.mcnemar_p:.3f}"
            rows.append([a.name, b.name, test.seeds_text(),
                         f"{signed(test.difference)} [{signed(test.low)}, {signed(test.high)}]",
                         p_value, test.verdict])
    return Table(["A", "B", "paired on", "Δ F1 macro (A − B), 95% paired interval",
                  "McNemar p (accuracy)", "verdict for A"], rows,
                 note="A is the one ranked higher on validation F1. Both on the same test "
                      "examples; one row per seed both groups ran (a single run against each "
                      "seed of the other group). Where the rows of a pair disagree, the "
                      "methods are not told apart by these seeds.")
