"""Fault drills on a real `bench run`: killed mid-cell, interrupted with Ctrl-C, a cell past
its time limit. What must hold: no half-written or temporary result file, finished cells kept,
a rerun completes the suite with every cell exactly once, and no cell process left behind."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import psutil
import pytest

from bench.stages.cell_process import RUNNER_PID_VARIABLE
from bench.cli import main
from bench.executors import processes
from bench.executors.launch import SPAWN
from bench.executors.processes import SCRATCH_PREFIX, LocalExecutor, remove_stale_scratch
from bench.record.store import ResultStore

CHEAP = """
[defaults.training]
epochs = 1
batch_size = 16
threads = 1
baseline = false
evaluate_before = false
inference_examples = 0
[defaults.dataset]
train_size = 64
validation_size = 16
test_size = 32
max_length = 32
[models.tiny-bert]
source = "tiny-bert"
[datasets.tweets]
source = "tweets"
"""
DRILL = '[suite]\nname = "drill"\n' + CHEAP + "[methods.full]\n[methods.lora]\n"
DRILL_CELLS = {"tiny-bert--full--tweets", "tiny-bert--lora--tweets"}


def start_run(workdir: Path) -> subprocess.Popen:
    """`bench run` in a process group of its own (so a signal to the group reaches only it), with
    Ctrl-C handled as in a terminal even when pytest itself runs with SIGINT ignored."""
    (workdir / "drill.toml").write_text(DRILL)
    with open(workdir / "run.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bench", "run", "drill.toml"], cwd=workdir,
            env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def command_line(process: psutil.Process) -> str:
    """The process's command line; empty once it has exited (a zombie has none to read)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def cell_processes(runner: subprocess.Popen) -> list[psutil.Process]:
    """The runner's cell processes: spawned ones (its children running the cell module) and
    forked ones (the children of its fork server)."""
    try:
        children = psutil.Process(runner.pid).children()
    except psutil.NoSuchProcess:
        return []
    cells = [c for c in children if "bench.stages.cell_process" in command_line(c)]
    for server in (c for c in children if "bench.executors.fork_server" in command_line(c)):
        try:
            cells += server.children()
        except psutil.NoSuchProcess:
            pass
    return cells


def still_running(process: psutil.Process) -> bool:
    """A zombie has finished: it only waits to be reaped by its parent, which, for a cell
    whose runner was killed, is whatever adopted it (PID 1 of a container may never reap)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(processes: list[psutil.Process], timeout: float = 30) -> list[psutil.Process]:
    """The processes still running after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (alive := [p for p in processes if still_running(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def scratch_folders(runner: subprocess.Popen) -> list[Path]:
    """The temporary folders of the runner's cells (named by the runner's pid)."""
    return list(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}{runner.pid}-*"))


def wait_for(condition: Callable[[], object], runner: subprocess.Popen, what: str,
             timeout: float = 300) -> object:
    """`condition()` once it is true; the generous timeout is for a busy CI machine (a cell
    that takes 10 s alone can take a minute there), not for a hang, which fails the same."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if runner.poll() is not None:
            pytest.fail(f"bench run exited ({runner.returncode}) before {what}")
        time.sleep(0.2)
    os.killpg(runner.pid, signal.SIGKILL)
    pytest.fail(f"timed out waiting for {what}")


def second_cell_running(runner: subprocess.Popen, results: Path) -> list[psutil.Process]:
    """The running cell processes, once one cell is finished and the next has started."""
    finished = {p.stem for p in results.glob("*.json")}
    cells = cell_processes(runner)
    started = [c for c in cells if not any(cell_id in command_line(c) for cell_id in finished)]
    return started if finished and started else []


def check_result_files(results: Path) -> dict[str, dict]:
    """Every result file parses; there is no temporary file; cell id -> record."""
    assert not list(results.rglob("*.tmp"))
    records = {}
    for path in results.rglob("*.json"):
        if "artefacts" not in path.parts:
            record = json.loads(path.read_text())
            assert record["cell_id"] not in records, f"{record['cell_id']} stored twice"
            records[record["cell_id"]] = record
    return records


def test_sigkill_mid_cell_loses_nothing_and_a_rerun_completes(tmp_path):
    results = tmp_path / "runs" / "drill"
    runner = start_run(tmp_path)
    running = wait_for(lambda: second_cell_running(runner, results), runner, "the second cell")
    time.sleep(1)  # well into the cell
    os.killpg(runner.pid, signal.SIGKILL)  # the runner's process group...
    scratch = scratch_folders(runner)
    assert len(scratch) == 1  # the second cell's: the first one's went with it
    for cell in running:  # ...and the cells, each in a session of its own: a lost machine
        os.killpg(cell.pid, signal.SIGKILL)
    runner.wait(timeout=10)
    assert all(folder.exists() for folder in scratch)  # left behind by the killed run
    before = check_result_files(results)
    assert len(before) == 1 and all(r["status"] == "ok" for r in before.values())
    finished = results / f"{next(iter(before))}.json"
    finished_mtime = finished.stat().st_mtime_ns

    rerun = start_run(tmp_path)
    assert rerun.wait(timeout=600) == 0, (tmp_path / "run.log").read_text()[-2000:]
    after = check_result_files(results)
    lost = DRILL_CELLS - {cell for cell, r in after.items() if r["status"] == "ok"}
    assert not lost, f"cells lost: {len(lost)} ({', '.join(sorted(lost))})"
    assert after.keys() == DRILL_CELLS
    assert finished.stat().st_mtime_ns == finished_mtime  # skipped, not rerun
    assert "1 finished cell(s) skipped" in (tmp_path / "run.log").read_text()
    assert not any(folder.exists() for folder in scratch)  # removed by the rerun
    umask = os.umask(0o022)
    os.umask(umask)
    assert all(path.stat().st_mode & 0o777 == 0o666 & ~umask for path in results.glob("*.json"))


# SIGTERM takes Ctrl-C's path (test_sigterm_arrives_as_ctrl_c): its drill runs with -m slow
@pytest.mark.parametrize("stop", [signal.SIGINT,
                                  pytest.param(signal.SIGTERM, marks=pytest.mark.slow)],
                         ids=["ctrl-c", "sigterm"])
def test_ctrl_c_exits_130_keeps_finished_cells_and_stops_the_running_one(tmp_path, stop):
    results = tmp_path / "runs" / "drill"
    runner = start_run(tmp_path)
    running = wait_for(lambda: second_cell_running(runner, results), runner, "the second cell")
    scratch = scratch_folders(runner)
    assert len(scratch) == 1
    os.kill(runner.pid, stop)
    assert runner.wait(timeout=120) == 130
    alive = wait_gone(running)
    assert not alive, f"orphan cell process(es): {[p.pid for p in alive]}"
    assert not any(folder.exists() for folder in scratch)
    records = check_result_files(results)
    assert len(records) == 1 and all(r["status"] == "ok" for r in records.values())
    assert "interrupted: finished cells were kept" in (tmp_path / "run.log").read_text()


def test_sigterm_arrives_as_ctrl_c(tmp_path, monkeypatch):
    """`bench run` turns SIGTERM (a scheduler, `kill`, a CI timeout) into the KeyboardInterrupt
    whose handling the Ctrl-C drill checks end to end."""
    import bench.executors.runner

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal arrives before this ends
        pytest.fail("SIGTERM did not interrupt the run")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bench.executors.runner, "run_suite", terminated)
    (tmp_path / "drill.toml").write_text(DRILL)
    before = signal.signal(signal.SIGTERM, lambda *args: None)  # without bench's: ignored
    try:
        with pytest.raises(KeyboardInterrupt):
            main(["run", "drill.toml"])
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_cell_past_its_time_limit_is_recorded_failed_and_the_suite_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    suite = tmp_path / "limits.toml"
    suite.write_text('[suite]\nname = "limits"\n' + CHEAP + """
[methods.slow]
method = "full"
training = { time_limit_s = 1 }
[methods.lora]
""")
    assert main(["run", str(suite)]) == 1  # a failed cell
    results = tmp_path / "runs" / "limits"
    failed = json.loads((results / "failed" / "tiny-bert--slow--tweets.json").read_text())
    assert failed["status"] == "failed" and failed["error"]["type"] == "TimeLimit"
    assert "time limit of 1 s exceeded" in failed["error"]["message"]
    assert json.loads((results / "tiny-bert--lora--tweets.json").read_text())["status"] == "ok"


def test_a_cell_does_not_outlive_a_killed_runner(tmp_path):
    runner = start_run(tmp_path)
    cells = wait_for(lambda: cell_processes(runner), runner, "the first cell")
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait(timeout=10)
    alive = wait_gone(cells)
    for cell in alive:  # leave nothing running, whatever the outcome
        os.killpg(cell.pid, signal.SIGKILL)
    assert not alive


def test_a_cell_started_after_its_runner_died_ends_at_once():
    """The runner's pid comes from the runner: a cell whose runner is already gone when its
    watchdog starts (its parent is then someone else) must not train for nobody."""
    cell = subprocess.Popen(
        [sys.executable, "-c", "import time; from bench.stages.cell_process import exit_with_parent; "
                               "exit_with_parent(poll_s=0.05); time.sleep(60)"],
        env={**os.environ, RUNNER_PID_VARIABLE: str(os.getpid() + 1_000_000)},
        start_new_session=True)  # the watchdog kills its own process group: not pytest's
    try:
        assert cell.wait(timeout=30) == -signal.SIGKILL
    finally:
        if cell.poll() is None:
            os.killpg(cell.pid, signal.SIGKILL)


def test_the_scratch_folders_of_a_dead_runner_are_removed(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = tmp_path / f"{SCRATCH_PREFIX}{finished.stdout.strip()}-abc"
    alive = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-def"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "cell.json").write_text("{}")
    remove_stale_scratch(tmp_path)
    assert not dead.exists() and alive.exists()


def test_a_stop_while_a_cells_folder_is_removed_leaves_no_folder(tmp_path, monkeypatch):
    """Ctrl-C can land while a finished cell's scratch folder is half removed; the executor
    removes what is left as the stop passes through it."""
    half_removed = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-half"
    other_runners = tmp_path / f"{SCRATCH_PREFIX}{os.getppid()}-other"

    def stopped_in_cleanup(*args, **kwargs):
        half_removed.mkdir()
        raise KeyboardInterrupt

    other_runners.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(processes, "run_cell_process", stopped_in_cleanup)
    cell = SimpleNamespace(id="cell")  # all the executor reads of it before the stub
    executor_run = LocalExecutor(SPAWN).run([cell], ResultStore(tmp_path / "runs"),
                                             lambda cell, event: None, {})
    with pytest.raises(KeyboardInterrupt):
        next(executor_run)
    assert not half_removed.exists() and other_runners.exists()
