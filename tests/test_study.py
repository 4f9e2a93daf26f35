"""A suite's [study]: every method gets the same trials (same count, same draws), chosen on
validation only; only fresh seeds of the chosen configuration score the test split."""
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.record.store import load_records, write_json_atomic
from bench.record.study import TrialScore
from bench.stats.study_choice import choose
from bench.stages.cell_process import base_record, run_cell
from bench.stages.events import Phases
from bench.suite.identity import training_key
from bench.suite.parser import load_suite, parse_suite

SUITE = """
[suite]
name = "study"
[defaults.training]
epochs = 1
batch_size = 16
threads = 1
baseline = false
evaluate_before = false
inference_examples = 0
[defaults.dataset]
train_size = 48
validation_size = 16
test_size = 16
max_length = 16
[models.tiny-bert]
source = "tiny-bert"
[datasets.tweets]
source = "tweets"
[methods.full]
[methods.lora]
r = 4
ENTRY
[study]
trials = 2
seeds = [1, 2, 3]
STUDY
"""


def write(folder: Path, study: str = "", entry: str = "") -> Path:
    path = folder / "study.toml"
    path.write_text(SUITE.replace("STUDY", study).replace("ENTRY", entry))
    return path


def test_the_same_suite_gives_the_same_trials_and_every_method_as_many(tmp_path):
    first = load_suite(write(tmp_path, entry='study = { r = [2, 4] }'))
    again = load_suite(write(tmp_path, entry='study = { r = [2, 4] }'))
    assert [(c.id, c.sweep) for c in first.cells] == [(c.id, c.sweep) for c in again.cells]
    by_unit = {u.key: [c.id for c in u.trials] for u in first.study.units}
    assert by_unit == {"tiny-bert--full--tweets": ["tiny-bert--full--tweets--trial1",
                                                   "tiny-bert--full--tweets--trial2"],
                       "tiny-bert--lora--tweets": ["tiny-bert--lora--tweets--trial1",
                                                   "tiny-bert--lora--tweets--trial2"]}
    full, lora = first.study.units
    # each method's own default space: full fine-tuning's rates sit below the adapters'
    assert all(1e-5 <= c.training.learning_rate <= 3e-4 for c in full.trials)
    assert all(3e-4 <= c.training.learning_rate <= 3e-2 for c in lora.trials)
    assert {c.method_params.r for c in lora.trials} <= {2, 4}
    assert all(c.training.seed == 0 and c.deploy is None and not c.scores_test
               for c in first.cells)
    seeds = lora.seeds_of(2)
    assert [c.id for c in seeds] == [f"tiny-bert--lora--tweets--seed{s}" for s in (1, 2, 3)]
    assert [c.training.seed for c in seeds] == [1, 2, 3] and all(c.scores_test for c in seeds)
    assert seeds[0].training.learning_rate == lora.trials[1].training.learning_rate


def test_trials_and_seeds_are_keyed_apart_and_by_the_chosen_values(tmp_path):
    suite = load_suite(write(tmp_path))
    lora = suite.study.units[1]
    trial, seed_of_1, seed_of_2 = lora.trials[0], lora.seeds_of(1)[0], lora.seeds_of(2)[0]
    assert seed_of_1.id == seed_of_2.id  # one readable id ...
    assert training_key(seed_of_1) != training_key(seed_of_2)  # ... keyed by the chosen values
    same_values = type(trial)(**{**trial.__dict__, "study": seed_of_1.study})
    assert training_key(same_values) != training_key(trial)  # the role is in the key


@pytest.mark.parametrize("study, entry, message", [
    ("", "sweep = { r = [2, 4] }", "[methods.lora].sweep: a suite with [study] gives every "
                                   "method the same 2 trial(s)"),
    ("", "seeds = [4, 5, 6]", "[methods.lora].seeds: a suite with [study]"),
    ("", "study = { trials = 5 }", "[methods.lora].study.trials: set by [study]"),
    ("", 'study = { r = { uniform = [2, 8] } }', "[methods.lora].study.r: a distribution draws"),
    ("learning_rate = { log_uniform = [0, 1e-2] }", "", "[study].learning_rate.log_uniform: "
                                                        "expected low > 0"),
    ("r = [2, 4]", "", "[study]: unknown key 'r'"),
    ("trial_seed = 2", "", "[study].seeds: expected fresh seeds, got the trial seed 2"),
    ('selection_metric = "loss"', "", "[study].selection_metric: expected a score"),
    ('search = "grid"', "", "[study].search: expected one of 'halton', 'random'"),
    ('deploy = "all"', "", "[study].deploy: expected one of 'seeds', 'chosen'"),
])
def test_a_bad_study_is_one_line_naming_the_key(tmp_path, capsys, study, entry, message):
    path = write(tmp_path, study, entry)
    assert main(["validate", str(path), "--skip-models"]) == 2
    error = capsys.readouterr().err
    assert message in error and str(path) in error, error


@pytest.mark.parametrize("old, new, message", [
    ("trials = 2", "trials = 0", "[study].trials: expected >= 1, got 0"),
    ("trials = 2", "", "[study].trials: required"),
    ("seeds = [1, 2, 3]", "seeds = [1, 2]", "[study].seeds: expected at least 3 distinct"),
    ("seeds = [1, 2, 3]", "seeds = [1, 1, 2]", "[study].seeds: expected at least 3 distinct"),
])
def test_trial_counts_and_seeds_are_checked(tmp_path, old, new, message):
    path = tmp_path / "s.toml"
    path.write_text(SUITE.replace("STUDY", "").replace("ENTRY", "").replace(old, new))
    suite, problems = parse_suite(path)
    assert any(message in p for p in problems), problems


def test_the_choice_is_the_best_validation_trial_ties_to_the_earlier_one():
    def trial(n, f1, accuracy=0.5, last=False):
        return TrialScore(n, f"u--trial{n}", {"learning_rate": n / 10}, "ok",
                          {"f1_macro": f1, "accuracy": accuracy}, 1, 2 if not last else 1,
                          last)

    choice = choose("u", [trial(1, 0.6), trial(2, 0.7), trial(3, 0.7)], "f1_macro")
    assert choice.chosen == 2 and choice.chosen_values == {"learning_rate": 0.2}
    assert "trial 2: highest validation f1_macro 0.7000 of 3" in choice.reason
    flagged = choose("u", [trial(1, 0.6), trial(2, 0.8, last=True)], "f1_macro")
    assert flagged.chosen == 2 and flagged.may_not_have_converged
    assert "may not have converged" in flagged.reason
    waiting = choose("u", [trial(1, 0.9), TrialScore(2, "u--trial2")], "f1_macro")
    assert waiting.chosen is None and "no choice yet" in waiting.reason
    by_accuracy = choose("u", [trial(1, 0.7, 0.9), trial(2, 0.8, 0.6)], "accuracy")
    assert by_accuracy.chosen == 1


def test_a_trial_cell_scores_validation_only(tmp_path):
    cell = load_suite(write(tmp_path)).study.units[1].trials[0]
    record, predictions = base_record(cell), {}
    run_cell(cell, tmp_path / "artefacts", None, record, Phases(), predictions)
    assert record.evaluation.validation.score("f1_macro") is not None
    assert record.evaluation.test is None and record.baseline is None
    assert list(predictions) == ["validation"]
    assert record.config.study == {"role": "trial", "index": 1} and record.config.is_trial


@pytest.mark.slow
def test_a_study_end_to_end_chooses_on_validation_and_resumes(tmp_path, monkeypatch, capsys):
    """2 methods x 2 trials, then 3 seeds of each chosen trial; a rerun runs nothing."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path)
    results = tmp_path / "runs" / "study"
    assert main(["run", "study.toml"]) == 0
    records = {r["cell_id"]: r for r in load_records(results)}
    trials = [r for r in records.values() if r["config"]["study"]["role"] == "trial"]
    seeds = [r for r in records.values() if r["config"]["study"]["role"] == "seed"]
    assert len(trials) == 4 and len(seeds) == 6
    assert all(r["evaluation"]["test"] is None and r["evaluation"]["validation"] for r in trials)
    assert all(r["evaluation"]["test"]["f1_macro"] is not None for r in seeds)
    study = json.loads((results / "study.json").read_text())
    for choice in study["choices"]:
        scored = {t["trial"]: t["validation"]["f1_macro"] for t in choice["trials"]}
        best = max(scored.values())
        assert choice["chosen"] == min(n for n, f1 in scored.items() if f1 == best)
        chosen_lr = choice["trials"][choice["chosen"] - 1]["values"]["learning_rate"]
        assert all(records[f"{choice['unit']}--seed{s}"]["config"]["training"]["learning_rate"]
                   == chosen_lr for s in (1, 2, 3))
    capsys.readouterr()
    assert main(["run", "study.toml"]) == 0
    assert "4 finished cell(s) skipped" in capsys.readouterr().err
    assert {r["cell_id"]: r for r in load_records(results)} == records
    assert main(["report", str(results), "--md"]) == 0
    report = capsys.readouterr().out
    answer = report.split("## Results by dataset")[0]
    assert "trial" not in answer and "## Tuning study" in report and "**chosen**" in report


DEPLOYS = """
deploy = "chosen"
[deploy]
backends = ["torch"]
variants = [["int8"]]
batch_sizes = [1]
"""


def finished_seeds(store, unit, validation_f1: list[float | None]) -> None:
    """Records of the unit's seed cells (chosen trial 1): ok with these validation F1, failed
    where None."""
    from bench.record.metrics import Evaluation, Metrics

    for cell, f1 in zip(unit.seeds_of(1), validation_f1):
        record = base_record(cell)
        record.config_hash = training_key(cell)
        if f1 is None:
            record.status = "failed"
            write_json_atomic(store.failed_path(cell.id), record.to_dict())
            continue
        record.status = "ok"
        record.evaluation = Evaluation(validation=Metrics(n=16, scores={"f1_macro": f1}))
        write_json_atomic(store.ok_path(cell.id), record.to_dict())


@pytest.mark.parametrize("full, lora, deployed", [
    ([0.5, 0.9, 0.65], [0.6, 0.7, 0.8], "tiny-bert--lora--tweets--seed2"),  # best mean, median
    ([0.5, 0.9, 0.65], [0.6, None, 0.8], "tiny-bert--full--tweets--seed3"),  # 2 seeds: no method
    ([0.5, 0.9, 0.65], [0.6, 0.7], None),  # a seed still to run: the reference may change
])
def test_deploy_chosen_deploys_the_best_methods_median_seed(tmp_path, full, lora, deployed):
    from bench.executors.study_deploy import deploy_targets, without_deployment
    from bench.record.store import ResultStore
    from bench.record.study import StudyChoice, StudyFile

    plan = load_suite(write(tmp_path, DEPLOYS)).study
    store = ResultStore(tmp_path / "results")
    store.ok_path("x").parent.mkdir(parents=True, exist_ok=True)
    store.failed_path("x").parent.mkdir(parents=True, exist_ok=True)
    units = {unit.key: unit for unit in plan.units}
    finished_seeds(store, units["tiny-bert--full--tweets"], full)
    finished_seeds(store, units["tiny-bert--lora--tweets"], lora)
    study = StudyFile(choices=[StudyChoice(unit=key, chosen=1) for key in units])
    targets = deploy_targets(plan, study, store)
    assert [cell.id for cell in targets] == ([deployed] if deployed else [])
    assert all(cell.deploy is not None for cell in targets)
    seeds = [cell for unit in plan.units for cell in unit.seeds_of(1)]
    running = without_deployment(seeds, {deployed})
    assert [c.id for c in running if c.deploy is not None] == ([deployed] if deployed else [])


def test_deploy_chosen_prices_one_deployment_per_dataset(tmp_path):
    plan = load_suite(write(tmp_path, DEPLOYS)).study
    to_come = plan.seed_cells_to_come()
    assert len(to_come) == 6 and sum(c.deploy is not None for c in to_come) == 1
    every = load_suite(write(tmp_path, DEPLOYS.replace('"chosen"', '"seeds"'))).study
    assert all(c.deploy is not None for c in every.seed_cells_to_come())


@pytest.mark.slow
def test_deploy_chosen_end_to_end_deploys_one_run_and_keeps_it(tmp_path, monkeypatch, capsys):
    """Seeds train without deploying; then the chosen run alone is deployed, and a rerun
    skips every cell, the deployed one included (its deployment is not stripped)."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '''deploy = "chosen"
[deploy]
backends = ["torch"]
variants = []
batch_sizes = [1]
timing_processes = 1
rounds = 6
warmup_calls = 1
round_min_calls = 1
round_min_duration_s = 0.01
''')
    results = tmp_path / "runs" / "study"
    assert main(["run", "study.toml"]) == 0
    seeds = [r for r in load_records(results) if r["config"]["study"]["role"] == "seed"]
    deployed = [r["cell_id"] for r in seeds if r["deployment"]]
    assert len(seeds) == 6 and len(deployed) == 1, deployed
    capsys.readouterr()
    assert main(["run", "study.toml"]) == 0
    err = capsys.readouterr().err
    assert "6 finished cell(s) skipped" in err and "deploy the chosen runs" not in err, err
    again = [r["cell_id"] for r in load_records(results) if r["deployment"]]
    assert again == deployed
