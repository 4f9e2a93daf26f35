"""One cell in its own process: the training stage (bench/stages/training.py), whose result is
saved before anything else runs (bench/stages/stage_files.py), then the deployment stage
(bench/stages/deployment.py), which reads that result back; one result record. Run as

    python -m bench.stages.cell_process CELL.json OUT.json CELL_ARTEFACTS [--deploy-from KEY]

CELL.json: the cell (bench/suite/cell.py `cell_to_json`); OUT.json: where its record goes (its
predictions beside it); CELL_ARTEFACTS: the cell's folder of stage files, one sub-folder per
training key. A training result of the same configuration found there is reused, not trained
again (a run killed during deployment resumes there). `--deploy-from KEY` runs the deployment
stage only, from the training result of KEY (`bench deploy`). Progress goes to stdout as events
that the runner reads (bench/stages/events.py); everything else the libraries print goes to the
cell's log.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from bench.record import CellRecord, now_iso
from bench.stages.deployment import deploy_stage
from bench.stages.events import Phases, emit
from bench.stages.stage_files import StageFiles
from bench.stages.training import train_stage
from bench.suite.cell import Cell, cell_from_json

RUNNER_PID_VARIABLE = "PEFT_BENCH_RUNNER_PID"  # set by the runner: the process to outlive not
# How the runner started this process (bench/executors/launch.py): "forkserver" (forked from a
# warm server) or "spawn" (this module run as a fresh interpreter, the default)
START_METHOD_VARIABLE = "PEFT_BENCH_START_METHOD"


# What a reused training result does not decide: the cell as it runs now (its [deploy] table
# may differ) and this process's own status and phases
NOT_FROM_TRAINING = ("config", "status", "phases_s")


class NoTrainingResult(Exception):
    """`--deploy-from` names a training result that is not there (or not whole)."""


def base_record(cell: Cell) -> CellRecord:
    from bench.measure.environment import describe_environment
    from bench.record import SCHEMA_VERSION, CellConfig, Environment

    environment = Environment.from_dict(describe_environment())
    environment.start_method = os.environ.get(START_METHOD_VARIABLE, "spawn")
    return CellRecord(
        schema_version=SCHEMA_VERSION, cell_id=cell.id, suite=cell.suite, status="running",
        config=CellConfig.of_cell(cell), seed=cell.training.seed,
        seed_group=cell.seed_group or cell.id, environment=environment, started_at=now_iso())


def training_result(cell: Cell, artefacts: Path, deploy_from: str | None, record: CellRecord,
                    phases: Phases, predictions: dict) -> StageFiles:
    """The cell's training stage, run here or read back: its files, with `record` and
    `predictions` holding what it measured."""
    from bench.suite.identity import training_key

    key = deploy_from or training_key(cell)
    files = StageFiles(artefacts / key)
    saved = files.load_training(key)
    if saved is None and deploy_from:
        raise NoTrainingResult(f"no whole training result in {files.directory}: run the cell "
                               "with `bench run` first")
    if saved is not None:
        trained, trained_predictions = saved
        for part in dataclasses.fields(CellRecord):
            if part.name not in NOT_FROM_TRAINING:
                setattr(record, part.name, getattr(trained, part.name))
        record.training_phases_s = trained.phases_s
        predictions.update(trained_predictions)
        emit("phase", phase=f"training result reused ({files.directory.name})")
        return files
    record.config_hash = key
    files.save_cell(cell)
    train_stage(cell, files, record, phases, predictions)
    files.save_training(dataclasses.replace(record, phases_s=phases.finish()), predictions)
    return files


def run_cell(cell: Cell, artefacts: Path, deploy_from: str | None, record: CellRecord,
             phases: Phases, predictions: dict) -> None:
    """Fill `record` (and `predictions`, per example: bench/record/predictions.py) in place, so
    that a failure keeps everything measured before it."""
    this_host = record.environment
    files = training_result(cell, artefacts, deploy_from, record, phases, predictions)
    if cell.deploy is not None:
        from bench.suite.identity import deployment_key, host_hardware

        phases.enter("deploy")
        record.deployment_environment = this_host  # the training's may be another host's
        record.deploy_hash = deployment_key(cell, record.config_hash, host_hardware())
        deploy_stage(cell, files, record, predictions)


def exit_with_parent(poll_s: float = 0.5) -> None:
    """End this cell's whole process group once its runner is gone. The cell runs in a session
    of its own (so that the runner can stop it and its children at once), which also means that
    a runner killed with SIGKILL would leave it running, training for nobody. The runner's pid
    comes from the runner itself: a runner killed before this line runs has already handed the
    cell to another parent, which getppid() at this point could not tell."""
    runner = int(os.environ.get(RUNNER_PID_VARIABLE, os.getppid()))

    def watch() -> None:
        while os.getppid() == runner:
            time.sleep(poll_s)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.stages.cell_process")
    parser.add_argument("cell", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("artefacts", type=Path)
    parser.add_argument("--deploy-from", metavar="KEY")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from bench.record.predictions import save_predictions, sidecar_path
    from bench.record import ErrorInfo
    from bench.record.store import write_json_atomic

    exit_with_parent()
    args = parse_args(argv)
    cell = cell_from_json(args.cell.read_text())
    out_path = args.out
    phases = Phases()
    record = base_record(cell)
    predictions: dict = {}
    try:
        run_cell(cell, args.artefacts, args.deploy_from, record, phases, predictions)
        if predictions:  # beside the record, before it: a reader never finds one without it
            save_predictions(sidecar_path(out_path), predictions)
            record.predictions_file = sidecar_path(Path(f"{cell.id}.json")).name
        record.status = "ok"
    except Exception as error:  # recorded, never lost: the suite goes on
        traceback.print_exc()
        record.status = "failed"
        record.error = ErrorInfo.from_exception(phases.current, error)
    record.phases_s = phases.finish()
    record.finished_at = now_iso()
    record.wall_time_s = sum(record.phases_s.values())
    write_json_atomic(out_path, record.to_dict())
    emit("done", status=record.status)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main(sys.argv[1:]))
