"""The report on a fixed fixture (tests/report_fixture.py): the answer names the right method
and variant with their figures, sweeps are ordered by their values, the Pareto front is right,
the CSV has its columns, older schemas are named, the loss curve has both curves."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.record.predictions import SplitPredictions, save_predictions
from bench.record import CellRecord
from bench.report import build_document, to_markdown
from bench.report.pareto import pareto_front
from bench.record.store import read_cell_records, write_json_atomic
from tests.report_fixture import cell, variant, write_fixture


@pytest.fixture
def results(tmp_path) -> Path:
    return write_fixture(tmp_path / "results")


def report_text(folder: Path, plots: Path | None = None) -> str:
    loaded = read_cell_records(folder, include_failed=True)
    return to_markdown(build_document(loaded.records, loaded.folders, plots))


def answer_of(markdown: str) -> str:
    return markdown.split("## The answer")[1].split("## Results by dataset")[0]


def test_answer_names_the_best_run_chosen_on_validation_not_a_method(results):
    answer = answer_of(report_text(results))
    # full has the higher test F1 (0.75) but lora the higher validation F1: lora's run is
    # named, as a run: one seed each, so no method verdict
    assert "**No method verdict: runs, not methods.**" in answer and "Best method" not in answer
    assert "Run with the highest validation score (runs, not methods): **lora** " \
           "(`m--lora--tweets`): test F1 macro 0.7400 (95% bootstrap [0.7100, 0.7700])" in answer
    assert "chosen on validation F1 0.7600" in answer
    assert "accuracy 0.7600 (single run, no interval)" in answer


def test_answer_without_predictions_says_there_is_no_paired_test(results):
    answer = answer_of(report_text(results))
    assert "No paired test" in answer
    assert "The cheapest, **ia3** (`m--ia3--tweets`): 17,000 trainable parameters, 90.0 s " \
           "training" in answer
    assert "test F1 0.7000 (-0.0400 against the best" in answer


def test_answer_picks_variants_within_the_budget(results):
    """int8/onnxruntime is fastest but loses 20 points on validation: outside the budget;
    int8/torch predicts as fp32 does: within, and chosen."""
    attach_validation(results, "m--lora--tweets", {
        "fp32/torch": RIGHT, "int8/torch": RIGHT, "int8/onnxruntime": wrong_on(40)})
    answer = answer_of(report_text(results))
    assert "Reference: **lora** (`m--lora--tweets`), seed 42, fp32 on torch, chosen as its " \
           "only deployed run with a validation score" in answer
    assert "Lowest latency (batch 1): **lora: int8 on torch**, 59.0 MB" in answer
    assert "p50 4.00 ms, 2.50x against fp32/torch" in answer
    assert "Highest throughput (batch 32): **lora: int8 on torch**" in answer
    assert "300.0 samples/s, 3.00x [2.80, 3.20] faster against fp32/torch" in answer
    assert "Smallest file: **lora: int8 on torch**" in answer
    assert "| int8 | torch | +0.0000 [+0.0000, +0.0000] | +0.0000 [+0.0000, +0.0000] | " \
           "within budget | – | – | – |" in answer
    assert "| int8 | onnxruntime | -0.2000 [" in answer and "| outside budget |" in answer


def test_a_small_loss_with_a_wide_interval_is_inconclusive_and_not_chosen(results):
    """int8/onnxruntime loses half a point on validation (one example net, of 19 that the two
    disagree on): within the budget by its point estimate, but its interval reaches far below
    -1 point, so it is inconclusive and not chosen, although it is the fastest."""
    reference, variant = RIGHT.copy(), RIGHT.copy()
    reference[:9] = RIGHT[:9, ::-1]  # fp32 wrong on 9 examples the variant gets right
    variant[9:19] = RIGHT[9:19, ::-1]  # the variant wrong on 10 others
    attach_validation(results, "m--lora--tweets", {
        "fp32/torch": reference, "int8/torch": reference, "int8/onnxruntime": variant})
    answer = answer_of(report_text(results))
    row = next(line for line in answer.splitlines() if line.startswith("| int8 | onnxruntime"))
    assert "| -0.0050 [-0.0" in row and row.split("|")[5].strip() == "inconclusive"
    assert "Lowest latency (batch 1): **lora: int8 on torch**" in answer


def test_the_reference_is_the_median_seed_on_validation(results):
    """Three deployed lora seeds with validation F1 0.70, 0.80, 0.75: seed 3 (0.75) is the
    reference, not the best seed nor the weakest."""
    base = json.loads((results / "m--lora--tweets.json").read_text())
    (results / "m--lora--tweets.json").unlink()
    for seed, f1 in ((1, 0.70), (2, 0.80), (3, 0.75)):
        cell_id = f"m--lora--tweets--seed{seed}"
        write_json_atomic(results / f"{cell_id}.json", {
            **base, "cell_id": cell_id, "seed": seed, "seed_group": "m--lora--tweets",
            "evaluation": {**base["evaluation"],
                           "validation": {"f1_macro": f1, "accuracy": f1 + 0.02}}})
        attach_validation(results, cell_id, {"fp32/torch": RIGHT, "int8/torch": RIGHT,
                                              "int8/onnxruntime": RIGHT})
    answer = answer_of(report_text(results))
    assert "Reference: **lora** (`m--lora--tweets`), seed 3, fp32 on torch, chosen as the " \
           "median of its 3 deployed seeds on validation F1 macro (seed 1 0.7000, seed 3 " \
           "0.7500, seed 2 0.8000); validation F1 0.7500, accuracy 0.7700." in answer


def test_a_retraining_variant_splits_its_change_through_its_control(results):
    """prune gains 10 points over fp32 on validation, all of it from its recovery training:
    its control (fp32 trained the same, not pruned) predicts exactly as prune does."""
    path = results / "m--lora--tweets.json"
    record = json.loads(path.read_text())
    pruned = variant("prune", "torch", f1=0.76, p50_1=8.0, sps_32=120.0, size=60_000_000,
                     speedup_32=1.2)
    control = {**variant("fp32", "torch", f1=0.76, p50_1=10.0, sps_32=100.0, size=90_000_000,
                         speedup_32=1.0), "variant": "fp32+prune-training",
               "trained_as": ["prune"], "latency": {}, "speedup": {}}
    record["deployment"].append({**pruned, "control": "fp32+prune-training"})
    record["deployment_controls"] = [control]
    write_json_atomic(path, record)
    attach_validation(results, "m--lora--tweets", {
        "fp32/torch": wrong_on(20), "int8/torch": wrong_on(20), "int8/onnxruntime": wrong_on(20),
        "prune/torch": RIGHT, "fp32+prune-training/torch": RIGHT})
    answer = answer_of(report_text(results))
    row = next(line for line in answer.splitlines() if line.startswith("| prune | torch"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[4] == "within budget" and cells[5] == "fp32+prune-training"
    assert cells[6] == "+0.0000 [+0.0000, +0.0000]"  # the compression: nothing
    assert cells[7].startswith("+0.1")  # the extra training: all of the gain
    loaded = CellRecord.from_dict(json.loads(path.read_text()))
    assert loaded.deployment_controls[0].trained_as == ["prune"]
    assert CellRecord.from_dict({**record, "deployment_controls": None}).deployment_controls == []


def test_no_deployment_choice_where_the_chosen_method_was_not_deployed(results):
    """full has the higher validation F1 once lora's drops; only lora was deployed."""
    path = results / "m--lora--tweets.json"
    record = json.loads(path.read_text())
    record["evaluation"]["validation"]["f1_macro"] = 0.60
    write_json_atomic(path, record)
    answer = answer_of(report_text(results))
    assert "No deployment choice: the chosen method (`m--full--tweets`) has no deployed run " \
           "with a validation score" in answer
    assert "Deployed on this dataset: `m--lora--tweets`" in answer


def test_without_validation_predictions_no_variant_is_chosen(results):
    answer = answer_of(report_text(results))
    assert "No variant can be judged against the budget" in answer
    assert "Lowest latency" not in answer


def test_sweep_trials_are_ordered_by_their_values(results):
    markdown = report_text(results)
    trials = markdown.split("**Trials of lora-sweep**")[1].split("**Evaluation")[0]
    rows = [line.split("|")[1].strip() for line in trials.splitlines()
            if line.startswith("| r=")]
    assert rows == ["r=4", "r=8", "r=16"]
    assert "| r=4 | 4 | 16 |" in trials  # the r and alpha columns


def test_floor_is_stated_once_per_dataset(results):
    markdown = report_text(results)
    assert markdown.count("Floor, TF-IDF + logistic regression") == 1
    assert "F1 macro 0.6800" in markdown


def test_pareto_front_of_a_known_set():
    points = [(10.0, 0.75), (2.0, 0.73), (4.0, 0.745), (5.0, 0.70), (4.0, 0.74), (12.0, 0.75)]
    assert pareto_front(points) == [1, 2, 0]


def test_loss_curve_assigns_logs_to_their_epochs(results):
    record = CellRecord.from_dict(json.loads((results / "m--ia3--tweets.json").read_text()))
    curve = record.training.epoch_curve()
    assert [p.epoch for p in curve] == [1, 2]
    assert curve[0].train_loss == pytest.approx(0.9)  # logs at 0.5 and 0.89
    assert curve[1].train_loss == pytest.approx(0.5)  # logs at 1.01 and 1.89
    assert [p.validation_loss for p in curve] == [0.7, 0.65]


def test_plots_are_written_and_linked(results, tmp_path):
    markdown = report_text(results, tmp_path / "out")
    for name in ("tweets-f1-vs-latency", "tweets-f1-vs-size", "tweets-f1-vs-params",
                 "m--lora--tweets-loss"):
        assert f"](plots/{name}.png)" in markdown
        assert (tmp_path / "out" / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_record_round_trip_keeps_unknown_fields(results):
    data = json.loads((results / "m--lora--tweets.json").read_text())
    data["a_future_field"] = {"x": 1}
    record = CellRecord.from_dict(data)
    assert record.extra == {"a_future_field": {"x": 1}}
    assert record.variants[1].speedup[32].ratio == 4.0  # a bare ratio in older records
    assert CellRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_csv_has_one_row_per_cell_and_per_variant(results, tmp_path):
    out = tmp_path / "r.csv"
    assert main(["report", str(results), "--csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 7 + 3  # 6 cells + 1 failed, 3 variants
    lora = [r for r in rows if r["cell_id"] == "m--lora--tweets"]
    assert [(r["variant"], r["backend"]) for r in lora] == [
        ("fine-tuned", "torch"), ("fp32", "torch"), ("int8", "onnxruntime"), ("int8", "torch")]
    assert lora[0]["f1_macro_low"] == "0.71" and lora[0]["size_mb"] == "0.3"
    assert lora[3]["samples_per_s_throughput_batch"] == "300.0"
    assert lora[3]["merged_mb"] == "" and lora[0]["merged_mb"] == "90.0"


def test_older_schema_is_named_not_skipped(results, tmp_path, capsys):
    old = tmp_path / "old"
    write_json_atomic(old / "c.json", {"schema_version": 0, "cell_id": "c", "status": "ok"})
    assert main(["report", str(old)]) == 2
    err = capsys.readouterr().err
    assert "c.json: result record of schema version 0, which this peft-bench does not read " \
           "(it reads 1, 2)" in err
    assert "no result records this peft-bench can read" in err
    write_json_atomic(results / "c.json", {"schema_version": 0, "cell_id": "c", "status": "ok"})
    assert main(["report", str(results)]) == 0
    assert "not read:" in capsys.readouterr().err


def test_html_page_is_self_contained_and_sortable(results, tmp_path):
    page = tmp_path / "report.html"
    assert main(["report", str(results), "--html", "-o", str(page)]) == 0
    text = page.read_text()
    assert text.count('<table class="sortable">') >= 5
    assert 'src="data:image/png;base64,' in text and "http" not in text.split("<body>")[1]


LABELS = np.arange(200) % 2
RIGHT = np.eye(2)[LABELS] * 0.8 + 0.1  # every example right


def wrong_on(count: int) -> np.ndarray:
    """Probabilities that get the first `count` examples wrong."""
    probs = RIGHT.copy()
    probs[:count] = RIGHT[:count, ::-1]
    return probs


def attach_predictions(results: Path, cell_id: str, probs: np.ndarray) -> None:
    """A test-split sidecar for the cell, named in its record."""
    save_predictions(results / f"{cell_id}.predictions.npz",
                     {"test": SplitPredictions(LABELS, probs)})
    path = results / f"{cell_id}.json"
    write_json_atomic(path, {**json.loads(path.read_text()),
                             "predictions_file": f"{cell_id}.predictions.npz"})


def attach_validation(results: Path, cell_id: str, probs: dict[str, np.ndarray]) -> None:
    """A sidecar with the validation predictions of deployed variants ("<variant>/<backend>")."""
    save_predictions(results / f"{cell_id}.predictions.npz",
                     {f"deploy/{name}/validation": SplitPredictions(LABELS, p)
                      for name, p in probs.items()})
    path = results / f"{cell_id}.json"
    write_json_atomic(path, {**json.loads(path.read_text()),
                             "predictions_file": f"{cell_id}.predictions.npz"})


def verdicts_of(markdown: str) -> list[str]:
    section = markdown.split("**Paired verdicts**")[1].split("**Before and after")[0]
    return [line for line in section.splitlines() if line.startswith("| m--")]


def test_cheapest_method_tied_in_a_paired_test(results):
    """ia3 agrees with lora on all but 3 of 200 examples: tied, and cheaper."""
    attach_predictions(results, "m--lora--tweets", RIGHT)
    attach_predictions(results, "m--ia3--tweets", wrong_on(3))
    answer = answer_of(report_text(results))
    assert "Cheapest run not told apart from it in a run-level test: **ia3** " \
           "(`m--ia3--tweets`): 17,000 trainable parameters, 90.0 s training" in answer
    assert ": tied." in answer and "paired difference -0.0150" in answer


def test_seeds_of_a_cell_are_one_group_with_mean_and_spread(results):
    pytest.importorskip("bench.stats.bootstrap", reason="seed summaries")
    base = json.loads((results / "m--ia3--tweets.json").read_text())
    for seed, f1 in ((1, 0.78), (2, 0.80), (3, 0.82)):
        cell_id = f"m--ia3--tweets--seed{seed}"
        write_json_atomic(results / f"{cell_id}.json", {
            **base, "cell_id": cell_id, "seed": seed, "seed_group": "m--ia3--tweets",
            "evaluation": {**base["evaluation"],
                           "validation": {"f1_macro": 0.9, "accuracy": 0.9},
                           "test": {**base["evaluation"]["test"], "f1_macro": f1}}})
    (results / "m--ia3--tweets.json").unlink()
    answer = answer_of(report_text(results))
    # 3 seeds but no sidecars: no method-level test, so the group is still named as runs
    assert "(runs, not methods): **ia3** (`m--ia3--tweets`): test F1 macro 0.8000 ± 0.0200 " \
           "over 3 seeds, 95% interval [" in answer


def test_a_run_whose_best_epoch_is_its_last_is_flagged(results):
    path = results / "m--lora--tweets.json"
    record = json.loads(path.read_text())
    record["training"]["may_not_have_converged"] = True
    write_json_atomic(path, record)
    markdown = report_text(results)
    assert "**it may not have converged**" in answer_of(markdown)
    assert markdown.count("⚠ best epoch = last") == 1


def test_speed_note_names_the_noise_band_the_hardware_and_a_busy_machine(results):
    path = results / "m--lora--tweets.json"
    record = json.loads(path.read_text())
    for variant in record["deployment"]:
        for stats in variant["latency"].values():
            stats["rounds_p50_ms"] = [stats["p50_ms"] * f for f in (0.96, 1.0, 1.04)]
    record["environment"]["cpu"] = {"model": "Test Xeon", "logical_cores": 4, "flags": {
        "avx2": True, "avx512f": False, "avx512_vnni": None, "amx": False}}
    record["deployment_timing"] = {"machine_load": {"busy": True}, "threads": 2}
    write_json_atomic(path, record)
    markdown = report_text(results)
    assert "Noise band: the fp32 reference's per-round medians spread over up to 8.0% of its " \
           "p50" in markdown
    assert "Measured on Test Xeon (flags: avx2, 4 logical cores), 2 threads. **The machine was " \
           "busy while timing" in markdown


def test_a_sparse_failed_record_still_reports(results):
    write_json_atomic(results / "failed" / "m--odd--tweets.json", {
        "schema_version": 1, "cell_id": "m--odd--tweets", "status": "failed", "config": None,
        "device": None, "evaluation": None, "error": {"phase": "data", "message": "no file"}})
    markdown = report_text(results)
    assert "| m--odd--tweets | data | – | no file |" in markdown
    assert "6 finished cell(s), 2 failed." in markdown


def test_paired_verdicts_table_compares_every_pair_on_the_same_examples(results):
    """full predicts as lora does (tied); ia3 gets 40 of 200 wrong (lora better). Pairs are
    ordered by A's validation F1 (lora 0.76, full 0.74, ia3 0.71, the sweep below)."""
    attach_predictions(results, "m--lora--tweets", RIGHT)
    attach_predictions(results, "m--full--tweets", RIGHT)
    attach_predictions(results, "m--ia3--tweets", wrong_on(40))
    markdown = report_text(results)
    rows = verdicts_of(markdown)
    assert len(rows) == 15  # 6 groups
    assert rows[0] == ("| m--lora--tweets | m--full--tweets | single runs | "
                       "+0.0000 [+0.0000, +0.0000] | 1.000 | tied |")
    # F1 macro of ia3: 0.8 on both classes; McNemar: 40 discordant examples, all one way
    assert rows[1].startswith("| m--lora--tweets | m--ia3--tweets | single runs | +0.2000 [+0.")
    assert rows[1].endswith("| 0.000 | better |")
    assert rows[2] == ("| m--lora--tweets | m--lora-sweep--tweets--aaaa (r=16) | – | – | – | "
                       "no paired test (no sidecar on the same examples) |")
    assert rows[5].startswith("| m--full--tweets | m--ia3--tweets | single runs | +0.2000 [")
    assert "tied with `m--full--tweets` (single runs), better than `m--ia3--tweets` " \
           "(single runs)." in answer_of(markdown)


def test_paired_verdicts_pair_the_first_seed_both_groups_ran(results):
    """ia3 ran seeds 1 and 2, full seeds 2 and 3: paired on seed 2, where they predict alike
    (on seed 1 against seed 2 they would differ)."""
    for method, seeds in (("ia3", (1, 2)), ("full", (2, 3))):
        base = json.loads((results / f"m--{method}--tweets.json").read_text())
        (results / f"m--{method}--tweets.json").unlink()
        for seed in seeds:
            cell_id = f"m--{method}--tweets--seed{seed}"
            write_json_atomic(results / f"{cell_id}.json", {
                **base, "cell_id": cell_id, "seed": seed, "seed_group": f"m--{method}--tweets"})
            attach_predictions(results, cell_id, RIGHT if seed == 2 else wrong_on(40))
    rows = verdicts_of(report_text(results))
    assert ("| m--full--tweets | m--ia3--tweets | seed 2 | +0.0000 [+0.0000, +0.0000] | 1.000 "
            "| tied |") in rows


def test_paired_verdicts_without_sidecars_say_no_test_is_possible(results):
    markdown = report_text(results)
    assert "**Paired verdicts**" in markdown
    assert "No paired test is possible: these records carry no per-example predictions" \
           in markdown


def test_every_seed_both_groups_ran_is_paired():
    from types import SimpleNamespace as Run

    from bench.report.verdicts import paired_runs

    def group(*seeds):
        return Run(records=[Run(seed=s, name=f"run{s}") for s in seeds])

    seeded, other, single = group(1, 2, 3), group(2, 3, 4), group(42)
    assert [(a.seed, b.seed) for a, b in paired_runs(seeded, other)] == [(2, 2), (3, 3)]
    assert [(a.seed, b.seed) for a, b in paired_runs(single, seeded)] == [(42, 1), (42, 2), (42, 3)]
    assert [(a.seed, b.seed) for a, b in paired_runs(seeded, single)] == [(1, 42), (2, 42), (3, 42)]


def test_run_level_verdicts_go_to_an_appendix_where_every_method_has_three_seeds(tmp_path):
    """3 seeds of each method: the method-level comparisons are the verdicts, and the paired
    tests of single runs (seed noise read as differences) leave the dataset's section."""
    folder = tmp_path / "results"
    for method, validation, wrong in (("lora", 0.80, 10), ("ia3", 0.70, 30)):
        for seed in (1, 2, 3):
            cell_id = f"m--{method}--tweets--seed{seed}"
            write_json_atomic(folder / f"{cell_id}.json", cell(
                cell_id, method, test_f1=0.7, validation_f1=validation, trainable=1000,
                runtime=10.0, seed=seed, seed_group=f"m--{method}--tweets"))
            attach_predictions(folder, cell_id, wrong_on(wrong + seed))
    markdown = report_text(folder)
    sections, appendix = markdown.split("## Appendix: run-level paired verdicts")
    pair = "| m--lora--tweets | m--ia3--tweets |"
    assert "**Method-level comparisons**" in sections and pair not in sections
    assert "**Paired verdicts of single runs** (one row per seed pair) are in the appendix" \
        in sections
    rows = [line for line in appendix.split("## Appendix: per-cell detail")[0].splitlines()
            if line.startswith(pair)]
    assert [row.split(" | ")[2] for row in rows] == ["seed 1", "seed 2", "seed 3"]
