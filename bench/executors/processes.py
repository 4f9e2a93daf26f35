"""Executors run cells and hand back their records. Every cell runs in its own process (forked
from a warm server or spawned: bench/executors/launch.py), so memory figures are its own and a
crash is recorded, not fatal."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bench.executors.launch import CellLauncher, CellStarter, default_start_method, spawn_cell
from bench.stages.events import EVENT_PREFIX
from bench.record.predictions import sidecar_path
from bench.record import CellRecord, ErrorInfo
from bench.record.store import ResultStore
from bench.suite.cell import Cell, cell_to_json

EventHandler = Callable[[Cell, dict], None]
FORK_SERVER_LOG = "_fork-server"  # logs/_fork-server.log, beside the cells' logs
SCRATCH_PREFIX = "bench-cell-"  # + runner pid: the next run knows whose folders are stale


def failed_record(cell: Cell, phase: str, reason: str, kind: str) -> dict:
    """The record of a cell whose process left none (crash, kill, time limit)."""
    return CellRecord.failed(cell, ErrorInfo(phase, kind, reason)).to_dict()


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"cell process killed by {name}{hint}"
    return f"cell process exited with status {returncode}"


def run_cell_process(cell: Cell, store: ResultStore, on_event: EventHandler,
                     deploy_from: str | None = None, start: CellStarter = spawn_cell) -> dict:
    """Run one cell in a child process (started by `start`) and return its record (a failed
    one if it crashed, was killed or ran past training.time_limit_s); `deploy_from` (a
    training key) runs its deployment stage only, from that training result."""
    time_limit = cell.training.time_limit_s
    log_path = store.log_path(cell.id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as tmp:
        cell_file, out_file = Path(tmp) / "cell.json", Path(tmp) / "record.json"
        cell_file.write_text(cell_to_json(cell))
        arguments = [str(cell_file), str(out_file), str(store.cell_artefacts(cell.id))]
        if deploy_from:
            arguments += ["--deploy-from", deploy_from]
        last_phase = {"phase": "start"}
        with open(log_path, "w") as log:
            process = start(arguments, log)
            reader = threading.Thread(target=relay_output,
                                      args=(process, log, cell, on_event, last_phase), daemon=True)
            reader.start()
            try:
                timed_out = wait(process, time_limit)
            finally:
                stop(process)
                reader.join(timeout=5)
        if timed_out:
            return failed_record(cell, last_phase["phase"],
                                 f"time limit of {time_limit:g} s exceeded", "TimeLimit")
        if out_file.is_file():
            record = json.loads(out_file.read_text())
            stage_predictions(sidecar_path(out_file), record, store)
            return record
        return failed_record(cell, last_phase["phase"],
                             f"{describe_exit(process.returncode)}; see {log_path}", "Crash")


def stage_predictions(sidecar: Path, record: dict, store: ResultStore) -> None:
    """Hand a finished cell's predictions to the store (ResultStore.save puts them beside the
    record); a failed cell's are dropped with its temporary folder."""
    if record.get("status") != "ok" or not sidecar.is_file():
        return
    staged = store.staged_predictions_path(record["cell_id"])
    staged.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(sidecar, staged)


def remove_stale_scratch(temp_dir: Path | None = None) -> None:
    """Remove the temporary folders of cells whose runner was killed (a runner that lives
    removes its own): their names carry the runner's pid."""
    for folder in Path(temp_dir or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def remove_own_scratch() -> None:
    """Remove this runner's cell folders. A stop (Ctrl-C, SIGTERM) that lands while a finished
    cell's folder is being removed interrupts the removal and would leave the folder behind."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}{os.getpid()}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def relay_output(process, log, cell: Cell, on_event: EventHandler, last_phase: dict) -> None:
    for line in process.stdout:
        if line.startswith(EVENT_PREFIX):
            event = json.loads(line[len(EVENT_PREFIX):])
            if event.get("event") == "phase":
                last_phase["phase"] = event["phase"]
            on_event(cell, event)
        else:
            log.write(line)


def wait(process, time_limit: float | None) -> bool:
    """Wait for the child; True when it ran past its time limit."""
    deadline = time.monotonic() + time_limit if time_limit else None
    while process.poll() is None:
        if deadline and time.monotonic() > deadline:
            return True
        time.sleep(0.2)
    return False


def stop(process) -> None:
    """Terminate the child's whole process group (it runs in its own session)."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


class LocalExecutor:
    """Cells one after another on this machine, each started by `start_method`
    (bench/executors/launch.py)."""

    name = "local"

    def __init__(self, start_method: str | None = None) -> None:
        self.start_method = start_method or default_start_method()

    def run(self, cells: Iterable[Cell], store: ResultStore, on_event: EventHandler,
            deploy_from: dict[str, str]) -> Iterator[dict]:
        try:
            with CellLauncher(self.start_method, store.log_path(FORK_SERVER_LOG)) as launcher:
                for cell in cells:
                    on_event(cell, {"event": "start"})
                    yield run_cell_process(cell, store, on_event, deploy_from.get(cell.id),
                                           launcher.start)
        finally:
            remove_own_scratch()
