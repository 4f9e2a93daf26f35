"""Which cells of a suite run, and why: a cell's result is keyed by its configuration
(bench/suite/identity.py), so an edited suite reruns exactly the cells it changed, a changed
[deploy] table or another host redeploys them (their training result is reused), and the rest
are finished."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bench.record import CellConfig
from bench.record.store import ResultStore
from bench.suite.cell import Cell
from bench.suite.identity import StageKeys, config_changes, config_defaults, stage_keys


class Action(Enum):
    RUN = "run"  # no result yet
    RERUN = "rerun"  # the configuration changed since its result was written
    REDEPLOY = "redeploy"  # same training, but the deployment or the host changed
    FORCE = "force"  # finished, rerun on request
    SKIP = "skip"  # finished with this configuration


@dataclass
class PlannedCell:
    cell: Cell
    action: Action
    reasons: list[str] = field(default_factory=list)
    record: dict | None = None  # the current result, where there is one

    @property
    def runs(self) -> bool:
        return self.action is not Action.SKIP


def plan_cells(cells: list[Cell], store: ResultStore, force: bool = False,
               hardware: dict | None = None) -> list[PlannedCell]:
    return [plan_cell(cell, store.current_record(cell.id), force, hardware) for cell in cells]


def plan_cell(cell: Cell, record: dict | None, force: bool,
              hardware: dict | None) -> PlannedCell:
    if record is None:
        return PlannedCell(cell, Action.RUN)
    if force:
        return PlannedCell(cell, Action.FORCE, record=record)
    keys = stage_keys(cell, hardware)
    written = CellConfig.of_cell(cell).to_dict()
    if record.get("config_hash") is None:  # written before keys: judged by its configuration
        changes = config_changes(record.get("config", {}), written, config_defaults(cell))
        return PlannedCell(cell, Action.RERUN if changes else Action.SKIP, changes, record)
    if record["config_hash"] != keys.training:
        changes = config_changes(record.get("config", {}), written, config_defaults(cell)) or [
            "the device or precision resolves differently on this host"]
        return PlannedCell(cell, Action.RERUN, changes, record)
    if record.get("deploy_hash") != keys.deployment:
        return PlannedCell(cell, Action.REDEPLOY, deployment_changes(record, cell, keys), record)
    return PlannedCell(cell, Action.SKIP, record=record)


def deployment_changes(record: dict, cell: Cell, keys: StageKeys) -> list[str]:
    written = CellConfig.of_cell(cell).to_dict()
    old = {k: record.get("config", {}).get(k) for k in ("deploy", "compressions")}
    changes = config_changes(old, {k: written[k] for k in old}, config_defaults(cell))
    return changes or ["the host's hardware differs from the one it was measured on"]
