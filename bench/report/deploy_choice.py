"""Which deployed variant to ship, per target (latency, throughput, file size): the best one
within an accuracy budget of the best uncompressed (fp32) model, both choices made on validation
scores by bench/stats/selection.py and reported on test. The bar is the uncompressed model's: a
variant that trained further (pruning recovery, QAT) does not raise it. Records whose variants
were scored on test only are judged on test, and the answer says so."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bench.record.rows import VariantRow
from bench.stats.selection import Candidate, select_best, select_within

BUDGET_POINTS = 1.0  # accuracy and F1 macro may each drop at most 1 point (percentage points)
NEVER = float("inf")


@dataclass
class DeployChoice:
    fastest: VariantRow | None  # lowest p50 at the latency batch
    busiest: VariantRow | None  # most samples/s at the throughput batch
    smallest: VariantRow | None  # smallest file
    budget: str  # the sentence that says how the budget was judged


def candidate(row: VariantRow, on_validation: bool) -> Candidate:
    test = {"f1_macro": row.f1_macro, "accuracy": row.accuracy}
    scores = ({"f1_macro": row.validation_f1_macro, "accuracy": row.validation_accuracy}
              if on_validation else test)
    return Candidate(f"{row.cell_id}:{row.variant}/{row.backend}", scores, test, {"row": row})


def lowest(value: Callable[[VariantRow], float | None]) -> Callable[[Candidate], float]:
    def key(c: Candidate) -> float:
        found = value(c.extra["row"])
        return NEVER if found is None else found
    return key


def choose_variants(rows: list[VariantRow]) -> DeployChoice | None:
    ok = [r for r in rows if r.ok and r.f1_macro is not None]
    if not ok:
        return None
    on_validation = all(r.validation_f1_macro is not None and r.validation_accuracy is not None
                        for r in ok)
    candidates = [candidate(r, on_validation) for r in ok]
    reference = select_best([c for c in candidates if not c.extra["row"].chain]).chosen
    if reference is None:
        return None

    def pick(value: Callable[[VariantRow], float | None]) -> VariantRow | None:
        chosen = select_within(candidates, reference, BUDGET_POINTS, lowest(value)).chosen
        return chosen.extra["row"] if chosen and lowest(value)(chosen) != NEVER else None

    best = reference.extra["row"]
    split = ("validation" if on_validation
             else "test (these records hold no validation scores of deployed variants)")
    scores = reference.validation
    budget = (f"Budget: accuracy and F1 macro each within {BUDGET_POINTS:g} point of the best "
              f"uncompressed model ({best.method}: {best.variant} on {best.backend}, accuracy "
              f"{scores['accuracy']:.4f}, F1 {scores['f1_macro']:.4f}), judged on {split}; "
              "figures shown are test.")
    return DeployChoice(
        pick(lambda r: r.p50_ms_latency_batch),
        pick(lambda r: None if r.samples_per_s_throughput_batch is None
             else -r.samples_per_s_throughput_batch),
        pick(lambda r: r.size_mb), budget)
