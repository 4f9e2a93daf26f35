"""`bench report DIR --mlflow URI`: every cell a run nested under its suite's run, read back
with MLflow's own client from a local sqlite store; a second export changes nothing."""
from pathlib import Path

import pytest

from bench.cli import main
from bench.record.store import read_cell_records
from bench.report.tracker_fields import identity_of, metric_name, tracked_cell
from tests.report_fixture import write_fixture

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra (part of dev) is not installed")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The report fixture exported twice to one store, and MLflow's client on that store."""
    folder = tmp_path_factory.mktemp("mlflow")
    results = write_fixture(folder / "results")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    for _ in range(2):
        assert main(["report", str(results), "--mlflow", uri]) == 0
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("peft-bench")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    return results, client, runs


def by_name(runs) -> dict:
    return {run.info.run_name: run for run in runs}


def test_one_run_per_cell_under_one_suite_run_and_no_duplicates(exported):
    results, client, runs = exported
    named = by_name(runs)
    assert len(runs) == 8  # 6 finished cells, 1 failed, 1 suite: twice exported, not doubled
    parent = named["fixture"]
    children = [run for run in runs if run is not parent]
    assert {run.data.tags["mlflow.parentRunId"] for run in children} == {parent.info.run_id}
    assert named["m--qlora--tweets"].info.status == "FAILED"
    assert named["m--qlora--tweets"].data.tags["peft_bench.error"] == "killed"
    assert named["m--lora--tweets"].info.status == "FINISHED"


def test_a_cell_run_holds_config_metrics_tags_and_its_record(exported):
    results, client, runs = exported
    lora = by_name(runs)["m--lora--tweets"]
    params, metrics, tags = lora.data.params, lora.data.metrics, lora.data.tags
    assert params["training.learning_rate"] == "0.001" and params["method.params.r"] == "8"
    assert metrics["test.f1_macro"] == pytest.approx(0.74)
    assert (metrics["test.f1_macro_low"], metrics["test.f1_macro_high"]) == (0.71, 0.77)
    assert metrics["validation.f1_macro"] == pytest.approx(0.76)
    assert metrics["training.runtime_s"] == 100.0 and metrics["training.trainable_params"] == 75_000
    variant = [name for name in metrics if name.startswith("deploy.") and "p50_ms_b1" in name]
    assert variant and all("+" not in name for name in metrics)
    assert tags["peft_bench.suite"] == "fixture" and tags["peft_bench.seed"] == "42"
    assert tags["mlflow.source.git.commit"] == "abc" and "Test CPU" in tags["peft_bench.hardware"]
    # a metric's history is not appended to by the second export
    assert len(client.get_metric_history(lora.info.run_id, "test.f1_macro")) == 1
    curve = client.get_metric_history(lora.info.run_id, "epoch.validation_f1_macro")
    assert [(point.step, point.value) for point in curve] == [(1, 0.6), (2, 0.65)]
    files = [f.path for f in client.list_artifacts(lora.info.run_id, "record")]
    assert files == ["record/m--lora--tweets.json"]


def test_the_suite_run_holds_the_report_its_plots_and_the_verdicts(exported):
    results, client, runs = exported
    parent = by_name(runs)["fixture"].info.run_id
    report = {f.path for f in client.list_artifacts(parent, "report")}
    assert {"report/REPORT.md", "report/REPORT.html", "report/verdicts.md",
            "report/plots"} <= report
    plots = client.list_artifacts(parent, "report/plots")
    assert plots and all(f.file_size > 0 for f in plots)
    verdicts = Path(client.download_artifacts(parent, "report/verdicts.md")).read_text()
    assert "## The answer" in verdicts and "runs, not methods" in verdicts


def test_identity_is_the_configuration_not_only_the_name(tmp_path):
    loaded = read_cell_records(write_fixture(tmp_path / "results"), include_failed=True)
    lora = next(r for r in loaded.records if r.cell_id == "m--lora--tweets")
    before = identity_of(lora)
    lora.config.training["learning_rate"] = 0.002
    assert identity_of(lora) != before and identity_of(lora).startswith("m--lora--tweets--")
    lora.config_hash, lora.deploy_hash = "c0ffee", "d00d"
    assert identity_of(lora) == "m--lora--tweets--c0ffee--d00d"
    assert tracked_cell(lora).tags["peft_bench.config_hash"] == "c0ffee"
    assert metric_name("deploy.prune+int8.torch.p50_ms_b1") == "deploy.prune_int8.torch.p50_ms_b1"
