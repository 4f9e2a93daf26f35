"""Paired tests between method groups on the same test examples, from the cells' prediction
sidecars: what lets the report call two methods tied, or one better, rather than read it off
two means. One run of each group is paired (the first seed both ran), so that a verdict rests
on the same examples and, where it can, the same seed."""
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

    verdict: str  # better | worse | tied
    difference: float
    low: float
    high: float
    mcnemar_p: float | None
    seed_a: int | None
    seed_b: int | None

    def seeds_text(self) -> str:
        if self.seed_a is None and self.seed_b is None:
            return "single runs"
        if self.seed_a == self.seed_b:
            return f"seed {self.seed_a}"
        return f"seeds {self.seed_a} / {self.seed_b}"


def paired_runs(a: MethodGroup, b: MethodGroup) -> tuple[CellRecord, CellRecord]:
    """The runs of the first seed both groups ran; without one, the first run of each."""
    by_seed = {r.seed: r for r in b.records if r.seed is not None}
    for record in a.records:  # sorted by seed
        if record.seed in by_seed:
            return record, by_seed[record.seed]
    return a.records[0], b.records[0]


def compare(a: MethodGroup, b: MethodGroup, folders: dict[str, Path]) -> Comparison | None:
    """A against B on their paired runs, or None without sidecars on the same examples."""
    run_a, run_b = paired_runs(a, b)
    predictions = [load_test_predictions(r, folders) for r in (run_a, run_b)]
    if None in predictions or len(predictions[0][0]) != len(predictions[1][0]) or (
            predictions[0][0] != predictions[1][0]).any():
        return None
    from bench.stats import paired_verdict

    verdict = paired_verdict(predictions[0][0], predictions[0][1], predictions[1][1],
                             metric="f1_macro", num_classes=predictions[0][1].shape[1])
    return Comparison(verdict.verdict, verdict.difference, verdict.low, verdict.high,
                      verdict.mcnemar_p, run_a.seed, run_b.seed)


def load_test_predictions(record: CellRecord, folders: dict[str, Path]):
    """(labels, class probabilities) on the test split, or None without a sidecar."""
    if not record.predictions_file or record.cell_id not in folders:
        return None
    path = folders[record.cell_id] / record.predictions_file
    if not path.is_file():
        return None
    from bench.predictions import load_predictions

    split = load_predictions(path).get("test")
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
    tests = [(a, b, compare(a, b, folders)) for a, b in pairs]
    if all(t is None for _, _, t in tests):
        return Text(NO_PAIRED_TEST)
    rows = []
    for a, b, test in tests:
        if test is None:
            rows.append([a.name, b.name, "–", "–", "–", "no paired test (no sidecar on the "
                                                        "same examples)"])
            continue
        p_value = "–" if test.mcnemar_p is None else f"{test.mcnemar_p:.3f}"
        rows.append([a.name, b.name, test.seeds_text(),
                     f"{signed(test.difference)} [{signed(test.low)}, {signed(test.high)}]",
                     p_value, test.verdict])
    return Table(["A", "B", "paired on", "Δ F1 macro (A − B), 95% paired interval",
                  "McNemar p (accuracy)", "verdict for A"], rows,
                 note="A is the one ranked higher on validation F1. Both on the same test "
                      "examples; seed groups paired on the first seed both ran, else on the "
                      "first run of each.")
