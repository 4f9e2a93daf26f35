"""The deployment stage of a cell: the trained model read back from the training stage's files
(bench/stages/stage_files.py), merged, then every [deploy] variant built, scored and timed on
every backend (bench/stages/variants.py), into the record's `deployment`.

It runs on the host at hand: a cell trained on a GPU deploys to the CPU backends of a machine
without one (`bench deploy`), its trainer (pruning recovery, QAT) rebuilt there from the spec.
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from bench.record import CellRecord, Deployment
from bench.specs import DeploySpec
from bench.stages.events import Progress, emit
from bench.stages.stage_files import StageFiles
from bench.suite.cell import Cell
from bench.suite.devices import deployment_device


def deploy_stage(cell: Cell, files: StageFiles, record: CellRecord, predictions: dict) -> None:
    """Fill the record's `deployment`, `deployment_controls` and `deployment_timing`; each
    variant's (and control's) per-example predictions go to `predictions`."""
    from bench.stages.variants import measure_prepared

    progress = deploy_progress(cell.deploy)
    with saved_model_variants(cell, files.model, files.deploy_workdir, progress,
                              predictions.__setitem__) as prepared:
        deployment = measure_prepared(prepared.variants, cell.deploy, prepared.inputs,
                                      prepared.threads, prepared.device, progress)
    record.deployment_device = prepared.device
    record.deployment = Deployment([v for v in deployment.variants if not v.trained_as])
    record.deployment_controls = [v for v in deployment.variants if v.trained_as]
    record.deployment_timing = deployment.timing


@dataclass
class SavedModelVariants:
    variants: list  # of bench.stages.variant_timing.Prepared, alive inside the `with`
    inputs: Any  # bench.stages.deploy_inputs.DeployInputs
    threads: int
    device: str


@contextmanager
def saved_model_variants(cell: Cell, model_dir: Path, workdir: Path,
                         progress: Callable[[str], None] = lambda text: None,
                         keep_predictions: Callable = lambda key, predictions: None
                         ) -> Iterator[SavedModelVariants]:
    """Every [deploy] variant of `cell` built, cold-called and scored from the trained model
    saved in `model_dir`, ready to time inside the `with` (the deployment stage; also
    benchmarks/deploy_repro.py and benchmarks/latency_coverage.py, which time them again)."""
    from bench.data import prepare_dataset
    from bench.models.loading import load_tokenizer
    from bench.registry import METHODS
    from bench.stages.trainer import CellTrainer
    from bench.stages.training import use_threads
    from bench.stages.variants import prepared_variants

    device = deployment_device(cell.training.device)
    # fp32 on CPU: compressions' recovery training (pruning, QAT) is part of their recipe, which
    # the deployment key hashes; "auto" would turn bf16 on some CPUs without changing that key
    training = dataclasses.replace(cell.training, device=device, report_to=[],
                                   precision="fp32" if device == "cpu" else cell.training.precision)
    use_threads(training.threads)
    data = prepare_dataset(cell.dataset, Path(cell.base_dir))
    tokenizer = load_tokenizer(cell.model)
    trainer = CellTrainer.of_prepared(data, tokenizer, training, device, cell.dataset.max_length)
    method = METHODS.get(cell.method)()
    model = method.load(cell.model, data.task, cell.method_params, model_dir, device)
    merged = method.merge_for_deployment(model)
    with prepared_variants(merged, tokenizer, data.task, trainer.data["test"], cell.deploy,
                           cell.compressions, trainer, workdir, device, progress,
                           keep_predictions, trainer.data["validation"]) as (variants, inputs,
                                                                              threads):
        yield SavedModelVariants(variants, inputs, threads, device)


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
