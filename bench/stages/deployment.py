"""The deployment stage of a cell: its trained model merged, then every [deploy] variant built,
scored and timed on every backend (bench/stages/variants.py), into the record's `deployment`."""
from __future__ import annotations

from pathlib import Path
from bench.stages.events import Progress, emit
from bench.suite.cell import Cell
from bench.stages.training import TrainedCell
from bench.specs import DeploySpec


def deploy_stage(cell: Cell, trained: TrainedCell, artefact_dir: Path, record: dict,
                 predictions: dict) -> None:
    """Fill `record["deployment"]` and `record["deployment_timing"]`; each variant's per-example
    predictions go to `predictions`."""
    from bench.stages.variants import deploy_cell

    trainer = trained.trainer
    merged = trained.method.merge_for_deployment(trained.model)
    deployment = deploy_cell(
        merged, trainer.tokenizer, trainer.task, trainer.data["test"], spec=cell.deploy,
        compression_params=cell.compressions, trainer=trainer,
        workdir=artefact_dir / "deploy", device=trainer.device,
        progress=deploy_progress(cell.deploy), keep_predictions=predictions.__setitem__,
        validation_data=trainer.data["validation"])
    record["deployment"] = [variant.to_dict() for variant in deployment.variants]
    record["deployment_timing"] = deployment.timing.to_dict()


def deploy_progress(deploy: DeploySpec):
    """Reports each variant built and scored ("<variant> on <backend>") done of those the
    [deploy] table declares (fp32 and every chain, on every backend); the timing rounds that
    follow say their own count ("timing batch 32: round 3/10")."""
    total = (1 + len(deploy.variants)) * len(deploy.backends)
    started = 0
    variants = Progress("variants", every_s=0)

    def progress(text: str) -> None:
        nonlocal started
        emit("phase", phase=f"deploy: {text}")
        if text.startswith("timing") and started <= total:  # every variant is built; the
            started = total + 1                               # text counts the rounds
            variants(total, total)
        elif " on " in text:
            started += 1
            variants(min(started - 1, total), total)

    return progress
