"""`bench deploy RUN_DIR`: the deployment stage of finished cells, run again on this host from
their saved training results (bench/stages/stage_files.py), never training again: other
backends, a better timer, or the CPU that will serve (a GPU-trained cell deploys to the CPU
backends here). Each new record replaces the cell's current one, which moves to superseded/."""
from __future__ import annotations

import dataclasses

from bench.errors import BenchInputError
from bench.record.store import ResultStore, read_cell_records
from bench.registry import BACKENDS, unknown_name_message
from bench.specs import DeploySpec
from bench.stages.stage_files import StageFiles
from bench.suite.cell import Cell


def deployable_cells(store: ResultStore, only: list[str] | None,
                     backends: list[str] | None) -> tuple[list[tuple[Cell, str]], list[str]]:
    """(cell, training key) of every finished cell to deploy again, and one line per finished
    cell that cannot be (no training files, nothing to deploy)."""
    for name in backends or []:
        if name not in BACKENDS:
            raise BenchInputError("bench deploy --backends: " + unknown_name_message(
                "backend", name, BACKENDS.names()))
    cells, problems = [], []
    for record in read_cell_records(store.root).records:
        if not record.ok or (only and not any(text in record.cell_id for text in only)):
            continue
        if record.config_hash is None:
            problems.append(f"{record.cell_id}: written before stage keys (unknown "
                            "configuration), so no training files to deploy from: rerun it "
                            "with bench run")
            continue
        files = StageFiles(store.cell_artefacts(record.cell_id) / record.config_hash)
        if not files.cell.is_file() or files.load_training(record.config_hash) is None:
            problems.append(f"{record.cell_id}: no whole training result in {files.directory} "
                            "(removed?): rerun it with bench run")
            continue
        cell = with_backends(files.load_cell(), backends)
        if not cell.scores_test:
            problems.append(f"{record.cell_id}: a [study] trial, scored on validation only, is "
                            "never deployed (its chosen configuration's seed cells are)")
            continue
        if cell.deploy is None:
            problems.append(f"{record.cell_id}: its suite does not deploy it; name the "
                            "backends with --backends")
            continue
        cells.append((cell, record.config_hash))
    return cells, problems


def with_backends(cell: Cell, backends: list[str] | None) -> Cell:
    """The cell with its [deploy] backends replaced; a cell its suite did not deploy gets its
    fp32 model on those backends (no compression chain: it declared no compressions)."""
    if not backends:
        return cell
    deploy = cell.deploy or DeploySpec(variants=[])
    return dataclasses.replace(cell, deploy=dataclasses.replace(deploy, backends=backends))
