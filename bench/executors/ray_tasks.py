"""Cells as Ray tasks: many at once on one machine, or spread over a cluster.

Each task calls the same `run_cell_process` as the local executor, so on the worker a cell still
runs in its own process (its own memory figures, a crash recorded, not fatal). The driver stores
the records as the tasks finish, so result files land where `bench run` was started; a cell's
artefacts and log stay on the worker that ran it (the same folder when Ray runs locally).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from bench.errors import BenchInputError, first_line
from bench.executors.gpu_sharing import GpuShare
from bench.executors.processes import EventHandler, failed_record, run_cell_process
from bench.record.store import ResultStore
from bench.suite.cell import Cell, cell_from_json, cell_to_json

# A cancelled task stops its cell's process group (SIGTERM, SIGKILL 5 s later): wait that long.
CANCEL_GRACE_S = 15.0
# How often the driver wakes up while waiting, so that Ctrl-C is seen at once.
POLL_S = 0.5
# A local Ray's workers inherit this process's environment; a cluster's get these forwarded.
FORWARDED_ENV_PREFIXES = ("HF_", "TRANSFORMERS_", "PEFT_BENCH_", "TOKENIZERS_")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BenchInputError("the Ray executor needs the ray package: "
                              "pip install 'peft-bench[ray]'") from None
    return ray


def run_remote_cell(cell_json: str, store_root: str, deploy_from: str | None) -> dict:
    """The Ray task, given the cell as JSON (bench/suite/cell.py). Phase events stay on the
    worker: the driver only reports submissions."""
    return run_cell_process(cell_from_json(cell_json), ResultStore(Path(store_root)),
                            lambda _cell, _event: None, deploy_from)


def forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIXES)}


class RayExecutor:
    """Every cell as one Ray task asking for the suite's cpus_per_cell and its GPU share
    (bench/executors/gpu_sharing.py: a fraction puts several cells on one GPU, and marks their
    records); Ray runs as many at once as the resources allow. Records come back in completion
    order. `gpu_resource` names the Ray resource that stands for a GPU ("GPU"; tests on CPU
    declare one of their own)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 cpus_per_cell: float = 1, gpus_per_cell: float = 0,
                 gpu_share: GpuShare | None = None, gpu_resource: str = "GPU") -> None:
        if address and num_cpus is not None:
            raise BenchInputError("--workers applies to a local Ray only; a cluster at --address "
                                  "offers the CPUs its nodes have")
        if cpus_per_cell <= 0 or gpus_per_cell < 0:
            raise BenchInputError(f"Ray executor: cpus_per_cell must be > 0 and gpus_per_cell "
                                  f">= 0, got {cpus_per_cell} and {gpus_per_cell}")
        self.ray = import_ray()
        self.address = address
        self.num_cpus = num_cpus
        self.cpus_per_cell = cpus_per_cell
        self.gpu_share = gpu_share or (GpuShare(gpus_per_cell, f"gpus_per_cell = "
                                                               f"{gpus_per_cell:g}")
                                       if gpus_per_cell else None)
        self.gpus_per_cell = self.gpu_share.fraction if self.gpu_share else 0
        self.gpu_resource = gpu_resource

    def run(self, cells: Iterable[Cell], store: ResultStore, on_event: EventHandler,
            deploy_from: dict[str, str]) -> Iterator[dict]:
        started_here = self.connect()
        pending: dict[Any, Cell] = {}
        try:
            self.check_resources()
            task = self.ray.remote(run_remote_cell).options(
                num_cpus=self.cpus_per_cell, max_retries=0, **self.gpu_request())
            store_root = str(store.root.resolve())
            for cell in cells:
                pending[task.remote(cell_to_json(cell), store_root,
                                    deploy_from.get(cell.id))] = cell
                on_event(cell, {"event": "start"})
            while pending:
                ready, _ = self.ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    yield self.record(ref, pending.pop(ref))
        finally:  # Ctrl-C, an error, or the caller stopped early
            self.cancel(list(pending))
            if started_here:
                self.ray.shutdown()

    def connect(self) -> bool:
        """Start a local Ray or join a cluster, quietly; True when this call did it (and so the
        executor shuts it down). A Ray the caller already started is used as it is."""
        if self.ray.is_initialized():
            return False
        common = {"include_dashboard": False, "log_to_driver": False,
                  "logging_level": logging.ERROR}
        if self.address is None:
            self.ray.init(num_cpus=self.num_cpus, **common)
            return True
        try:
            self.ray.init(address=self.address, runtime_env={"env_vars": forwarded_env()},
                          **common)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise BenchInputError(f"cannot connect to the Ray cluster at {self.address!r}: "
                                  f"{first_line(error)}") from None
        return True

    def gpu_request(self) -> dict:
        """The task's GPU share as Ray options: num_gpus, or a custom resource standing in."""
        if self.gpu_resource == "GPU":
            return {"num_gpus": self.gpus_per_cell}
        return {"resources": {self.gpu_resource: self.gpus_per_cell}} if self.gpus_per_cell else {}

    def check_resources(self) -> None:
        """A task asking for more than the whole cluster has would wait forever: say so."""
        available = self.ray.cluster_resources()
        for kind, needed in (("CPU", self.cpus_per_cell), (self.gpu_resource, self.gpus_per_cell)):
            if needed > available.get(kind, 0):
                raise BenchInputError(
                    f"each cell asks for {needed:g} {kind}(s) (suite cpus_per_cell / "
                    f"gpus_per_cell) but the Ray cluster has {available.get(kind, 0):g}")

    def record(self, ref: Any, cell: Cell) -> dict:
        """The task's record; a task Ray itself lost (worker died, node gone, killed for memory)
        becomes a failed record, like a crashed cell."""
        try:
            record = self.ray.get(ref)
        except self.ray.exceptions.RayError as error:
            cause = getattr(error, "cause", None) or error  # an exception raised in the task
            record = failed_record(cell, "ray task", f"Ray task failed: {first_line(cause)}",
                                   type(cause).__name__)
        mark = self.gpu_share.mark(self.gpu_resource) if self.gpu_share else None
        return {**record, "device_sharing": mark.to_dict()} if mark else record

    def cancel(self, refs: list) -> None:
        """Cancel outstanding tasks. Not forced: a running task gets KeyboardInterrupt, and
        run_cell_process then stops its cell's process group (a forced cancel would kill the
        worker and orphan the cell, which runs in a session of its own)."""
        if not refs:
            return
        for ref in refs:
            self.ray.cancel(ref)
        self.ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
