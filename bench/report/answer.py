"""The answer section: per dataset, which method to fine-tune with and which variant to deploy,
each statement with the figures it rests on and the statistics it can claim."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.record import CellRecord
from bench.report.document import Block, Bullets, Heading, Text
from bench.report.format import NO_INTERVAL, interval, mb, num, signed
from bench.report.groups import MethodGroup
from bench.report.tables import speedup_text
from bench.rows import VariantRow

BUDGET_POINTS = 0.01  # a deployed variant may lose at most 1 point of F1 macro


@dataclass
class Comparison:
    """A paired test of a candidate against the best method on the same test examples."""

    verdict: str  # better | worse | tied
    difference: float
    low: float
    high: float
    mcnemar_p: float | None


def best_method(groups: list[MethodGroup]) -> MethodGroup | None:
    """Chosen on validation F1 macro (test F1 where a cell has no validation score); the
    report then states its test figures."""
    scored = [g for g in groups if (g.validation_f1 if g.validation_f1 is not None
                                    else g.f1.mean) is not None]
    if not scored:
        return None
    return max(scored, key=lambda g: g.validation_f1 if g.validation_f1 is not None else g.f1.mean)


def paired(best: MethodGroup, other: MethodGroup, folders: dict[str, Path]) -> Comparison | None:
    """`other` against `best` on the first seed of each, from their predictions sidecars."""
    a, b = other.records[0], best.records[0]
    predictions = [load_test_predictions(r, folders) for r in (a, b)]
    if None in predictions or len(predictions[0][0]) != len(predictions[1][0]) or (
            predictions[0][0] != predictions[1][0]).any():
        return None
    from bench.stats import paired_verdict

    verdict = paired_verdict(predictions[0][0], predictions[0][1], predictions[1][1],
                             metric="f1_macro", num_classes=predictions[0][1].shape[1])
    return Comparison(verdict.verdict, verdict.difference, verdict.low, verdict.high,
                      verdict.mcnemar_p)


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


def best_line(best: MethodGroup) -> str:
    chosen = (f"chosen on validation F1 {num(best.validation_f1)}"
              if best.validation_f1 is not None else "chosen on test F1 (no validation score)")
    warning = (" Its best epoch was its last: **it may not have converged**."
               if best.may_not_have_converged else "")
    return (f"**Best method: {best.method}** (`{best.name}`): test F1 macro {best.f1.text()}, "
            f"accuracy {best.accuracy.text()}; {chosen}.{warning}")


def cost_text(group: MethodGroup) -> str:
    return (f"{num(group.trainable_params)} trainable parameters, "
            f"{num(group.train_runtime_s, 1)} s training, "
            f"{num(group.train_peak_memory_mb, 0)} MB peak training memory")


def cheapest_line(best: MethodGroup, groups: list[MethodGroup],
                  folders: dict[str, Path]) -> str:
    others = sorted((g for g in groups if g is not best), key=MethodGroup.cost)
    if not others:
        return "No other method ran on this dataset: nothing to compare the cost with."
    tests = {g.name: paired(best, g, folders) for g in others}
    if all(t is None for t in tests.values()):
        cheapest = others[0] if others[0].cost() < best.cost() else best
        if cheapest is best:
            return f"No method is cheaper than the best ({cost_text(best)})."
        return ("No paired test (these records carry no per-example predictions), so no cheaper "
                f"method can be called tied with the best. The cheapest, **{cheapest.method}** "
                f"(`{cheapest.name}`): {cost_text(cheapest)}, test F1 {num(cheapest.f1.mean)} "
                f"({signed(difference(cheapest, best))} against the best; best: "
                f"{cost_text(best)}).")
    tied = [g for g in others if tests[g.name] and tests[g.name].verdict in ("tied", "better")]
    cheaper = [g for g in tied if g.cost() < best.cost()]
    if not cheaper:
        return (f"No cheaper method is tied with the best in a paired test on the test set "
                f"(best: {cost_text(best)}).")
    pick, test = cheaper[0], tests[cheaper[0].name]
    p_value = f", McNemar p={test.mcnemar_p:.3f}" if test.mcnemar_p is not None else ""
    return (f"**Cheapest method tied with it: {pick.method}** (`{pick.name}`): {cost_text(pick)} "
            f"(best: {cost_text(best)}); test F1 {num(pick.f1.mean)}, paired difference "
            f"{signed(test.difference)} [{signed(test.low)}, {signed(test.high)}]{p_value}: "
            f"{test.verdict}.")


def difference(a: MethodGroup, b: MethodGroup) -> float | None:
    return None if a.f1.mean is None or b.f1.mean is None else a.f1.mean - b.f1.mean


def within_budget(rows: list[VariantRow]) -> tuple[list[VariantRow], str]:
    """Variants within BUDGET_POINTS of F1 macro of the best uncompressed (fp32) model, chosen
    on validation scores where every variant has them, and the sentence that says which split
    decided. The bar is the uncompressed model's: a variant that trained further (pruning
    recovery, QAT) does not raise it."""
    ok = [r for r in rows if r.ok and r.f1_macro is not None]
    on_validation = bool(ok) and all(r.validation_f1_macro is not None for r in ok)
    key = (lambda r: r.validation_f1_macro) if on_validation else (lambda r: r.f1_macro)
    references = [r for r in ok if not r.chain]
    if not references:
        return [], ""
    reference = max(references, key=key)
    split = ("validation" if on_validation
             else "test (these records hold no validation scores of deployed variants)")
    return ([r for r in ok if key(r) >= key(reference) - BUDGET_POINTS - 1e-12],
            f"Budget: within {100 * BUDGET_POINTS:g} point of F1 macro of the best uncompressed "
            f"model ({reference.method}: {reference.variant} on {reference.backend}, "
            f"{num(key(reference))}), judged on {split}.")


def speedup_of(row: VariantRow, target: str) -> str:
    """The speed-up at the latency or the throughput batch, with its interval if timed so."""
    text = speedup_text(*(getattr(row, f"speedup_{target}_{part}")
                          for part in ("batch", "low", "high", "verdict")))
    return "speed-up –" if text == "–" else f"{text} against fp32/torch"


def variant_text(row: VariantRow) -> str:
    bounds = interval(row.f1_macro_low, row.f1_macro_high) or NO_INTERVAL
    return (f"**{row.method}: {row.variant} on {row.backend}**, {mb(row.size_mb)} MB, "
            f"test F1 {num(row.f1_macro)} ({bounds}; Δ {signed(row.delta_f1_macro)} against "
            "its fp32)")


def deployment_lines(rows: list[VariantRow]) -> list[str]:
    eligible, budget = within_budget(rows)
    timed = [r for r in eligible if r.p50_ms_latency_batch is not None]
    if not timed:
        return []
    fastest = min(timed, key=lambda r: r.p50_ms_latency_batch)
    busiest = max((r for r in eligible if r.samples_per_s_throughput_batch is not None),
                  key=lambda r: r.samples_per_s_throughput_batch)
    smallest = min((r for r in eligible if r.size_mb is not None), key=lambda r: r.size_mb)
    return [
        f"Lowest latency (batch {fastest.latency_batch}): {variant_text(fastest)}; p50 "
        f"{num(fastest.p50_ms_latency_batch, 2)} ms, "
        f"{speedup_of(fastest, 'latency')}.",
        f"Highest throughput (batch {busiest.throughput_batch}): {variant_text(busiest)}; "
        f"{num(busiest.samples_per_s_throughput_batch, 1)} samples/s, "
        f"{speedup_of(busiest, 'throughput')}.",
        f"Smallest file: {variant_text(smallest)}.", budget]


def answer_blocks(dataset: str, groups: list[MethodGroup], variants: list[VariantRow],
                  folders: dict[str, Path]) -> list[Block]:
    best = best_method(groups)
    if best is None:
        return [Heading(3, dataset), Text("No finished cell with test scores.")]
    items = [best_line(best), cheapest_line(best, groups, folders)]
    floor = best.first.baseline_f1_macro
    if floor is not None:
        items.append(f"Floor (TF-IDF + logistic regression): test F1 {num(floor)}; the best "
                     f"method's F1 is {signed(best.f1.mean - floor)} against it.")
    deploy = deployment_lines(variants)
    blocks: list[Block] = [Heading(3, dataset), Bullets(items)]
    if deploy:
        blocks += [Text("Which variant to deploy, per target:"), Bullets(deploy)]
    else:
        blocks.append(Text("No deployed variants on this dataset (the suite did not deploy its "
                           "cells), so no deployment choice."))
    return blocks
