"""The training stage's result on disk, which the deployment stage reads back: a cell is trained
once per configuration, and its deployment can run again later (after a kill, with other
backends, on the host that will serve) without training again.

    <results>/artefacts/<cell id>/<training key>/
        cell.json                     the cell as it ran (bench/suite/cell.py)
        training.json                 the record so far: data, scores, training, artefacts
        training.predictions.npz      per-example validation and test predictions
        model/                        what the method saved (adapter + head, or the model)
        deploy/                       the deployment stage's scratch (exported files)
        training-logs/                TensorBoard / W&B logs where `report_to` asks for them
    <results>/artefacts/_floor/       the TF-IDF floor of each split, shared by its cells
                                      (bench/stages/baseline.py)

The key (bench/suite/identity.py) names the configuration, so results of an edited suite never
overwrite the files of the earlier one; `bench clean` removes those no record uses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.record import CellRecord
from bench.record.predictions import SplitPredictions, load_predictions, save_predictions
from bench.record.store import write_json_atomic
from bench.suite.cell import Cell, cell_from_json, cell_to_json

TRAINED = "trained"
FLOOR_CACHE = "_floor"  # beside the cells' folders under artefacts/  # the status of a training result: the cell is whole once deployed


@dataclass(frozen=True)
class StageFiles:
    directory: Path

    @property
    def cell(self) -> Path:
        return self.directory / "cell.json"

    @property
    def result(self) -> Path:
        return self.directory / "training.json"

    @property
    def predictions(self) -> Path:
        return self.directory / "training.predictions.npz"

    @property
    def model(self) -> Path:
        return self.directory / "model"

    @property
    def deploy_workdir(self) -> Path:
        return self.directory / "deploy"

    @property
    def training_logs(self) -> Path:
        return self.directory / "training-logs"

    @property
    def floor_cache(self) -> Path:
        """Where the run keeps its TF-IDF floors: one per split, whatever the cell."""
        return self.directory.parent.parent / FLOOR_CACHE

    def save_cell(self, cell: Cell) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cell.write_text(cell_to_json(cell))

    def load_cell(self) -> Cell:
        return cell_from_json(self.cell.read_text())

    def save_training(self, record: CellRecord, predictions: dict[str, SplitPredictions]) -> None:
        """Predictions first, then the record that names them: a reader that finds the record
        finds its predictions."""
        save_predictions(self.predictions, predictions)
        write_json_atomic(self.result, {**record.to_dict(), "status": TRAINED})

    def load_training(self, key: str) -> tuple[CellRecord, dict[str, SplitPredictions]] | None:
        """The training record and predictions of configuration `key`, or None where there is
        no whole one (never trained, cut short, another configuration)."""
        try:
            record = json.loads(self.result.read_text())
            predictions = load_predictions(self.predictions)
        except (OSError, ValueError):
            return None
        if record.get("status") != TRAINED or record.get("config_hash") != key:
            return None
        return CellRecord.from_dict(record), predictions
