"""How a cell's process starts: forked from a warm fork server (bench/executors/fork_server.py),
which has imported the libraries once, or spawned as a fresh interpreter
(`python -m bench.stages.cell_process`), which imports them again for every cell.

Either way the cell is a process of its own, in a session of its own: its memory figures are
its own and a crash is recorded, not fatal. "forkserver" is the default where fork is safe to
use (Linux); elsewhere (macOS, Windows), when the server cannot start or is not safe to fork
from, and with `bench run --start-method spawn`, cells are spawned. Each record says which ran
(`environment.start_method`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Callable

from bench.executors.forked import ForkServer, ForkServerGone
from bench.stages.cell_process import RUNNER_PID_VARIABLE, START_METHOD_VARIABLE

FORKSERVER, SPAWN = "forkserver", "spawn"
START_METHODS = (FORKSERVER, SPAWN)
# The libraries' own tqdm bars ("Writing model shards: 100%") would break into the run's
# display, which shows each phase's progress from the cells' events instead.
QUIET_LIBRARIES = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}

# (arguments of bench.stages.cell_process, the cell's log) -> a started process: pid, stdout
# (the cell's events), poll(), wait(timeout), returncode, as subprocess.Popen has them
CellStarter = Callable[[list[str], IO], object]


def default_start_method() -> str:
    return FORKSERVER if sys.platform.startswith("linux") else SPAWN


def child_env(start_method: str = SPAWN) -> dict:
    env = {**QUIET_LIBRARIES, **os.environ}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONUNBUFFERED"] = "1"
    env[RUNNER_PID_VARIABLE] = str(os.getpid())
    env[START_METHOD_VARIABLE] = start_method
    return env


def spawn_cell(arguments: list[str], log: IO) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.stages.cell_process", *arguments],
                            stdout=subprocess.PIPE, stderr=log, text=True,
                            start_new_session=True, env=child_env(SPAWN))


class CellLauncher:
    """Starts the cells of one run by its start method; a context manager that ends the fork
    server with the run. A server that fails to start or is not safe to fork from is said in
    its log (`server_log`) and the run spawns its cells; one that ends mid-run is started
    again for the next cell."""

    def __init__(self, start_method: str, server_log: Path) -> None:
        self.start_method, self.server_log = start_method, server_log
        self.server: ForkServer | None = None

    def __enter__(self) -> "CellLauncher":
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.close()

    def start(self, arguments: list[str], log: IO):
        if self.start_method == FORKSERVER:
            try:
                return self.warm_server().start(arguments, log)
            except ForkServerGone as error:
                self.note(f"{error}; this cell is spawned")
        return spawn_cell(arguments, log)

    def warm_server(self) -> ForkServer:
        """The running server, or a new one; where none starts, the run spawns its cells."""
        if self.server is None or self.server.gone:
            self.server = None
            try:
                self.server = ForkServer(child_env(FORKSERVER), self.server_log)
            except ForkServerGone:
                self.start_method = SPAWN
                raise
        return self.server

    def note(self, line: str) -> None:
        with open(self.server_log, "a") as log:
            log.write(f"bench: {line}\n")
