"""Cells forked from a warm server (bench/executors/fork_server.py): each still a process of its
own, whose crash is recorded while the suite goes on; the record says how its process started;
the TF-IDF floor of a split is fitted by its first cell and read back by the others."""
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.cli import main, make_executor
from bench.cli_parser import build_parser
from bench.executors.fork_server import fork_safety
from bench.executors.launch import default_start_method
from test_faults import cell_processes, check_result_files, second_cell_running, wait_for

SUITE = """
[suite]
name = "warm"
[defaults.training]
epochs = 1
batch_size = 8
threads = 1
evaluate_before = false
inference_examples = 0
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
[methods.lora]
seeds = [1, 2, 3]
"""


def write_suite(folder: Path) -> Path:
    rows = ["text,label"] + [f"{w} text {i},{w}" for i in range(12) for w in ("good", "bad")]
    (folder / "words.csv").write_text("\n".join(rows) + "\n")
    (folder / "warm.toml").write_text(SUITE)
    return folder / "warm.toml"


@pytest.mark.slow  # three cells; tests/test_faults.py drills the same paths through the fork server
def test_forked_cells_run_a_killed_one_is_recorded_and_the_suite_goes_on(tmp_path):
    write_suite(tmp_path)
    results = tmp_path / "runs" / "warm"
    with open(tmp_path / "run.log", "w") as log:
        runner = subprocess.Popen([sys.executable, "-m", "bench", "run", "warm.toml"],
                                  cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                                  stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    (victim,) = wait_for(lambda: second_cell_running(runner, results), runner, "the second cell")
    assert victim.ppid() != runner.pid  # forked by the server, not spawned by the runner
    os.killpg(victim.pid, signal.SIGKILL)
    assert runner.wait(timeout=600) == 1, (tmp_path / "run.log").read_text()[-2000:]
    assert not cell_processes(runner)
    records = check_result_files(results)
    failed = [r for r in records.values() if r["status"] != "ok"]
    done = sorted((r for r in records.values() if r["status"] == "ok"),
                  key=lambda r: r["started_at"])
    assert len(failed) == 1 and len(done) == 2
    assert "killed by SIGKILL" in failed[0]["error"]["message"]
    assert all(r["environment"]["start_method"] == "forkserver" for r in done)
    assert all(r["training"]["peak_rss_bytes"] > 0 for r in done)
    first, last = (r["baseline"] for r in done)
    assert first["reused"] is False and last["reused"] is True
    assert first["test"] == last["test"]
    assert len(list((results / "artefacts" / "_floor").glob("*.json"))) == 1


def test_the_start_method_is_the_platforms_unless_the_command_line_names_one():
    def executor(*flags):
        suite = SimpleNamespace(cells_per_gpu=None)  # one GPU per cell: the local executor
        return make_executor(build_parser().parse_args(["run", "s.toml", *flags]), suite)

    assert executor().start_method == default_start_method()
    assert executor("--start-method", "spawn").start_method == "spawn"
    with pytest.raises(SystemExit):
        executor("--start-method", "fork")


@pytest.mark.slow  # a whole cell (about 20 s on a quiet 2-core host)
def test_spawn_on_request_and_the_record_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    suite = write_suite(tmp_path)
    suite.write_text(SUITE.replace("seeds = [1, 2, 3]", ""))
    assert main(["run", str(suite), "--start-method", "spawn"]) == 0
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "runs" / "warm").glob("*.json")]
    assert record["environment"]["start_method"] == "spawn"


def test_a_running_thread_makes_forking_unsafe():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="holds-a-lock", daemon=True)
    thread.start()
    try:
        assert "holds-a-lock" in fork_safety()
    finally:
        stop.set()
        thread.join()
