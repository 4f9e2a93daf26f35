"""What `bench compare` calls noise: where both folders hold at least 3 seeds of a cell (its
records sharing one `seed_group`), a score drop of one seed is judged by the method-level test
of the whole group (bench/stats/methods.py), which sees seed noise as well as the test
examples' noise: two seeds of one method often differ by more than a paired test over examples
allows, and a nightly gate that judged seeds one by one would fire on that. Elsewhere a drop is
judged by the paired test of the two runs (bench/stats/pairing.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.metric_registry import METRICS
from bench.record import CellRecord
from bench.record.predictions import find_predictions
from bench.stats.bootstrap import PairedVerdict
from bench.stats.methods import MIN_SEEDS, MethodComparison, SeedRuns, compare_methods

GROUP_METRICS = ("accuracy", "f1_macro")  # the gated scores the method-level test knows


@dataclass(frozen=True)
class NoiseVerdict:
    """Whether a difference is beyond the noise ("worse", "better", or another word), and how
    that was judged, in words for the table."""

    verdict: str
    how: str

    @classmethod
    def of_runs(cls, paired: PairedVerdict) -> "NoiseVerdict":
        return cls(paired.verdict, f"paired interval {paired.low:+.4f} to {paired.high:+.4f}, "
                                   f"McNemar p={paired.mcnemar_p:.2g}")

    @classmethod
    def of_group(cls, comparison: MethodComparison) -> "NoiseVerdict":
        return cls(comparison.verdict,
                   f"seed group, {comparison.seeds_b} vs {comparison.seeds_a} seeds: mean "
                   f"{comparison.difference:+.4f} [{comparison.low:+.4f}, "
                   f"{comparison.high:+.4f}], method-level test")


def group_verdicts(old: dict[str, CellRecord], new: dict[str, CellRecord],
                   folders: tuple[Path, Path], margin: float
                   ) -> dict[tuple[str, str], NoiseVerdict]:
    """(cell id, metric label) -> the method-level verdict of its seed group, new against old,
    for every cell of a group with MIN_SEEDS seeds or more on both sides, scored on the same
    test examples."""
    verdicts: dict[tuple[str, str], NoiseVerdict] = {}
    old_groups, new_groups = seed_groups(old), seed_groups(new)
    for name in sorted(old_groups.keys() & new_groups.keys()):
        before = seed_runs(old_groups[name], folders[0])
        after = seed_runs(new_groups[name], folders[1])
        if before is None or after is None or not same_examples(before, after):
            continue
        for metric in GROUP_METRICS:
            verdict = NoiseVerdict.of_group(compare_methods(after, before, metric, margin=margin))
            for record in new_groups[name]:
                verdicts[(record.cell_id, METRICS[metric].label)] = verdict
    return verdicts


def seed_groups(records: dict[str, CellRecord]) -> dict[str, list[CellRecord]]:
    groups: dict[str, list[CellRecord]] = {}
    for record in records.values():
        if record.ok:
            groups.setdefault(record.group, []).append(record)
    return {name: runs for name, runs in groups.items() if len(runs) >= MIN_SEEDS}


def seed_runs(records: list[CellRecord], folder: Path) -> SeedRuns | None:
    """The group's test predictions, or None where a seed lacks them or was scored on other
    examples than the first."""
    splits = [(find_predictions(r.to_dict(), folder) or {}).get("test") for r in records]
    if any(split is None for split in splits):
        return None
    labels = splits[0].labels
    if labels.ndim != 1:  # multi-label: no method-level test here
        return None
    if any(len(s.labels) != len(labels) or (s.labels != labels).any() for s in splits):
        return None
    return SeedRuns.of(labels, [s.probs.argmax(axis=1) for s in splits], splits[0].probs.shape[1])


def same_examples(a: SeedRuns, b: SeedRuns) -> bool:
    return a.truth.shape == b.truth.shape and bool((a.truth == b.truth).all())
