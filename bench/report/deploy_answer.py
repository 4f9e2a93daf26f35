"""The answer's deployment statements: the reference they rest on (the chosen method, its seed
and why), the variant chosen per target, and a table of every variant's paired validation
change against the reference, its budget verdict and, for variants that trained further, what
the compression did apart from the extra training."""
from __future__ import annotations

from pathlib import Path

from bench.record.rows import VariantRow
from bench.report.deploy_budget import BUDGET_POINTS, NOT_JUDGED, Judged, judge_variants
from bench.report.deploy_choice import choose_variants
from bench.report.deploy_reference import DeployReference, median_seed, seed_text
from bench.report.document import Block, Bullets, Table, Text
from bench.report.format import NO_INTERVAL, interval, mb, num, signed
from bench.report.groups import MethodGroup
from bench.report.tables import speedup_text
from bench.stats.selection import Change

BUDGET = (f"Budget: accuracy and F1 macro may each lose at most {BUDGET_POINTS:g} point against "
          f"the reference. A variant is within budget only when the lower end of the 95% paired "
          f"interval of its change on validation (same examples, bootstrap) is above "
          f"-{BUDGET_POINTS:g} point for both; outside when the upper end of either is below it; "
          "inconclusive otherwise, and then not chosen. Figures shown are test.")


def speedup_of(row: VariantRow, target: str) -> str:
    """The speed-up at the latency or the throughput batch, with its interval if timed so."""
    text = speedup_text(*(getattr(row, f"speedup_{target}_{part}")
                          for part in ("batch", "low", "high", "verdict")))
    return "speed-up –" if text == "–" else f"{text} against fp32/torch"


def variant_text(row: VariantRow) -> str:
    bounds = interval(row.f1_macro_low, row.f1_macro_high) or NO_INTERVAL
    return (f"**{row.method}: {row.variant} on {row.backend}**, {mb(row.size_mb)} MB, "
            f"test F1 {num(row.f1_macro)} ({bounds}; Δ {signed(row.delta_f1_macro)} against "
            "the reference on test)")


def choice_lines(judged: list[Judged]) -> list[str]:
    choice = choose_variants(judged)
    lines = []
    if choice.fastest:
        row = choice.fastest
        lines.append(f"Lowest latency (batch {row.latency_batch}): {variant_text(row)}; p50 "
                     f"{num(row.p50_ms_latency_batch, 2)} ms, {speedup_of(row, 'latency')}.")
    if choice.busiest:
        row = choice.busiest
        lines.append(f"Highest throughput (batch {row.throughput_batch}): {variant_text(row)}; "
                     f"{num(row.samples_per_s_throughput_batch, 1)} samples/s, "
                     f"{speedup_of(row, 'throughput')}.")
    if choice.smallest:
        lines.append(f"Smallest file: {variant_text(choice.smallest)}.")
    return lines


def reference_line(group: MethodGroup, reference: DeployReference) -> str:
    scores = reference.record.evaluation.validation
    return (f"Reference: **{group.method}** (`{group.name}`), {seed_text(reference.record)}, "
            f"fp32 on {reference.fp32.backend}, chosen as {reference.why}; validation F1 "
            f"{num(scores.score('f1_macro'))}, accuracy {num(scores.score('accuracy'))}. The "
            "variants below are this run's, each compared with it on the same validation "
            "examples.")


def change_text(change: Change | None) -> str:
    if change is None:
        return "–"
    return f"{signed(change.difference)} [{signed(change.low)}, {signed(change.high)}]"


def budget_table(judged: list[Judged]) -> Table:
    rows = []
    for j in judged:
        changes = {c.metric: c for c in j.changes}
        split = ([change_text(j.compression), change_text(j.more_training)] if j.control
                 else ["–", "–"])
        rows.append([j.row.variant, j.row.backend, change_text(changes.get("f1_macro")),
                     change_text(changes.get("accuracy")), j.verdict,
                     j.control or "–", *split])
    return Table(["variant", "backend", "Δ F1 macro, validation, 95% paired",
                  "Δ accuracy, validation, 95% paired", f"budget ({BUDGET_POINTS:g} point)",
                  "control", "compression: Δ F1 against the control",
                  "more training: Δ F1 of the control against fp32"], rows,
                 note="Δ against the reference on the same validation examples. A variant that "
                      "trained further (pruning recovery epochs, QAT) has a control: the "
                      "reference given the same extra training without the compression; its "
                      "change splits into the compression's (variant against control) and the "
                      "extra training's (control against fp32).")


def deployment_blocks(group: MethodGroup, variants: list[VariantRow],
                      folders: dict[str, Path]) -> list[Block]:
    """The chosen method's deployment choice, or one line saying why there is none."""
    reference = median_seed(group.records)
    if reference is None:
        others = ", ".join(f"`{cell}`" for cell in dict.fromkeys(v.cell_id for v in variants))
        return [Text(f"No deployment choice: the chosen method (`{group.name}`) has no deployed "
                     "run with a validation score, and variants are judged only against the "
                     f"chosen method's own fp32 model. Deployed on this dataset: {others} (their "
                     "variants are in the results below).")]
    judged = judge_variants(reference, folders)
    if all(j.verdict == NOT_JUDGED for j in judged):
        return [Text("Which variant to deploy:"), Bullets([
            reference_line(group, reference),
            "No variant can be judged against the budget: the reference run's prediction "
            "sidecar holds no validation predictions of its variants (older records, or a "
            "sidecar not kept), so no variant is chosen."])]
    return [Text("Which variant to deploy, per target:"),
            Bullets([reference_line(group, reference), *choice_lines(judged), BUDGET]),
            budget_table(judged)]
