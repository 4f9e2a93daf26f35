"""The edges of `bench compare`'s rules: a change of exactly the threshold passes, one just
beyond fails; an accuracy drop alone fails; size growth fails; better figures never do."""
import pytest

from bench.report.compare import compare_cells
from bench.report.compare_rules import Rule, rules_from
from bench.record import CellRecord
from bench.specs import CompareThresholds
from bench.record.store import SCHEMA_VERSION

LIMITS = CompareThresholds(max_f1_drop=0.02, max_accuracy_drop=0.01,
                           max_latency_increase=0.10, max_size_increase=0.05)


def record(accuracy=0.80, f1=0.70, p50=40.0, file_bytes=2_000_000, artefact_bytes=1_000_000,
           cpu="CPU X"):
    return {"schema_version": SCHEMA_VERSION, "cell_id": "c", "status": "ok",
            "environment": {"cpu": {"model": cpu, "flags": {"avx2": True}}},
            "deployment_timing": {"threads": 2},
            "evaluation": {"test": {"accuracy": accuracy, "f1_macro": f1}},
            "artefacts": {"bytes": artefact_bytes},
            "deployment": [{"variant": "int8", "backend": "torch", "status": "ok",
                            "metrics": {"accuracy": accuracy, "f1_macro": f1},
                            "latency": {"32": {"p50_ms": p50}},
                            "footprint": {"file_bytes": file_bytes}}]}


def compared(old: dict, new: dict) -> list:
    return compare_cells({"c": CellRecord.from_dict(old)}, {"c": CellRecord.from_dict(new)},
                         rules_from(LIMITS))


def regressions(new: dict, old: dict | None = None) -> set[tuple[str, str]]:
    rows = compared(old or record(), new)
    return {(r.target, r.metric) for r in rows if r.regression}


@pytest.mark.parametrize("rule, old, new, regressed", [
    (Rule(True, False, 0.02), 0.70, 0.68, False),  # exactly the allowed drop
    (Rule(True, False, 0.02), 0.70, 0.6799, True),
    (Rule(True, False, 0.02), 0.70, 0.90, False),
    (Rule(False, True, 0.10), 40.0, 44.0, False),  # exactly +10%
    (Rule(False, True, 0.10), 40.0, 44.01, True),
    (Rule(False, True, 0.10), 40.0, 20.0, False),  # faster
    (Rule(False, True, 0.10), 0.0, 5.0, False),  # no relative change from zero
])
def test_rule_edges(rule, old, new, regressed):
    assert rule.regressed(old, new) is regressed


def test_identical_runs_do_not_regress():
    assert regressions(record()) == set()


def test_an_accuracy_drop_alone_is_a_regression():
    found = regressions(record(accuracy=0.785))
    assert found == {("fine-tuned", "accuracy"), ("int8/torch", "accuracy")}


def test_accuracy_drop_of_exactly_the_threshold_passes():
    assert regressions(record(accuracy=0.79)) == set()


def test_f1_drop_at_and_beyond_the_threshold():
    assert regressions(record(f1=0.68)) == set()
    assert regressions(record(f1=0.675)) == {("fine-tuned", "F1 macro"), ("int8/torch", "F1 macro")}


def test_size_growth_beyond_the_threshold_is_a_regression():
    assert regressions(record(file_bytes=2_100_000, artefact_bytes=1_050_000)) == set()
    found = regressions(record(file_bytes=2_120_000, artefact_bytes=1_060_000))
    assert found == {("fine-tuned", "disk MB"), ("int8/torch", "disk MB")}


def test_latency_growth_at_and_beyond_the_threshold():
    assert regressions(record(p50=44.0)) == set()
    assert regressions(record(p50=44.5)) == {("int8/torch", "p50 ms (b=32)")}


def test_better_figures_are_marked_better_and_never_regress():
    rows = compared(record(), record(accuracy=0.9, f1=0.8, p50=20.0, file_bytes=1_000_000))
    int8 = {r.metric: r for r in rows if r.target == "int8/torch"}
    assert not any(r.regression for r in rows)
    assert {m: r.verdict for m, r in int8.items()} == {
        "accuracy": "better", "F1 macro": "better", "p50 ms (b=32)": "better",
        "disk MB": "better"}
    assert int8["p50 ms (b=32)"].change == "-50.0%"


def test_a_metric_no_longer_measured_is_a_regression():
    new = record()
    new["deployment"][0]["metrics"]["f1_macro"] = None
    assert regressions(new) == {("int8/torch", "F1 macro")}


def test_latency_is_not_compared_across_hardware_but_scores_are():
    rows = compared(record(), record(p50=80.0, f1=0.6, cpu="CPU Y"))
    assert {(r.target, r.metric) for r in rows if r.regression} == {
        ("fine-tuned", "F1 macro"), ("int8/torch", "F1 macro")}
    assert not any(r.metric.startswith("p50") for r in rows)
    assert any(r.metric == "hardware" and "CPU 'CPU X' vs 'CPU Y'" in r.verdict for r in rows)
