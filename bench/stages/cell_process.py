"""One cell, start to finish, in its own process: data -> model -> fine-tune -> evaluate ->
save (bench/stages/training.py) -> deploy variants (bench/stages/deployment.py) -> one result
record. Run as

    python -m bench.stages.cell_process CELL.json OUT.json ARTEFACT_DIR

CELL.json: the cell (bench/suite/cell.py `cell_to_json`); OUT.json: where its record goes (its
predictions beside it); ARTEFACT_DIR: where the fine-tuned model is saved. Progress goes to
stdout as events that the runner reads (bench/stages/events.py); everything else the libraries
print goes to the cell's log.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from bench.stages.deployment import deploy_stage
from bench.stages.events import Phases, emit
from bench.suite.cell import Cell, cell_from_json
from bench.stages.training import train_stage
from bench.record import now_iso

RUNNER_PID_VARIABLE = "PEFT_BENCH_RUNNER_PID"  # set by the runner: the process to outlive not


def base_record(cell: Cell) -> dict:
    from bench.measure.environment import describe_environment
    from bench.record import SCHEMA_VERSION, CellConfig

    return {
        "schema_version": SCHEMA_VERSION, "cell_id": cell.id, "suite": cell.suite,
        "status": "running", "error": None, "config": CellConfig.of_cell(cell).to_dict(),
        "seed": cell.training.seed, "seed_group": cell.seed_group or cell.id,
        "environment": describe_environment(), "started_at": now_iso(),
    }


def run_cell(cell: Cell, artefact_dir: Path, record: dict, phases: Phases,
             predictions: dict) -> None:
    """Fill `record` (and `predictions`, per example: bench/record/predictions.py) in place, so that a
    failure keeps everything measured before it."""
    trained = train_stage(cell, artefact_dir, record, phases, predictions)
    if cell.deploy is not None:
        phases.enter("deploy")
        deploy_stage(cell, trained, artefact_dir, record, predictions)


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


def main(argv: list[str]) -> int:
    from bench.record.predictions import save_predictions, sidecar_path
    from bench.record import ErrorInfo
    from bench.record.store import write_json_atomic

    exit_with_parent()
    cell_path, out_path, artefact_dir = Path(argv[0]), Path(argv[1]), Path(argv[2])
    cell = cell_from_json(cell_path.read_text())
    phases = Phases()
    record = base_record(cell)
    predictions: dict = {}
    try:
        run_cell(cell, artefact_dir, record, phases, predictions)
        if predictions:  # beside the record, before it: a reader never finds one without it
            save_predictions(sidecar_path(out_path), predictions)
            record["predictions_file"] = sidecar_path(Path(f"{cell.id}.json")).name
        record["status"] = "ok"
    except Exception as error:  # recorded, never lost: the suite goes on
        traceback.print_exc()
        record["status"] = "failed"
        record["error"] = ErrorInfo.from_exception(phases.current, error).to_dict()
    record["phases_s"] = phases.finish()
    record["finished_at"] = now_iso()
    record["wall_time_s"] = sum(record["phases_s"].values())
    write_json_atomic(out_path, record)
    emit("done", status=record["status"])
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main(sys.argv[1:]))
