"""The cost preview: the cells to run and their projected time on this host, from the rates
of earlier records measured on this CPU, else from the built-in estimate, which it names."""
import pytest

import bench.executors.cost_preview as cost_preview
from bench.cli import main
from bench.executors.cost_preview import preview_line
from bench.measure.environment import cpu_info
from bench.record.store import write_json_atomic
from bench.suite.parser import load_suite
from report_fixture import cell
from test_runner_flags import write_suite


@pytest.fixture
def suite_file(tmp_path):
    """Two cells (full and LoRA, 12 training examples, 1 epoch); no checkout's records (the
    conftest's fixture)."""
    return write_suite(tmp_path, methods=("full", "lora"))


def earlier(cell_id: str, method: str, cpu: dict, train_s: float, rest_s: float) -> dict:
    """A finished record that trained 500 examples for 2 epochs in `train_s` seconds."""
    record = cell(cell_id, method, test_f1=0.7, validation_f1=0.7, trainable=1, runtime=train_s,
                  phases_s={"start": rest_s / 2, "evaluate": rest_s / 2, "train": train_s})
    record["config"]["training"]["device"] = "auto"
    record["environment"]["cpu"] = cpu
    record["training"]["train_samples"] = 500
    return record


def test_without_earlier_records_the_preview_says_it_estimates(suite_file, tmp_path):
    cells = load_suite(suite_file).cells
    line = preview_line(cells, tmp_path / "runs")
    assert line.startswith("2 cell(s) to run, projected about ")
    assert "(estimate: no earlier records on this CPU" in line


def test_rates_come_from_records_on_this_cpu_only(suite_file, tmp_path):
    output = tmp_path / "runs"
    here, elsewhere = cpu_info(), {**cpu_info(), "model": "Another CPU", "logical_cores": 64}
    for record in (earlier("m--lora--w", "lora", here, train_s=100.0, rest_s=10.0),
                   earlier("m--full--w", "full", here, train_s=300.0, rest_s=30.0),
                   earlier("m--ia3--w", "ia3", elsewhere, train_s=9000.0, rest_s=900.0)):
        write_json_atomic(output / f"{record['cell_id']}.json", record)
    cells = load_suite(suite_file).cells
    # lora 0.1 s and full 0.3 s per example-epoch, x 12 examples x 1 epoch, + 20 s each
    assert preview_line(cells, output) == ("2 cell(s) to run, projected about 45 s on this "
                                           "host (from 2 records on this CPU)")


def test_the_checkout_results_count_beside_the_output_folder(suite_file, tmp_path, monkeypatch):
    """A run into a fresh folder still learns from the evidence committed in results/."""
    checkout = tmp_path / "results"
    monkeypatch.setattr(cost_preview, "CHECKOUT_RESULTS", checkout)
    record = earlier("m--lora--w", "lora", cpu_info(), train_s=100.0, rest_s=10.0)
    write_json_atomic(checkout / "suite" / f"{record['cell_id']}.json", record)
    cells = load_suite(suite_file).cells
    # 0.1 s per example-epoch for both methods (one rate known), x 12 x 1, + 10 s each
    assert preview_line(cells, tmp_path / "runs") == (
        "2 cell(s) to run, projected about 22 s on this host (from 1 records on this CPU)")


def test_validate_prints_the_preview(suite_file, capsys):
    assert main(["validate", str(suite_file), "--skip-models"]) == 0
    assert "2 cell(s) to run, projected about" in capsys.readouterr().err
