"""Each deployed variant of the reference run against its fp32 model on the same validation
examples: the paired change of accuracy and F1 macro with its 95% interval, the verdict against
the accuracy budget (bench/stats/selection.py budget_verdict), and, for a variant that trained
further (pruning recovery, QAT), its change split in two through its control
(bench/stages/controls.py): the compression (variant against control) and the extra training
(control against fp32). Validation, not test: the choice is made on these verdicts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.record import DeployedVariant
from bench.record.predictions import SplitPredictions, deploy_key
from bench.record.rows import VariantRow, variant_row
from bench.report.deploy_reference import DeployReference
from bench.report.verdicts import load_sidecar
from bench.stats.bootstrap import paired_verdict
from bench.stats.selection import CHECKED, Change, budget_verdict

BUDGET_POINTS = 1.0  # accuracy and F1 macro may each drop at most 1 point (percentage points)
NOT_JUDGED = "not judged (no validation predictions)"


@dataclass
class Judged:
    """One variant of the reference run, judged against the budget on validation."""

    row: VariantRow  # its test figures, latency and size, as the tables show them
    changes: list[Change]  # against the reference, one per metric in CHECKED; empty: not judged
    verdict: str  # within budget, outside budget, inconclusive, or NOT_JUDGED
    control: str | None = None  # the variant name of its control, where it retrained
    compression: Change | None = None  # F1 macro, variant against its control
    more_training: Change | None = None  # F1 macro, control against fp32

    @property
    def change(self) -> Change | None:
        return next((c for c in self.changes if c.metric == "f1_macro"), None)


def paired_change(a: SplitPredictions | None, b: SplitPredictions | None,
                  metric: str) -> Change | None:
    """metric(a) - metric(b) with its 95% paired bootstrap interval; None unless both were
    scored on the same examples."""
    if a is None or b is None or not np.array_equal(a.labels, b.labels):
        return None
    verdict = paired_verdict(a.labels, a.probs, b.probs, metric, num_classes=a.probs.shape[1])
    return Change(metric, verdict.difference, verdict.low, verdict.high)


def judge_variants(reference: DeployReference, folders: dict[str, Path]) -> list[Judged]:
    """Every variant of the reference run that ran ("ok"), the reference itself first."""
    record = reference.record
    kept = load_sidecar(record, folders) or {}

    def validation(variant: DeployedVariant) -> SplitPredictions | None:
        return kept.get(deploy_key(variant.variant, variant.backend, "validation"))

    fp32 = validation(reference.fp32)
    controls = {c.variant: c for c in record.deployment_controls if c.ok}
    judged = []
    for variant in (v for v in record.variants if v.ok):
        own = validation(variant)
        changes = [paired_change(own, fp32, metric) for metric in CHECKED]
        verdict = (budget_verdict(changes, BUDGET_POINTS) if None not in changes
                   else NOT_JUDGED)
        control = controls.get(variant.control) if variant.control else None
        judged.append(Judged(
            variant_row(record, variant), changes if verdict != NOT_JUDGED else [], verdict,
            variant.control,
            paired_change(own, validation(control), "f1_macro") if control else None,
            paired_change(validation(control), fp32, "f1_macro") if control else None))
    return judged

