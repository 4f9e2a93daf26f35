"""The answer section: per dataset, which method to fine-tune with and which variant to deploy,
each statement with the figures it rests on and the statistics it can claim."""
from __future__ import annotations

from pathlib import Path

from bench.report.document import Block, Bullets, Heading, Text
from bench.report.deploy_answer import deployment_blocks
from bench.report.format import num, signed
from bench.report.groups import MethodGroup
from bench.report.method_set import judged, set_lines
from bench.record.rows import VariantRow
from bench.report.verdicts import Comparison, compare
from bench.stats.methods import RUNS_NOT_METHODS
from bench.stats.selection import Candidate, select_best


def best_method(groups: list[MethodGroup]) -> tuple[MethodGroup | None, bool]:
    """The best group by bench/stats/selection.py: highest validation F1 macro, then accuracy; on
    test scores only where no group has validation scores (and the answer says so). Returns the
    group and whether validation decided."""
    def candidate(g: MethodGroup, on_validation: bool) -> Candidate:
        test = {"f1_macro": g.f1.mean, "accuracy": g.accuracy.mean}
        scores = ({"f1_macro": g.validation_f1, "accuracy": g.validation_accuracy}
                  if on_validation else test)
        return Candidate(g.name, scores, test, {"group": g})

    for on_validation in (True, False):
        chosen = select_best([candidate(g, on_validation) for g in groups]).chosen
        if chosen is not None:
            return chosen.extra["group"], on_validation
    return None, False


AGAINST_THE_BEST = {"worse": "better than", "better": "worse than", "tied": "tied with",
                    "mixed": "not told apart, seeds disagreeing, from"}


def best_line(best: MethodGroup, on_validation: bool,
              tests: dict[str, Comparison | None]) -> str:
    """`tests`: each other group against the best, whose verdicts the line reads the other
    way round."""
    chosen = (f"chosen on validation F1 {num(best.validation_f1)}" if on_validation
              else "chosen on test F1 (no validation scores in these records)")
    warning = (" Its best epoch was its last: **it may not have converged**."
               if best.may_not_have_converged else "")
    verdicts = [f"{AGAINST_THE_BEST[t.verdict]} `{name}` ({seeds_against_best(t)})"
                for name, t in tests.items() if t is not None]
    paired = f" Paired on the test set: {', '.join(verdicts)}." if verdicts else ""
    return (f"Run with the highest validation score ({RUNS_NOT_METHODS}): **{best.method}** "
            f"(`{best.name}`): test F1 macro {best.f1.text()}, "
            f"accuracy {best.accuracy.text()}; {chosen}.{warning}{paired}")


def seeds_against_best(test: Comparison) -> str:
    """The best's seed first: `test` is the other group against the best."""
    if test.pairs > 1:
        return f"{test.pairs} seed pairs, see the paired verdicts"
    if test.seed_a == test.seed_b:
        return test.seeds_text()
    return f"seed {test.seed_b} against its seed {test.seed_a}"


def cost_text(group: MethodGroup) -> str:
    return (f"{num(group.trainable_params)} trainable parameters, "
            f"{num(group.train_runtime_s, 1)} s training, "
            f"{num(group.train_peak_memory_mb, 0)} MB peak training memory")


def cheapest_line(best: MethodGroup, groups: list[MethodGroup],
                  tests: dict[str, Comparison | None]) -> str:
    """`tests`: each other group against the best (bench/report/verdicts.py)."""
    others = sorted((g for g in groups if g is not best), key=MethodGroup.cost)
    if not others:
        return "No other method ran on this dataset: nothing to compare the cost with."
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
        return (f"No cheaper run is tied with it in a run-level paired test on the test set "
                f"(best: {cost_text(best)}).")
    pick, test = cheaper[0], tests[cheaper[0].name]
    # run-level: "tied" is "not told apart on these examples", never "as good"
    p_value = f", McNemar p={test.mcnemar_p:.3f}" if test.mcnemar_p is not None else ""
    seeds = (f" (paired on {test.seeds_text()})"
             if len(pick.records) > 1 or len(best.records) > 1 else "")
    return (f"Cheapest run not told apart from it in a run-level test: **{pick.method}** "
            f"(`{pick.name}`): {cost_text(pick)} "
            f"(best: {cost_text(best)}); test F1 {num(pick.f1.mean)}, paired difference "
            f"{signed(test.difference)} [{signed(test.low)}, {signed(test.high)}]{p_value}"
            f"{seeds}: {test.verdict}.")


def difference(a: MethodGroup, b: MethodGroup) -> float | None:
    return None if a.f1.mean is None or b.f1.mean is None else a.f1.mean - b.f1.mean


def method_lines(groups: list[MethodGroup], folders: dict[str, Path], margin: float,
                 best: MethodGroup, on_validation: bool) -> tuple[list[str], MethodGroup]:
    """Method-level statements where seeds allow (bench/report/method_set.py); otherwise
    "runs, not methods" and the run-level lines, which name runs, not methods. Returns them
    with the group the answer chose: the method-level reference, else the best run's group."""
    result = judged(groups, folders, margin)
    lines = set_lines(result, groups)
    if result.reference is not None:
        return lines, next(g for g in groups if g.name == result.reference)
    tests = {g.name: compare(g, best, folders) for g in groups if g is not best}
    return lines + [best_line(best, on_validation, tests),
                    cheapest_line(best, groups, tests)], best


def answer_blocks(dataset: str, groups: list[MethodGroup], variants: list[VariantRow],
                  folders: dict[str, Path], margin: float = 0.02) -> list[Block]:
    best, on_validation = best_method(groups)
    if best is None:
        return [Heading(3, dataset), Text("No finished cell with test scores.")]
    items, chosen = method_lines(groups, folders, margin, best, on_validation)
    floor = best.first.baseline_f1_macro
    if floor is not None:
        items.append(f"Floor (TF-IDF + logistic regression): test F1 {num(floor)}; the best "
                     f"method's F1 is {signed(best.f1.mean - floor)} against it.")
    blocks: list[Block] = [Heading(3, dataset), Bullets(items)]
    if variants:
        return blocks + deployment_blocks(chosen, variants, folders)
    return blocks + [Text("No deployed variants on this dataset (the suite did not deploy its "
                          "cells), so no deployment choice.")]
