"""The runner's end of the fork server (bench/executors/fork_server.py): starts it, asks it
for one cell process at a time, and hands back a handle that behaves as the subprocess.Popen
of a spawned cell does where bench/executors/processes.py uses one (pid, stdout, poll, wait,
returncode), so the time limit, the stop and the crash record work the same way."""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

READY_TIMEOUT_S = 600.0  # the imports, on a busy machine
REPLY_TIMEOUT_S = 60.0  # a fork
POLL_S = 0.05


class ForkServerGone(Exception):
    """The server did not start, is not safe to fork from, or ended."""


class ForkServer:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.executors.fork_server", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=env)
        theirs.close()
        self.exits: dict[int, int] = {}  # pid -> return code, of cells that ended
        self.gone = False
        try:
            hello = self.receive("ready", READY_TIMEOUT_S)
        except ForkServerGone:
            self.close()
            raise
        if not hello["ready"]:
            self.close()
            raise ForkServerGone(f"not safe to fork from: {hello['why']}")

    def start(self, arguments: list[str], log: IO) -> "ForkedCell":
        """A forked cell process running bench.stages.cell_process with `arguments`."""
        read_end, write_end = os.pipe()
        try:
            socket.send_fds(self.sock, [json.dumps({"arguments": arguments}).encode()],
                            [write_end, log.fileno()])
        except OSError as error:
            os.close(read_end)
            self.gone = True
            raise ForkServerGone(f"fork server unreachable: {error}") from error
        finally:
            os.close(write_end)
        pid = self.receive("started", REPLY_TIMEOUT_S)["started"]
        return ForkedCell(pid, os.fdopen(read_end, "r"), self)

    def receive(self, kind: str, timeout: float) -> dict:
        """The next message of `kind`; the ends of cells that come before it are kept."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.next_message(left)
            if message is not None and kind in message:
                return message
        self.close()
        raise ForkServerGone(f"no '{kind}' from the fork server within {timeout:g} s")

    def next_message(self, timeout: float) -> dict | None:
        """One message (an `exited` one is kept in self.exits), or None if none came."""
        if self.gone:
            raise ForkServerGone("the fork server ended")
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return None
        data = self.sock.recv(65536)
        if not data:
            self.gone = True
            raise ForkServerGone("the fork server ended")
        message = json.loads(data)
        if "exited" in message:
            self.exits[message["exited"]] = message["returncode"]
        return message

    def returncode(self, pid: int) -> int | None:
        """The cell's return code once it has ended, else None. Should the server end first,
        its cells end too: each one's watchdog kills its process group with SIGKILL
        (bench/stages/cell_process.py `exit_with_parent`)."""
        try:
            while pid not in self.exits and self.next_message(0) is not None:
                pass
        except ForkServerGone:
            return self.exits.get(pid, -signal.SIGKILL)
        return self.exits.get(pid)

    def close(self) -> None:
        """End the server (the closed socket tells it to) and wait for it."""
        self.gone = True
        self.sock.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class ForkedCell:
    """A forked cell, as processes.py handles a spawned one."""

    pid: int
    stdout: IO[str]
    server: ForkServer
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.returncode(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"forked cell {self.pid}", timeout)
            time.sleep(POLL_S)
        return self.returncode
