"""The deployment stage of a cell: compress the fine-tuned model -> run it on each backend ->
evaluate + measure, one record per variant x backend.

Chain semantics. A variant is a chain of compression names, e.g. ["prune", "int8"]. Every
step's `transform` runs in PyTorch on an fp32 copy of the model, once per run, shared by all
backends (pruning, QAT training). The chain's last step may quantize; it does so in each
backend's own runtime through the quantize recipe registered for that (compression, backend)
pair (bench/registry.py QUANTIZE_RECIPES): "int8" is torch.ao dynamic quantization on the
torch backend and ONNX Runtime's quantize_dynamic of the exported (possibly pruned) fp32 graph
on the onnxruntime backend, because models quantized in PyTorch do not export to ONNX.

The uncompressed "fp32" variant runs first on every backend; the fp32 model on the first
backend (torch by default) is the reference for every delta and speed-up. A chain that retrains
(pruning recovery, QAT) also gets its control, the uncompressed model trained the same way,
scored on the first backend and not timed (bench/stages/controls.py).

Every variant is prepared (compressed, exported, session built), its cold call timed and its
predictions scored first; only then are all of them timed together in shuffled, interleaved
rounds (bench.stages.timing_rounds) by fresh processes that load their files back
(bench.stages.timing_process), so that the rounds time nothing but calls. docs/measurement.md
says why and what each figure means.
"""
from __future__ import annotations

import copy
import gc
import shutil
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import torch
import torch.nn as nn
from datasets import Dataset

from bench.backends import to_torch
from bench.errors import VariantSkipped, one_line
from bench.measure.trackers import apply_threads
from bench.models.inference import iterate_batches
from bench.plugins import Backend, CompressionContext, QuantizeStep
from bench.record.deployment import DeployedVariant
from bench.record.metrics import Metrics
from bench.record.predictions import SplitPredictions, deploy_key
from bench.registry import BACKENDS, COMPRESSIONS, quantize_recipe
from bench.specs import DeploySpec
from bench.stages.controls import UNCOMPRESSED, Control, control_of
from bench.stages.deploy_inputs import DeployInputs, build_inputs
from bench.stages.evaluate import evaluate
from bench.stages.timing_rounds import first_calls
from bench.stages.transform_cache import CompressedModels
from bench.stages.variant_timing import (DeploymentResult, Prepared, add_speedups,
                                         time_prepared, timing_summary)
from bench.task import TaskInfo

if TYPE_CHECKING:
    from bench.stages.trainer import CellTrainer


REFERENCE = UNCOMPRESSED
COMPARED_METRICS = ("accuracy", "f1_macro", "f1_micro")


def variant_name(chain: list[str]) -> str:
    return "+".join(chain) or REFERENCE


# ------------------------------------------------------------------------------- running

@dataclass
class VariantRunner:
    """Builds and scores one variant on one backend, turning every problem into the record's
    status ("skipped" with a reason, or "failed" with the error) so the cell goes on."""

    spec: DeploySpec
    task: TaskInfo
    tokenizer: Any
    inputs: DeployInputs
    models: CompressedModels
    workdir: Path
    device: str
    threads: int
    can_finetune: bool
    unmerged: bool  # a PEFT model whose adapter cannot fold into its weights (virtual tokens)
    progress: Callable[[str], None]
    keep_predictions: Callable[[str, SplitPredictions], None]

    def prepare(self, chain: list[str], backend: Backend) -> Prepared:
        record = DeployedVariant(variant_name(chain), list(chain), backend.name,
                                 precision=self.precision(chain), status="ok",
                                 merged=not self.unmerged)
        self.progress(f"{record.variant} on {backend.name}")
        return self.guarded(record, lambda prepared: self._prepare(chain, backend, prepared))

    def prepare_controls(self, variants: list[Prepared], backend: Backend) -> list[Prepared]:
        """The control of every retraining chain that built (bench/stages/controls.py), on
        `backend`, scored but not timed; each variant's record names its control."""
        controls: dict[Control, Prepared] = {}
        for record in (v.record for v in variants if v.record.ok):
            control = control_of(record.chain, self.models.compressions, self.models.params)
            if control is None:
                continue
            if control not in controls:
                controls[control] = self.prepare_control(control, backend)
            record.control = control.name
        return list(controls.values())

    def prepare_control(self, control: Control, backend: Backend) -> Prepared:
        record = DeployedVariant(control.name, [], backend.name, precision=REFERENCE,
                                 status="ok", merged=True, trained_as=control.trained_as)

        def build(prepared: Prepared) -> None:
            backend.check(self.device)
            model, record.compression_info = control.train(
                self.models.get([])[0], self.models.context.trainer, self.progress)
            self._build(model, backend, prepared, None)

        prepared = self.guarded(record, build)
        prepared.predictor = None  # scored only: not timed
        release_memory(self.device)
        return prepared

    def guarded(self, record: DeployedVariant, build: Callable[[Prepared], None]) -> Prepared:
        """`build` run on a fresh Prepared, every problem turned into the record's status."""
        prepared = Prepared(record)
        try:
            build(prepared)
        except VariantSkipped as skip:
            record.status, record.reason = "skipped", str(skip)
        except Exception as error:  # one variant's failure never ends the cell
            traceback.print_exception(error, file=sys.stderr)
            record.status, record.reason = "failed", one_line(error)
        if not record.ok:
            prepared.predictor = None
            release_memory(self.device)
        return prepared

    def _prepare(self, chain: list[str], backend: Backend, prepared: Prepared) -> None:
        record = prepared.record
        self.check(chain, backend)
        model, record.compression_info = self.models.get(chain)
        quantize = self.quantize_step(chain, backend.name)
        if quantize:
            info = record.compression_info
            record.compression_info = {**info, chain[-1]: {**info.get(chain[-1], {}),
                                                           **quantize.info}}
        self._build(model, backend, prepared, quantize)

    def _build(self, model: nn.Module, backend: Backend, prepared: Prepared,
               quantize: QuantizeStep | None) -> None:
        """`model` on `backend`: prepared, cold-called, checked against PyTorch and scored."""
        record = prepared.record
        start = time.perf_counter()
        predictor = backend.prepare(model, self.inputs.examples,
                                    self.workdir / record.variant / backend.name, self.device,
                                    self.threads, quantize)
        record.timings_s.prepare = round(time.perf_counter() - start, 3)
        prepared.cold_s = first_calls(predictor, self.inputs.timed)  # before anything else runs it
        prepared.predictor = predictor
        record.backend_info, record.footprint = predictor.info, predictor.footprint
        record.onnx_max_abs_diff = diff = predictor.onnx_max_abs_diff
        if diff is not None and diff > self.spec.onnx_tolerance:
            record.status = "failed"
            record.reason = (f"exported logits differ from PyTorch by {diff:.2e} > "
                             f"deploy.onnx_tolerance = {self.spec.onnx_tolerance}")
            return
        start = time.perf_counter()
        record.metrics = self.score(predictor, self.inputs.eval_data, self.inputs.labels,
                                    self.inputs.order, deploy_key(record.variant, backend.name))
        if self.inputs.validation is not None:
            rows = self.inputs.validation
            record.validation_metrics = self.score(
                predictor, rows.data, rows.labels, rows.order,
                deploy_key(record.variant, backend.name, "validation"))
        record.timings_s.evaluate = round(time.perf_counter() - start, 3)

    def score(self, predictor, data: Dataset, labels: np.ndarray, order: np.ndarray,
              key: str) -> Metrics:
        """Scores of `predictor` on length-sorted rows; their predictions kept under `key`."""
        batches = iterate_batches(data, self.tokenizer, self.spec.eval_batch_size)
        scored = evaluate(predictor, batches, labels, self.task, order=order)
        self.keep_predictions(key, scored.predictions)
        return scored.scores

    def check(self, chain: list[str], backend: Backend) -> None:
        backend.check(self.device)
        if chain and self.unmerged:
            raise VariantSkipped("the model is deployed unmerged (its adapter cannot fold into "
                                 "the weights: virtual tokens); compressions run on merged "
                                 "models only")
        for position, name in enumerate(chain):
            compression = self.models.compressions[name]
            if compression.quantizes and position != len(chain) - 1:
                raise VariantSkipped(f"{name} quantizes, so it must end its chain "
                                     f"(got {variant_name(chain)})")
            compression.check(self.models.params[name], self.device, self.can_finetune)
        self.quantize_step(chain, backend.name)  # no recipe for the pair: skipped before any work

    def precision(self, chain: list[str]) -> str:
        """What the chain's quantizing step leaves (int8, bf16); fp32 without one."""
        last = self.models.compressions[chain[-1]] if chain else None
        return last.precision if last is not None and last.quantizes else REFERENCE

    def quantize_step(self, chain: list[str], backend: str) -> QuantizeStep | None:
        """The chain's quantizing step in `backend`'s runtime (None when nothing quantizes)."""
        last = self.models.compressions[chain[-1]] if chain else None
        if last is None or not last.quantizes:
            return None
        return quantize_recipe(last.name, backend)(self.models.params[last.name], self.device)


def release_memory(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def compare_to_reference(records: list[DeployedVariant], backend: str, band: float
                         ) -> list[DeployedVariant]:
    """Deltas of the compared metrics and speed-ups (with their interval over the timing
    processes; `band`: the equivalence band of their verdict) against fp32 on `backend`."""
    reference = next((r for r in records if not r.chain and not r.trained_as
                      and r.backend == backend and r.ok), None)
    for record in records:
        record.reference = f"{REFERENCE}/{backend}"
        if reference is None or not record.ok:
            continue
        record.deltas = {k: record.metrics.score(k) - reference.metrics.score(k)
                         for k in COMPARED_METRICS
                         if None not in (record.metrics.score(k), reference.metrics.score(k))}
        add_speedups(record, reference, band)
    return records


def deploy_cell(model: nn.Module, tokenizer, task: TaskInfo, test_data: Dataset,
                spec: DeploySpec, compression_params: dict[str, Any],
                trainer: CellTrainer | None, workdir: Path, device: str,
                progress: Callable[[str], None] = lambda s: None,
                keep_predictions: Callable[[str, SplitPredictions], None] = lambda k, p: None,
                validation_data: Dataset | None = None) -> DeploymentResult:
    """Every variant of `spec` (fp32 first) on every backend: one record each.

    `model` is the merged fp32 model (left unchanged); `compression_params` maps a compression
    name to its Params (absent: defaults); `trainer` trains a model further on the cell's
    train split (pruning recovery, QAT: `train_more`), None where not available; `keep_predictions` receives
    each variant's per-example predictions (bench/record/predictions.py keys); with
    `validation_data`, each variant is scored on it too (`validation_metrics`). The controls
    of retraining chains come last among the records, untimed, their `trained_as` set.
    """
    with prepared_variants(model, tokenizer, task, test_data, spec, compression_params,
                           trainer, workdir, device, progress, keep_predictions,
                           validation_data) as (variants, inputs, threads):
        return measure_prepared(variants, spec, inputs, threads, device, progress)


@contextmanager
def prepared_variants(model: nn.Module, tokenizer, task: TaskInfo, test_data: Dataset,
                      spec: DeploySpec, compression_params: dict[str, Any],
                      trainer: CellTrainer | None, workdir: Path, device: str,
                      progress: Callable[[str], None] = lambda s: None,
                      keep_predictions: Callable[[str, SplitPredictions], None] = lambda k, p: None,
                      validation_data: Dataset | None = None
                      ) -> Iterator[tuple[list[Prepared], DeployInputs, int]]:
    """Every variant built, cold-called and scored, its predictor alive inside the `with`
    (threads set as the spec says; files removed on leaving unless `keep_files`)."""
    previous_threads = torch.get_num_threads()
    threads = apply_threads(spec.threads).intra_op
    try:
        inputs = build_inputs(test_data, tokenizer, spec, validation_data)
        compressions = {name: COMPRESSIONS.get(name)() for chain in spec.variants for name in chain}
        params = {name: compression_params.get(name) or compression.Params()
                  for name, compression in compressions.items()}
        context = CompressionContext(trainer, to_torch(inputs.examples[-1], device), device,
                                     progress)
        models = CompressedModels(model.eval(), params, context, compressions)
        runner = VariantRunner(spec, task, tokenizer, inputs, models, Path(workdir), device,
                               threads, trainer is not None, hasattr(model, "peft_config"),
                               progress, keep_predictions)
        backends = [BACKENDS.get(name)() for name in spec.backends]
        variants = [runner.prepare(chain, backend)
                    for chain in [[], *spec.variants] for backend in backends]
        variants += runner.prepare_controls(variants, backends[0])
        yield variants, inputs, threads
        del variants, models
        release_memory(device)
    finally:
        torch.set_num_threads(previous_threads)
        if not spec.keep_files:
            shutil.rmtree(workdir, ignore_errors=True)


def measure_prepared(variants: list[Prepared], spec: DeploySpec, inputs: DeployInputs,
                     threads: int, device: str,
                     progress: Callable[[str], None] = lambda s: None) -> DeploymentResult:
    """Times prepared variants in fresh processes and compares them with the reference, on
    copies of their records: the same variants can be measured again."""
    fresh = [replace(v, record=copy.deepcopy(v.record)) for v in variants]
    run = time_prepared(fresh, spec, inputs.timed, device, threads, progress)
    records = compare_to_reference([v.record for v in fresh], spec.backends[0],
                                   spec.equivalence_band)
    return DeploymentResult(records, timing_summary(records, spec, threads, run))
