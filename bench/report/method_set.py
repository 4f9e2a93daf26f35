"""The answer's method statements at method level (bench/stats/best_set.py): the set of methods
not shown worse than the validation best, each with its probability of being best, the
cheapest member non-inferior to it per cost axis, and the comparisons behind them as a table.
Where no method has 3 seeds, it says "runs, not methods" and names no method."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.report.document import Table
from bench.report.format import num, signed
from bench.report.groups import MethodGroup
from bench.report.verdicts import load_test_predictions
from bench.stats.best_set import BestSet, Contender, Member, best_set
from bench.stats.methods import MIN_SEEDS, RUNS_NOT_METHODS, MethodComparison, SeedRuns

AXES = {"trainable_params": "fewest trainable parameters",
        "train_runtime_s": "shortest training", "train_peak_memory_mb": "least training memory"}


def seed_runs(group: MethodGroup, folders: dict[str, Path],
              labels: np.ndarray | None) -> tuple[SeedRuns | None, np.ndarray | None]:
    """The group's seeds as SeedRuns on the test split, and the labels they share; None where a
    seed lacks its sidecar or was scored on other examples than `labels`."""
    predictions = [load_test_predictions(r, folders) for r in group.records]
    if not predictions or any(p is None for p in predictions):
        return None, labels
    labels = predictions[0][0] if labels is None else labels
    if any(len(p[0]) != len(labels) or (p[0] != labels).any() for p in predictions):
        return None, labels
    classes = predictions[0][1].shape[1]
    return SeedRuns.of(labels, [p[1].argmax(axis=1) for p in predictions], classes), labels


def contenders_of(groups: list[MethodGroup], folders: dict[str, Path]) -> list[Contender]:
    labels, out = None, []
    for group in groups:
        runs, labels = seed_runs(group, folders, labels)
        out.append(Contender(group.name, runs, group.validation_f1,
                             not group.may_not_have_converged,
                             {"trainable_params": group.trainable_params,
                              "train_runtime_s": group.train_runtime_s,
                              "train_peak_memory_mb": group.train_peak_memory_mb}))
    return out


def judged(groups: list[MethodGroup], folders: dict[str, Path], margin: float) -> BestSet:
    return best_set(contenders_of(groups, folders), margin=margin)


def every_method_judged(result: BestSet) -> bool:
    """Every method has MIN_SEEDS seeds and a method-level verdict: then a paired test of one
    run against one run adds nothing but seed noise read as a difference."""
    return result.reference is not None and all(m.why != RUNS_NOT_METHODS
                                                for m in result.members)


def points(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def corrected_verdict(member: Member, alpha: float) -> str:
    """The comparison's verdict as the corrected family reads it. Alone, an interval that
    excludes 0 says "better" or "worse"; among many comparisons with the reference it may not
    survive Holm, and then the method stays in the set, so it must not read "worse"."""
    c = member.comparison
    if c.verdict in ("better", "worse") and member.adjusted_p is not None \
            and member.adjusted_p >= alpha:
        return f"{c.verdict} uncorrected, not after Holm (p={member.adjusted_p:.3f})"
    return c.verdict


def comparison_text(member: Member, alpha: float) -> str:
    c = member.comparison
    settle = ""
    if c.verdict == "inconclusive":
        settle = (f": {c.seeds_to_settle} seeds per method would settle it"
                  if c.seeds_to_settle else ": more seeds would not settle it (test set too small)")
    return (f"Δ {signed(c.difference)} [{signed(c.low)}, {signed(c.high)}], "
            f"{corrected_verdict(member, alpha)}{settle}; detectable at 80% power: "
            f"{points(c.detectable)} points")


def member_text(member: Member, groups: dict[str, MethodGroup], alpha: float) -> str:
    group = groups[member.name]
    flags = "" if not group.may_not_have_converged else ", may not have converged"
    if member.why == RUNS_NOT_METHODS:
        return (f"`{member.name}` ({RUNS_NOT_METHODS}: {len(group.records)} seed(s), validation "
                f"F1 {num(group.validation_f1)}{flags})")
    chance = f"P(best) {member.probability_best:.2f}"
    if member.why == "reference":
        return f"`{member.name}` (the reference, validation F1 {num(group.validation_f1)}; " \
               f"{chance}{flags})"
    return f"`{member.name}` ({comparison_text(member, alpha)}; {chance}{flags})"


def set_lines(result: BestSet, groups: list[MethodGroup]) -> list[str]:
    by_name = {g.name: g for g in groups}
    if result.reference is None:
        best = max(groups, key=lambda g: (g.validation_f1 is not None, g.validation_f1 or 0))
        return [f"**No method verdict: {RUNS_NOT_METHODS}.** No method on this dataset has "
                f"{MIN_SEEDS} seeds with predictions on the test examples, so no figure here "
                f"separates a method from its seed. Highest validation F1: `{best.name}` "
                f"({num(best.validation_f1)}, {len(best.records)} seed(s)); not named best."]
    reference = by_name[result.reference]
    alone = result.named_alone and not reference.may_not_have_converged
    head = (f"**Best method: {reference.method}** (`{reference.name}`), the only method not "
            f"shown worse" if alone else
            f"**Plausibly best: {len(result.members)} method(s) not shown worse than "
            f"`{reference.name}`**")
    family = sum(m.comparison is not None for m in [*result.members, *result.shown_worse])
    lines = [f"{head} (the highest validation F1 among methods with {MIN_SEEDS}+ seeds; each "
             f"other method against it on test over seeds and examples, {family} "
             f"comparison(s) Holm-corrected, margin ±{points(result.margin)} points macro-F1): "
             + "; ".join(member_text(m, by_name, result.alpha) for m in result.members)
             + f". Test F1 of `{reference.name}`: {reference.f1.text()}."]
    if result.shown_worse:
        lines.append("Shown worse than the reference: " + "; ".join(
            f"`{m.name}` ({comparison_text(m, result.alpha)}; Holm p={m.adjusted_p:.3f})"
            for m in result.shown_worse) + ".")
    lines.append(cheapest_text(result))
    return lines


def cheapest_text(result: BestSet) -> str:
    parts = [f"{AXES[axis]}: `{name}`" for axis, name in result.cheapest.items()]
    others = {n for n in result.cheapest.values() if n != result.reference}
    if not others:
        return (f"No other method is shown non-inferior to `{result.reference}` within "
                f"{points(result.margin)} points (one-sided, 5%): the only non-inferior choice is the reference itself.")
    return (f"**Cheapest non-inferior to `{result.reference}`** (within {points(result.margin)} "
            f"points, one-sided 5%), per cost axis: " + "; ".join(parts) + ".")


def comparisons_table(result: BestSet) -> Table | None:
    rows = []
    for member in [*result.members, *result.shown_worse]:
        c = member.comparison
        if c is None:
            continue
        rows.append([member.name, f"{c.seeds_a} / {c.seeds_b}",
                     f"{signed(c.difference)} [{signed(c.low)}, {signed(c.high)}]",
                     f"{c.p_value:.3f}", f"{member.adjusted_p:.3f}", points(c.detectable),
                     corrected_verdict(member, result.alpha), num(c.seeds_to_settle),
                     f"{member.probability_best:.2f}"])
    if not rows:
        return None
    return Table(["method", "seeds (it / reference)", "Δ F1 macro, 95% interval", "p",
                  "Holm p", "detectable (points, 80% power)", "verdict",
                  "seeds to settle", "P(best)"], rows,
                 note=f"Against `{result.reference}` over seeds and examples (Welch t over seed "
                      "means, jackknife over test examples; docs/statistics.md). Equivalent: "
                      f"the 90% interval inside ±{points(result.margin)} points. P(best): "
                      f"{result.resamples} bootstrap resamples of seeds and examples.")
