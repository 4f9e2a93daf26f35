"""Which cells `bench run` runs: --only, --force, finished cells skipped, failed and corrupt
ones run again; and what happens to a cell process that crashes or outlives its time limit.

The flag tests replace the cell process with a stub (they are about the runner's choices); the
crash and time-limit tests start real cell processes, made to die or hang at start-up by a
`sitecustomize` module that the test puts on the child's PYTHONPATH.
"""
import json
import os
import time
from pathlib import Path

import psutil
import pytest

import bench.executors.processes as executors
from bench.cli import main
from bench.record import CellConfig
from bench.record.store import SCHEMA_VERSION, ResultStore
from bench.suite.identity import training_key
from bench.suite.parser import load_suite

SUITE = """
[suite]
name = "flags"
[defaults.training]
epochs = 1
batch_size = 8
threads = 1
baseline = false
evaluate_before = false
inference_examples = 0
{training}
[defaults.dataset]
train_size = 12
validation_size = 6
test_size = 6
max_length = 16
[models.tiny-bert]
source = "tiny-bert"
[datasets.words]
source = "csv"
path = "words.csv"
[methods.full]
[methods.lora]
[methods.ia3]
[[matrix]]
models = ["tiny-bert"]
datasets = ["words"]
methods = {methods}
"""
CELLS = ["tiny-bert--full--words", "tiny-bert--ia3--words", "tiny-bert--lora--words"]


def write_suite(folder: Path, methods=("full", "lora", "ia3"), training: str = "") -> Path:
    rows = ["text,label"] + [f"{word} text {i},{word}" for i in range(12) for word in ("good", "bad")]
    (folder / "words.csv").write_text("\n".join(rows) + "\n")
    suite = folder / "flags.toml"
    suite.write_text(SUITE.format(methods=json.dumps(list(methods)), training=training))
    return suite


@pytest.fixture
def stub_cells(tmp_path, monkeypatch):
    """Cells 'run' instantly; returns the ids run, in order, and the set of cells made to fail."""
    monkeypatch.chdir(tmp_path)
    ran: list[str] = []
    failing: set[str] = set()

    def fake_cell_process(cell, store, on_event, deploy_from=None, start=None):
        ran.append(cell.id)
        if cell.id in failing:
            return executors.failed_record(cell, "train", "stub failure", "Crash")
        return {"schema_version": SCHEMA_VERSION, "cell_id": cell.id, "suite": cell.suite,
                "status": "ok", "run": len(ran), "config_hash": training_key(cell),
                "config": CellConfig.of_cell(cell).to_dict()}

    monkeypatch.setattr(executors, "run_cell_process", fake_cell_process)
    write_suite(tmp_path)
    return ran, failing, ResultStore(tmp_path / "runs" / "flags")


def test_only_runs_the_matching_cells(stub_cells):
    ran, _, store = stub_cells
    assert main(["run", "flags.toml", "--only", "lora"]) == 0
    assert ran == ["tiny-bert--lora--words"]
    assert main(["run", "flags.toml", "--only", "lora", "--only", "full"]) == 0
    assert ran == ["tiny-bert--lora--words", "tiny-bert--full--words"]
    assert not store.is_done("tiny-bert--ia3--words")


def test_finished_cells_are_skipped_and_force_reruns_them(stub_cells, capsys):
    ran, _, store = stub_cells
    assert main(["run", "flags.toml"]) == 0
    assert sorted(ran) == CELLS
    assert main(["run", "flags.toml"]) == 0
    assert len(ran) == 3 and "3 finished cell(s) skipped" in capsys.readouterr().err
    assert main(["run", "flags.toml", "--force"]) == 0
    assert sorted(ran[3:]) == CELLS
    assert json.loads(store.ok_path(CELLS[0]).read_text())["run"] > 3


def test_a_failed_cell_is_kept_apart_and_retried_on_the_next_run(stub_cells):
    ran, failing, store = stub_cells
    failing.add("tiny-bert--full--words")
    assert main(["run", "flags.toml"]) == 1
    assert store.failed_path("tiny-bert--full--words").is_file()
    assert not store.is_done("tiny-bert--full--words")
    failing.clear()
    assert main(["run", "flags.toml"]) == 0
    assert ran[3:] == ["tiny-bert--full--words"]
    assert store.is_done("tiny-bert--full--words")
    assert not store.failed_path("tiny-bert--full--words").exists()


def test_a_truncated_result_is_reported_and_the_cell_rerun(stub_cells, capsys):
    ran, _, store = stub_cells
    assert main(["run", "flags.toml"]) == 0
    path = store.ok_path("tiny-bert--lora--words")
    path.write_text(path.read_text()[:40])
    capsys.readouterr()
    assert main(["run", "flags.toml"]) == 0
    assert ran[3:] == ["tiny-bert--lora--words"]
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "unreadable result file" in err and "the cell runs again" in err
    assert json.loads(path.read_text())["status"] == "ok"


# ------------------------------------------------------------------- real cell processes

HOOK = '''
import os, signal, subprocess, time
action = os.environ.pop("BENCH_TEST_CELL_HOOK", "")
if action == "die":
    os.kill(os.getpid(), signal.SIGKILL)
if action == "hang":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a child that ignores the polite stop
    helper = subprocess.Popen(["sleep", "600"])  # and has a child of its own
    with open(os.environ["BENCH_TEST_PIDS"], "w") as pids:
        pids.write(f"{os.getpid()} {helper.pid}")
    time.sleep(600)
'''


@pytest.fixture
def cell_hook(tmp_path, monkeypatch):
    """Sets what the next cell process does at start-up: "die" or "hang"."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(hooks), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("BENCH_TEST_PIDS", str(tmp_path / "pids"))
    return lambda action: monkeypatch.setenv("BENCH_TEST_CELL_HOOK", action)


def one_cell(folder: Path, training: str = ""):
    suite = load_suite(write_suite(folder, methods=("full",), training=training))
    (cell,) = suite.cells
    return cell, ResultStore(folder / "results")


def test_a_killed_cell_process_is_recorded_as_failed(tmp_path, cell_hook):
    cell_hook("die")
    cell, store = one_cell(tmp_path)
    record = executors.run_cell_process(cell, store, lambda cell, event: None)
    assert record["status"] == "failed" and record["error"]["type"] == "Crash"
    assert "killed by SIGKILL (out of memory?)" in record["error"]["message"]
    assert str(store.log_path(cell.id)) in record["error"]["message"]


def test_the_time_limit_stops_the_cell_and_its_children_within_the_grace(tmp_path, cell_hook):
    limit, grace = 3.0, 10.0  # stop(): SIGTERM, 5 s, SIGKILL, 5 s
    cell_hook("hang")
    cell, store = one_cell(tmp_path, training=f"time_limit_s = {limit}")
    start = time.monotonic()
    record = executors.run_cell_process(cell, store, lambda cell, event: None)
    elapsed = time.monotonic() - start
    assert record["status"] == "failed" and record["error"]["type"] == "TimeLimit"
    assert limit <= elapsed <= limit + grace + 3, elapsed
    child, helper = map(int, (tmp_path / "pids").read_text().split())
    gone, alive = psutil.wait_procs([p for p in map(process_or_none, (child, helper)) if p],
                                    timeout=5)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    for process in alive:  # leave nothing running, whatever the outcome
        process.kill()
    assert not alive


def process_or_none(pid: int):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
