"""benchmarks/training_recipe.py: `equivalence` end to end on hand-made paired records with
their sidecars; `speed`'s measurement, rotation and projection on the tiny BERT in this
process; the `speed` command end to end with its child processes is `slow` (each child imports
torch and transformers afresh, about 11 s of CPU on this project's machines). No assertion on
any timing: only on what was measured, in which order, and what was written."""
import importlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.record.predictions import SplitPredictions, save_predictions
from bench.record.store import write_json_atomic
from bench.suite.parser import load_suite
from report_fixture import cell

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = 300


@pytest.fixture
def script(monkeypatch):
    """The script and its helpers, imported as the script itself does (benchmarks/ on the path)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return {name: importlib.import_module(name) for name in
            ("training_recipe", "_recipe_child", "_recipe_levers", "_recipe_phases",
             "_recipe_speed")}


def write_run(folder: Path, entry: str, seed: int, labels, predicted, samples_per_s: float,
              f1: float) -> None:
    cell_id = f"m--{entry}--tweets--seed{seed}"
    save_predictions(folder / f"{cell_id}.predictions.npz",
                     {"test": SplitPredictions(labels, np.eye(2)[predicted])})
    record = cell(cell_id, entry.removesuffix("_plain"), test_f1=f1, validation_f1=f1,
                  trainable=1000, runtime=10.0, seed=seed, seed_group=cell_id.rsplit("--", 1)[0],
                  predictions_file=f"{cell_id}.predictions.npz",
                  training={"samples_per_s": samples_per_s, "sampling": "random"})
    write_json_atomic(folder / f"{cell_id}.json", record)


def write_twins(folder: Path, entry: str, seeds, plain_seeds, plain_drop: float,
                rng: np.random.Generator) -> None:
    """Each seed of `entry` right on about 80% of the examples; its plain twin the same
    answers with 6 right ones turned wrong and 6 wrong ones right (as many gained as lost), and
    then a share `plain_drop` of its right answers wrong."""
    labels = rng.integers(0, 2, EXAMPLES)
    for seed in sorted(set(seeds) | set(plain_seeds)):
        shipped = np.where(rng.random(EXAMPLES) < 0.8, labels, 1 - labels)
        swapped = np.concatenate([rng.choice(np.flatnonzero(shipped == labels), 6, replace=False),
                                  rng.choice(np.flatnonzero(shipped != labels), 6, replace=False)])
        plain = shipped.copy()
        plain[swapped] = 1 - plain[swapped]
        plain = np.where((plain == labels) & (rng.random(EXAMPLES) < plain_drop), 1 - labels,
                         plain)
        if seed in seeds:
            write_run(folder, entry, seed, labels, shipped, 90.0, 0.8)
        if seed in plain_seeds:
            write_run(folder, entry + "_plain", seed, labels, plain, 60.0, 0.79)


def test_equivalence_pairs_seeds_and_writes_its_section(script, tmp_path, capsys):
    rng = np.random.default_rng(0)
    write_twins(tmp_path / "runs", "lora", range(1, 11), range(1, 11), 0.0, rng)
    write_twins(tmp_path / "runs", "full", [1, 2, 3], [1, 2, 3, 4], 0.0, rng)
    out = tmp_path / "recipe.json"
    out.write_text(json.dumps({"speed": {"kept": True}}))
    main = script["training_recipe"].main
    assert main(["--out", str(out), "equivalence", str(tmp_path / "runs"), "--margin", "0.02"]) == 0
    data = json.loads(out.read_text())
    assert data["speed"] == {"kept": True}
    section = data["equivalence"]
    assert section["margin"] == 0.02 and section["git"]["commit"]
    methods = {m["method"]: m for m in section["methods"]}
    assert set(methods) == {"full", "lora"}
    lora, full = methods["lora"], methods["full"]
    assert lora["plain"] == "lora_plain" and lora["seeds_paired"] == list(range(1, 11))
    comparison = lora["comparison"]
    assert comparison["pairs"] == 10 and comparison["verdict"] == "equivalent"
    assert comparison["looks"] == 1 and comparison["interval_verdict"] == comparison["interval_90"]
    low90, high90 = comparison["interval_90"]
    low95, high95 = comparison["interval_95"]
    assert low95 < low90 < comparison["difference"] < high90 < high95
    assert -0.02 < low90 and high90 < 0.02 and comparison["equivalence_p"] < 0.05
    assert lora["samples_per_s_ratio"]["median"] == pytest.approx(1.5)
    assert "side by side" in lora["samples_per_s_ratio"]["note"]
    assert full["seeds_paired"] == [1, 2, 3]
    assert full["seeds_unpaired"] == {"full": [], "full_plain": [4]}
    assert full["comparison"]["verdict"] == "not enough seeds"
    assert full["comparison"]["standard_error"] is not None  # figures still given
    printed = capsys.readouterr().out
    assert "10 seed(s) paired" in printed and "3 seed(s) paired" in printed


def test_equivalence_finds_a_planted_difference(script, tmp_path):
    write_twins(tmp_path, "lora", range(1, 11), range(1, 11), 0.15, np.random.default_rng(1))
    out = tmp_path / "recipe.json"
    assert script["training_recipe"].main(["--out", str(out), "equivalence", str(tmp_path)]) == 0
    comparison = json.loads(out.read_text())["equivalence"]["methods"][0]["comparison"]
    assert comparison["verdict"] == "better" and comparison["interval_95"][0] > 0.05


def test_bad_arguments_are_one_line_and_exit_2(script, tmp_path, capsys):
    main = script["training_recipe"].main
    assert main(["--out", str(tmp_path / "o.json"), "equivalence", str(tmp_path),
                 "--margin", "2"]) == 2
    assert "--margin 2.0" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "o.json"), "equivalence", str(tmp_path)]) == 2
    assert "no method entry with its `_plain` twin" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "o.json"), "equivalence", str(tmp_path),
                 "--looks", "lora=0"]) == 2
    assert "--looks lora=0: expected ENTRY=K with K >= 1" in capsys.readouterr().err
    write_twins(tmp_path / "runs", "lora", range(1, 4), range(1, 4), 0.0,
                np.random.default_rng(0))
    assert main(["--out", str(tmp_path / "o.json"), "equivalence", str(tmp_path / "runs"),
                 "--looks", "full=2"]) == 2
    assert "--looks full:" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "o.json"), "speed", "--suite",
                 str(ROOT / "suites" / "recipe_equivalence.toml"), "--methods", "nosuch"]) == 2
    error = capsys.readouterr().err
    assert "recipe_equivalence.toml: no method entry 'nosuch'" in error
    assert main(["--out", str(tmp_path / "o.json"), "speed", "--phases", str(tmp_path)]) == 2
    assert "no finished record with phase times" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def tiny_cells(script, methods=("lora",)) -> dict:
    cells = {c.method_entry: c for c in
             reversed(load_suite(ROOT / "suites" / "recipe_equivalence.toml").cells)}
    return script["_recipe_speed"].tiny_cells({m: cells[m] for m in methods})


def test_a_child_trains_the_harness_cell_with_the_recipe_levers(script):
    from bench.suite.cell import cell_to_json

    levers, child = script["_recipe_levers"], script["_recipe_child"]
    recipe = levers.Recipe("bf16 + eager on 2 threads", group_by_length=True, bf16=True,
                           attention="eager", threads=2)
    spec = child.ChildSpec(cell_to_json(tiny_cells(script)["lora"]), asdict(recipe), 32, 1, 1)
    threads_before = torch.get_num_threads()
    try:
        figures = child.measure(spec)
    finally:
        torch.set_num_threads(threads_before)
    assert figures.attention == "eager" and figures.precision == "bf16 autocast"
    assert figures.sampling == "group_by_length" and figures.steps == 1
    assert figures.samples_per_s > 0 and figures.warmup_samples_per_s > 0
    assert figures.threads == 2  # the recipe's, over the tiny cell's 1


def write_phase_records(folder: Path, suite: Path) -> None:
    """One record per cell of `suite`, trained with length grouping, with its phase times."""
    for index, suite_cell in enumerate(load_suite(suite).cells):
        record = cell(suite_cell.id, suite_cell.method, test_f1=0.7, validation_f1=0.7,
                      trainable=10, runtime=5.0,
                      phases_s={"start": 4.0, "data": 1.0, "train": 10.0 * (index + 1),
                                "evaluate": 2.0, "deploy": 3.0},
                      training={"sampling": "group_by_length", "precision": "fp32"})
        write_json_atomic(folder / f"{suite_cell.id}.json", record)


def test_speed_rotates_recipes_and_projects_the_suite(script, tmp_path):
    speed, levers, phases = script["_recipe_speed"], script["_recipe_levers"], script["_recipe_phases"]
    recipes = levers.recipes(levers.Recipe("shipped", group_by_length=True), "off", False, None)
    assert [r.name for r in recipes] == ["plain", "length grouping (shipped)"]
    every = levers.recipes(levers.Recipe("shipped", group_by_length=True), "off", True, "eager", 1)
    assert [r.name for r in every] == ["plain", "length grouping (shipped)", "torch.compile",
                                       "eager attention", "1 thread"]
    plan = speed.SpeedPlan.one_epoch(tiny_cells(script), recipes, 40, 2, 0, 2)
    measured = speed.measure_speed(plan, progress=lambda text: None,
                                   measure_one=script["_recipe_child"].measure)
    order = [m.recipe for m in measured.measurements]
    assert order == ["plain", "length grouping (shipped)", "length grouping (shipped)", "plain"]
    grouped = next(r for r in measured.results if r.recipe.name != "plain")
    assert len(grouped.ratio_to_plain["per_round"]) == 2
    assert grouped.samples_per_s["values"] == [m.samples_per_s for m in
                                               measured.measurements[1:3]]

    suite = ROOT / "suites" / "recipe_equivalence.toml"
    write_phase_records(tmp_path, suite)
    section = phases.phases_section(tmp_path, phases.phase_records(tmp_path), suite,
                                    measured.results)
    cells = load_suite(suite).cells
    per_cell = section["per_cell_mean_s"]
    assert per_cell["overhead"] == 5.0 and per_cell["deploy"] == 3.0
    projected = section["projection"]["projected_s"]
    recorded = sum(10.0 + 10.0 * (i + 1) for i in range(len(cells)))
    assert projected["length grouping (shipped)"] == pytest.approx(recorded)  # as recorded
    assert "full" in " ".join(section["projection"]["notes"])  # full was not measured here


@pytest.mark.slow
def test_speed_command_end_to_end_with_child_processes(script, tmp_path, capsys):
    suite = ROOT / "suites" / "recipe_equivalence.toml"
    write_phase_records(tmp_path / "runs", suite)
    out = tmp_path / "recipe.json"
    assert script["training_recipe"].main([
        "--out", str(out), "speed", "--tiny", "--rounds", "2", "--methods", "lora",
        "--bf16", "off", "--phases", str(tmp_path / "runs"), "--default-suite", str(suite)]) == 0
    section = json.loads(out.read_text())["speed"]
    assert section["settings"]["rounds"] == 2 and section["settings"]["tiny"]
    assert section["context"]["git"]["commit"] and "avx2" in section["context"]["cpu"]["flags"]
    assert [m["recipe"] for m in section["measurements"]] == [
        "plain", "length grouping (shipped)", "length grouping (shipped)", "plain"]
    assert set(section["phases"]["projection"]["projected_s"]) == {
        "plain", "length grouping (shipped)"}
    assert "min-max of 2 per-round ratios" in capsys.readouterr().out
