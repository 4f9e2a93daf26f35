"""Stages with an identity: a result is keyed by its configuration (an edited suite reruns
exactly the cells it changed, the earlier results kept apart), training and deployment are
separate stages (deployment reruns from the saved training result, on this host, for a cell
trained elsewhere too), and `bench clean` removes what no current result uses."""
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.executors.plan import Action, plan_cell
from bench.record import CellConfig
from bench.record.store import ResultStore, load_records, read_cell_records
from bench.suite.identity import stage_keys
from bench.suite.parser import load_suite

SUITE = """
[suite]
name = "stages"
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
[methods.lora.training]
learning_rate = LORA_RATE
[deploy]
backends = ["torch"]
variants = []
batch_sizes = [1]
sequence_length = 16
warmup_calls = 1
rounds = 6
timing_processes = 1
round_min_calls = 2
round_min_duration_s = 0.0
"""
HARDWARE = {"model": "test CPU", "flags": {"avx2": True}, "logical_cores": 2, "gpu": None}


def write_suite(folder: Path, lora_rate: str = "1e-3", deploy_rounds: int = 6) -> Path:
    path = folder / "stages.toml"
    path.write_text(SUITE.replace("LORA_RATE", lora_rate)
                    .replace("rounds = 6", f"rounds = {deploy_rounds}"))
    return path


def cells_of(folder: Path, **changes) -> dict:
    return {cell.method_entry: cell for cell in load_suite(write_suite(folder, **changes)).cells}


def finished(cell, hardware=HARDWARE, config_hash=None) -> dict:
    keys = stage_keys(cell, hardware)
    return {"cell_id": cell.id, "status": "ok", "config": CellConfig.of_cell(cell).to_dict(),
            "config_hash": keys.training if config_hash is None else config_hash,
            "deploy_hash": keys.deployment}


def test_a_changed_key_reruns_exactly_its_cell_and_says_why(tmp_path):
    before = cells_of(tmp_path)
    after = cells_of(tmp_path, lora_rate="2e-3")
    records = {entry: finished(cell) for entry, cell in before.items()}
    full = plan_cell(after["full"], records["full"], False, HARDWARE)
    lora = plan_cell(after["lora"], records["lora"], False, HARDWARE)
    assert full.action is Action.SKIP
    assert lora.action is Action.RERUN
    assert lora.reasons == ["training.learning_rate: 0.001 -> 0.002"]


def test_a_changed_deployment_or_host_redeploys_without_training_again(tmp_path):
    cell = cells_of(tmp_path)["lora"]
    record = finished(cell)
    other_host = {**HARDWARE, "flags": {"avx2": True, "avx512f": True}}
    moved = plan_cell(cell, record, False, other_host)
    assert moved.action is Action.REDEPLOY
    assert moved.reasons == ["the host's hardware differs from the one it was measured on"]
    slower_timer = cells_of(tmp_path, deploy_rounds=8)["lora"]
    retimed = plan_cell(slower_timer, record, False, HARDWARE)
    assert retimed.action is Action.REDEPLOY
    assert retimed.reasons == ["deploy.rounds: 6 -> 8"]
    assert plan_cell(cell, record, True, HARDWARE).action is Action.FORCE


def test_records_written_before_keys_are_judged_by_their_configuration(tmp_path):
    cell = cells_of(tmp_path)["lora"]
    old = {**finished(cell), "config_hash": None, "deploy_hash": None}
    assert plan_cell(cell, old, False, HARDWARE).action is Action.SKIP
    del old["config"]["method"]["params"]["use_rslora"]  # a key added since, at its default
    assert plan_cell(cell, old, False, HARDWARE).action is Action.SKIP
    old["config"]["method"]["params"]["r"] = 16
    assert plan_cell(cell, old, False, HARDWARE).reasons == ["method.params.r: 16 -> 4"]
    edited = cells_of(tmp_path, lora_rate="2e-3")["lora"]
    assert plan_cell(edited, old, False, HARDWARE).action is Action.RERUN


def test_a_result_of_other_keys_is_moved_aside_never_overwritten(tmp_path):
    store = ResultStore(tmp_path)
    first = {"schema_version": 2, "cell_id": "c", "status": "ok", "config_hash": "a" * 16}
    store.save(first)
    store.save({**first, "config_hash": "b" * 16})
    kept = tmp_path / "superseded" / f"c--{'a' * 16}.json"
    assert json.loads(kept.read_text())["config_hash"] == "a" * 16
    assert [r["config_hash"] for r in load_records(tmp_path)] == ["b" * 16]


def test_a_report_refuses_results_of_two_configurations_of_one_cell(tmp_path, capsys):
    for folder, key in (("one", "a" * 16), ("two", "b" * 16)):
        ResultStore(tmp_path / folder).save({"schema_version": 2, "cell_id": "c", "status": "ok",
                                             "config_hash": key})
    assert len(read_cell_records(tmp_path).conflicts) == 1
    assert main(["report", str(tmp_path), "--md"]) == 2
    error = capsys.readouterr().err
    assert "c: " in error and "different configurations" in error and error.count("\n") == 1


@pytest.mark.slow  # 116 s: four bench runs with a deployment; -m slow runs it
def test_edit_rerun_deploy_resume_and_clean(tmp_path, monkeypatch, capsys):
    """One small suite through the stages' life: run; edit one method's rate and run again;
    resume after a result was lost during deployment; deploy a cell trained 'on a GPU' again,
    without training, to OpenVINO on this CPU; clean."""
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path)
    results = tmp_path / "runs" / "stages"
    assert main(["run", "stages.toml"]) == 0
    first = {r["cell_id"]: r for r in load_records(results)}
    lora_id, full_id = "tiny-bert--lora--tweets", "tiny-bert--full--tweets"
    assert all(r["config_hash"] and r["deploy_hash"] for r in first.values())
    stage_dir = results / "artefacts" / lora_id / first[lora_id]["config_hash"]
    assert (stage_dir / "training.json").is_file() and (stage_dir / "model").is_dir()

    write_suite(tmp_path, lora_rate="2e-3")
    capsys.readouterr()
    assert main(["run", "stages.toml", "--dry-run"]) == 0
    assert "would rerun: tiny-bert--lora--tweets\n" in capsys.readouterr().err
    assert {r["cell_id"]: r for r in load_records(results)} == first  # nothing ran
    assert main(["run", "stages.toml"]) == 0
    said = capsys.readouterr().err
    assert "1 cell(s) changed configuration" in said
    assert "training.learning_rate: 0.001 -> 0.002" in said
    second = {r["cell_id"]: r for r in load_records(results)}
    assert second[full_id] == first[full_id]  # not run again
    assert second[lora_id]["config_hash"] != first[lora_id]["config_hash"]
    assert (results / "superseded" / f"{lora_id}--{first[lora_id]['config_hash']}--"
                                      f"{first[lora_id]['deploy_hash']}.json").is_file()

    (results / f"{lora_id}.json").unlink()  # as if killed during its deployment
    assert main(["run", "stages.toml"]) == 0
    resumed = {r["cell_id"]: r for r in load_records(results)}[lora_id]
    assert "train" not in resumed["phases_s"] and "train" in resumed["training_phases_s"]
    assert resumed["training"] == second[lora_id]["training"] and resumed["deployment"]

    full_stage = results / "artefacts" / full_id / first[full_id]["config_hash"]
    cell = json.loads((full_stage / "cell.json").read_text())
    cell["training"]["device"] = "cuda"  # trained on a GPU, deployed on this CPU
    (full_stage / "cell.json").write_text(json.dumps(cell))
    assert main(["deploy", str(results), "--only", "full", "--backends", "openvino"]) == 0
    moved = {r["cell_id"]: r for r in load_records(results)}[full_id]
    assert "train" not in moved["phases_s"] and moved["training"] == first[full_id]["training"]
    assert moved["deployment_device"] == "cpu"
    assert [(v["backend"], v["status"]) for v in moved["deployment"]] == [("openvino", "ok")]

    capsys.readouterr()
    assert main(["clean", str(results)]) == 0
    listed = capsys.readouterr().out
    assert "superseded result" in listed and first[lora_id]["config_hash"] in listed
    assert main(["clean", str(results), "--yes"]) == 0
    assert not (results / "artefacts" / lora_id / first[lora_id]["config_hash"]).exists()
    assert (results / "artefacts" / lora_id / second[lora_id]["config_hash"]).is_dir()
    assert not list((results / "superseded").glob("*"))
    assert main(["report", str(results), "--md"]) == 0
