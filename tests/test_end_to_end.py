"""The whole line on tiny models: `bench run` -> result files -> `bench report`."""
import csv
import io
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.record.predictions import load_predictions
from bench.record.store import load_records

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "suites" / "smoke.toml"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """Run the smoke suite once (in a scratch working folder) and share its results."""
    workdir = tmp_path_factory.mktemp("smoke")
    monkey = pytest.MonkeyPatch()
    monkey.chdir(workdir)
    status = main(["run", str(SMOKE)])
    yield workdir / "runs" / "smoke", status
    monkey.undo()


def test_every_cell_writes_one_whole_record(smoke_run):
    results, status = smoke_run
    assert status == 0
    records = load_records(results)
    assert [r["cell_id"] for r in records] == sorted([
        "tiny-bert--full--tweets", "tiny-bert--lora--tweets", "tiny-bert--ia3--tweets",
        "tiny-bert--qlora--tweets", "tiny-gpt2--lora--tweets"])
    for record in records:
        assert record["status"] == "ok", record.get("error")
        test = record["evaluation"]["test"]
        assert test["n"] == 48 and 0 <= test["f1_macro"] <= 1
        assert len(test["confusion_matrix"]) == 3
        assert record["evaluation"]["before"]["n"] == 48
        assert record["baseline"]["test"]["n"] == 48
        assert record["data"]["sizes"] == {"train": 96, "validation": 32, "test": 48}
        assert 0 < record["parameters"]["trainable"] <= record["parameters"]["total"]
        assert record["training"]["samples_per_s"] > 0
        assert record["training"]["peak_rss_bytes"] > 0
        assert any("loss" in entry for entry in record["training"]["log_history"])
        assert record["environment"]["versions"]["torch"]
        assert "commit" in record["environment"]["git"]
        assert record["artefacts"]["bytes"] > 0
        assert len(record["examples"]) == 5
    full = next(r for r in records if r["cell_id"] == "tiny-bert--full--tweets")
    lora = next(r for r in records if r["cell_id"] == "tiny-bert--lora--tweets")
    assert lora["parameters"]["trainable"] < full["parameters"]["trainable"]
    assert not list(results.glob("**/*.tmp"))


def test_records_keep_predictions_intervals_seed_and_convergence(smoke_run):
    results, _ = smoke_run
    for record in load_records(results):
        predictions = load_predictions(results / record["predictions_file"])
        assert set(predictions) == {"validation", "test"}
        assert predictions["test"].probs.shape == (48, 3)
        test = record["evaluation"]["test"]
        assert (predictions["test"].probs.argmax(1) == predictions["test"].labels).mean() == \
            pytest.approx(test["accuracy"])
        for metric in ("accuracy", "f1_macro"):
            low, high = test["intervals"][metric]
            assert low <= test[metric] <= high
        assert record["seed"] == 42 and record["seed_group"] == record["cell_id"]
        training = record["training"]
        assert training["epochs_run"] == 1 and training["stopped_early"] is False
        assert training["may_not_have_converged"] is True  # one epoch: its best is its last
        assert record["baseline"]["max_length"] == 32 and "reused" in record["baseline"]
    assert not list((results / ".staging").glob("*"))


def test_rerun_skips_finished_cells(smoke_run, capsys):
    results, _ = smoke_run
    before = {p: p.stat().st_mtime_ns for p in results.glob("*.json")}
    assert main(["run", str(SMOKE)]) == 0
    assert "5 finished cell(s) skipped" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in results.glob("*.json")} == before


def test_markdown_and_csv_reports(smoke_run, tmp_path, capsys):
    results, _ = smoke_run
    assert main(["report", str(results), "--md"]) == 0
    markdown = capsys.readouterr().out
    # one seed per method: the answer names runs, never a method alone
    assert "## The answer" in markdown and "No method verdict: runs, not methods" in markdown
    assert markdown.count("**Training**") == 5
    assert "TF-IDF + LR baseline (test)" in markdown and "before fine-tuning (test)" in markdown
    assert "Inference examples" in markdown
    out = tmp_path / "report.csv"
    assert main(["report", str(results), "--csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) >= 5 and {r["method"] for r in rows} == {"full", "lora", "ia3", "qlora"}


def test_failed_cell_is_recorded_and_suite_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "nan.toml"
    suite.write_text(SMOKE.read_text().split("[[matrix]]")[0].replace(
        'name = "smoke"', 'name = "nan"') + """
[methods.exploding]
method = "full"
training = { learning_rate = 1e30, logging_steps = 1 }
[[matrix]]
models = ["tiny-bert"]
methods = ["exploding", "lora"]
""")
    assert main(["run", str(suite), "--output", "evidence/nan"]) == 1  # not runs/nan
    assert not (tmp_path / "runs").exists()
    failed = json.loads((tmp_path / "evidence/nan/failed/tiny-bert--exploding--tweets.json").read_text())
    assert failed["status"] == "failed"
    assert failed["error"]["phase"] == "train" and "loss" in failed["error"]["message"]
    assert (tmp_path / "evidence/nan/tiny-bert--lora--tweets.json").is_file()


def test_bad_data_file_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "bad.toml"
    suite.write_text("""
[models.m]
source = "tiny-bert"
[datasets.mine]
source = "csv"
path = "nowhere.csv"
[methods.lora]
""")
    assert main(["run", str(suite)]) == 2
    err = capsys.readouterr().err
    assert "nowhere.csv" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("report_to, message", [
    ("wandb", "needs the wandb package: pip install wandb"),
    ("tensorbord", "unknown integration 'tensorbord'"),
])
def test_a_reporting_integration_that_cannot_run_is_bad_input(tmp_path, capsys, monkeypatch,
                                                              report_to, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bench.suite.devices.package_installed", lambda name: False)
    suite = tmp_path / "report_to.toml"
    suite.write_text(f"""
[defaults.training]
report_to = ["{report_to}"]
[models.m]
source = "tiny-bert"
[datasets.d]
source = "tweets"
train_size = 64
[methods.lora]
""")
    assert main(["run", str(suite)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
