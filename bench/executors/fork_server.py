"""The warm start of cells: a server that imports torch, transformers, peft, scikit-learn and
the cell's own modules once, then forks a fresh child per cell, which runs
bench/stages/cell_process.py's `main` as a spawned interpreter would, without importing
anything again. Started by the runner (bench/executors/forked.py) as

    python -m bench.executors.fork_server FD

FD: the server's end of a Unix socket pair (SOCK_SEQPACKET: one message per send). The runner
sends a cell's arguments with two file descriptors (the child's stdout, which carries its
events, and its log for stderr); the server answers `started` with the child's pid once the
child leads a session of its own (so the runner can stop its whole process group at once, as
for a spawned cell), and `exited` with its return code (negative: killed by that signal) when
it ends. The socket's end (the runner gone) ends the server and its cells.

Forking is safe only from a process that started no thread that could hold a lock at fork
time: no Python thread, and CUDA not initialised (a forked child cannot use it). The native
threads that the imports start (OpenBLAS's pool, jemalloc's background thread) stop or
re-arm themselves at fork (pthread_atfork), and torch's intra-op pool starts at the first
parallel operation, which the server never runs: each child sets its own threads
(`training.threads`). `fork_safety` checks this after the imports; the runner falls back to
spawning where it fails.
"""
from __future__ import annotations

import atexit
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import traceback

MESSAGE_BYTES = 65536
POLL_S = 0.05  # how soon a cell's end is reported
# What every cell imports: importing it here, once, is what the warm start saves
PRELOAD = ("torch", "transformers", "transformers.trainer", "peft", "sklearn.linear_model",
           "sklearn.feature_extraction.text", "bench.registry", "bench.data",
           "bench.models.loading", "bench.measure.environment", "bench.stages.cell_process",
           "bench.stages.training", "bench.stages.trainer", "bench.stages.baseline",
           "bench.stages.deployment")


def preload() -> list[str]:
    """Import PRELOAD; the modules that failed (a cell that needs one fails on its own)."""
    failed = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - reported, never fatal to the server
            failed.append(f"{name}: {error}")
    return failed


def fork_safety() -> str | None:
    """Why forking from this process would not be safe, or None when it is."""
    if threading.active_count() > 1:
        others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        return f"Python threads are running ({', '.join(others)})"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return "CUDA is initialised (a forked child could not use it)"
    return None


def send(sock: socket.socket, **message) -> None:
    sock.send(json.dumps(message).encode())


def serve(sock: socket.socket) -> None:
    """Fork a child per request; report each child's end; stop with the runner."""
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([sock], [], [], POLL_S)
        report_exits(sock, children)
        if not readable:
            continue
        message, fds, _, _ = socket.recv_fds(sock, MESSAGE_BYTES, 2)
        if not message:  # the runner is gone: so are its cells
            for pid in children:
                kill_group(pid)
            return
        pid = start_cell(json.loads(message)["arguments"], fds, sock)
        children.add(pid)
        send(sock, started=pid)


def report_exits(sock: socket.socket, children: set[int]) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            send(sock, exited=pid, returncode=os.waitstatus_to_exitcode(status))


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_cell(arguments: list[str], fds: list[int], sock: socket.socket) -> int:
    """Fork the cell's child; its pid once it leads its own session."""
    ready_read, ready_write = os.pipe()
    server = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(ready_read)
        run_child(arguments, fds, sock, server, ready_write)  # never returns
    os.close(ready_write)
    os.read(ready_read, 1)  # the child has called setsid() (or died: end of file)
    os.close(ready_read)
    for fd in fds:
        os.close(fd)
    return pid


def run_child(arguments: list[str], fds: list[int], sock: socket.socket, server: int,
              ready: int) -> None:
    """The forked child: a process of its own as a spawned cell is, then the cell."""
    code = 1
    try:
        os.setsid()
        os.write(ready, b"1")
        os.close(ready)
        sock.close()
        stdout, log = fds
        os.dup2(stdout, 1)
        os.dup2(log, 2)
        os.close(stdout)
        os.close(log)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the server ignores it
        from bench.stages.cell_process import RUNNER_PID_VARIABLE, main

        os.environ[RUNNER_PID_VARIABLE] = str(server)  # the process it must not outlive
        reset_peak_memory()
        code = main(arguments)
        atexit._run_exitfuncs()  # as an interpreter's exit would (trackers flush their files)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - to the cell's log; the runner records the crash
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed pipe: nothing left to tell
                pass
        os._exit(code)


def reset_peak_memory() -> None:
    """Restart the peak resident memory (VmHWM) at the child's present RSS (Linux >= 4.0),
    which holds the pages shared with the server (the libraries every cell imports, as a
    spawned cell would load them itself): `training.peak_rss_bytes` is then this child's own
    peak, never the server's (docs/measurement.md)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass  # the peak then starts at the RSS at fork, which the kernel copies


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    sock = socket.socket(fileno=int(argv[0]))
    failed = preload()
    unsafe = fork_safety()
    send(sock, ready=unsafe is None, why=unsafe, failed_imports=failed)
    if unsafe is None:
        serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
