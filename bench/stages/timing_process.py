"""Timing in fresh processes: `python -m bench.stages.timing_process JOB OUT`.

A process that has fine-tuned, exported and quantized a model times its variants with whatever
that left behind (allocator state, warm caches, thread placement), and every ratio it measures
shares that offset. So the deployment stage writes each prepared variant's artefact to disk
(Backend.prepare, Predictor.artefact) and runs the timing `[deploy] timing_processes` times,
one fresh process after the other (never side by side: they would compete for the cores).
Each loads every artefact back (Backend.load), times all variants in its own shuffled rounds
(bench/stages/timing_rounds.py) and writes what it timed; the parent pools them
(bench/stages/variant_timing.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from bench.plugins import Batch
from bench.record.timing import MachineLoad
from bench.stages.timing_rounds import RoundBudget, RoundTimes


@dataclass
class TimedArtefact:
    key: str  # the variant's key in the parent
    backend: str
    path: str  # the file Backend.load reads


@dataclass
class TimingJob:
    artefacts: list[TimedArtefact]
    batches: str  # .npz of the timed batches: "<size>/<input name>" -> array
    budget: RoundBudget
    device: str
    threads: int
    seed: int  # of this process's rounds

    @classmethod
    def read(cls, path: Path) -> "TimingJob":
        data = json.loads(path.read_text())
        return cls(**{**data, "artefacts": [TimedArtefact(**a) for a in data["artefacts"]],
                      "budget": RoundBudget(**data["budget"])})


@dataclass
class ProcessTimes:
    """What one timing process measured (batch size -> its rounds) and how quiet it was."""

    pid: int
    seed: int
    seconds: float
    rounds: dict[int, RoundTimes] = field(default_factory=dict)
    machine_load: MachineLoad = field(default_factory=MachineLoad)

    def to_dict(self) -> dict:
        return {"pid": self.pid, "seed": self.seed, "seconds": self.seconds,
                "rounds": {str(size): asdict(times) for size, times in self.rounds.items()},
                "machine_load": self.machine_load.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "ProcessTimes":
        return cls(data["pid"], data["seed"], data["seconds"],
                   {int(size): RoundTimes(**times) for size, times in data["rounds"].items()},
                   MachineLoad.from_dict(data["machine_load"]))


def save_batches(batches: dict[int, Batch], path: Path) -> None:
    np.savez(path, **{f"{size}/{name}": array for size, batch in batches.items()
                      for name, array in batch.items()})


def load_batches(path: Path) -> dict[int, Batch]:
    batches: dict[int, Batch] = {}
    with np.load(path) as arrays:
        for name in arrays.files:  # in the order saved: batch sizes stay in the spec's order
            size, column = name.split("/", 1)
            batches.setdefault(int(size), {})[column] = arrays[name]
    return batches


def time_job(job: TimingJob, progress: Callable[[str], None]) -> ProcessTimes:
    """Load every artefact back and time them all (this runs in the fresh process)."""
    from bench.measure.machine_load import LoadProbe
    from bench.measure.trackers import apply_threads
    from bench.registry import BACKENDS
    from bench.stages.timing_rounds import time_batches

    start = time.perf_counter()
    apply_threads(job.threads)
    predictors = {a.key: BACKENDS.get(a.backend)().load(Path(a.path), job.device, job.threads)
                  for a in job.artefacts}
    probe = LoadProbe()
    rounds = time_batches(predictors, load_batches(Path(job.batches)), job.budget, probe,
                          job.seed, progress=progress)
    return ProcessTimes(os.getpid(), job.seed, round(time.perf_counter() - start, 3), rounds,
                        probe.summary())


class TimingProcessFailed(RuntimeError):
    pass


def run_timing_process(job: TimingJob, folder: Path, label: str,
                       progress: Callable[[str], None] = lambda text: None) -> ProcessTimes:
    """Run `job` in a fresh Python process and read back what it timed; its progress lines
    are relayed with `label` appended, its stderr goes to ours (the cell's log)."""
    job_file, out_file = folder / f"job-{job.seed}.json", folder / f"times-{job.seed}.json"
    job_file.write_text(json.dumps(asdict(job)))
    command = [sys.executable, "-m", "bench.stages.timing_process", str(job_file), str(out_file)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        for line in process.stdout:
            progress(f"{line.strip()} ({label})")
    if process.returncode != 0 or not out_file.is_file():
        raise TimingProcessFailed(f"{label} exited with status {process.returncode} (its "
                                  "error is in the log above)")
    return ProcessTimes.from_dict(json.loads(out_file.read_text()))


def main(argv: list[str]) -> int:
    job_file, out_file = map(Path, argv)
    times = time_job(TimingJob.read(job_file), lambda text: print(text, flush=True))
    out_file.write_text(json.dumps(times.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
