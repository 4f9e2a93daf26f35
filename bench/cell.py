"""One cell, start to finish, in its own process: data -> model -> fine-tune -> evaluate ->
save -> (deploy variants) -> one result record. Run as `python -m bench.cell CELL.json OUT.json`.

Progress goes to stdout as `@@bench {json}` lines that the runner reads; everything else the
libraries print goes to the cell's log.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from bench.record import now_iso

EVENT_PREFIX = "@@bench "


RUNNER_PID_VARIABLE = "PEFT_BENCH_RUNNER_PID"  # set by the runner: the process to outlive not


def emit(event: str, **fields) -> None:
    print(EVENT_PREFIX + json.dumps({"event": event, **fields}), flush=True)


class Progress:
    """`progress` events (done of total, in `unit`) for the phase that runs, at most a few per
    second: the runner turns them into a bar with an ETA."""

    def __init__(self, unit: str, every_s: float = 0.5) -> None:
        self.unit, self.every_s, self._last = unit, every_s, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - self._last >= self.every_s:
            self._last = now
            emit("progress", done=done, total=total, unit=self.unit)


def counted(batches, total: int, progress: Progress):
    """`batches`, reporting each one done."""
    progress(0, total)
    for done, batch in enumerate(batches, start=1):
        yield batch
        progress(done, total)


def deploy_progress(deploy: dict):
    """Reports each variant built and scored ("<variant> on <backend>") done of those the
    [deploy] table declares (fp32 and every chain, on every backend); the timing rounds that
    follow say their own count ("timing batch 32: round 3/10")."""
    total = (1 + len(deploy["variants"])) * len(deploy["backends"])
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


class Phases:
    """Times each phase of the cell and tells the runner which one is running."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.current = "start"
        self._start = time.perf_counter()

    def enter(self, name: str) -> None:
        self._close()
        self.current = name
        emit("phase", phase=name)

    def _close(self) -> None:
        now = time.perf_counter()
        self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self._start
        self._start = now

    def finish(self) -> dict[str, float]:
        self._close()
        return {k: round(v, 3) for k, v in self.seconds.items()}


def base_record(cell) -> dict:
    from bench.environment import describe_environment
    from bench.record import SCHEMA_VERSION, CellConfig

    return {
        "schema_version": SCHEMA_VERSION, "cell_id": cell.id, "suite": cell.suite,
        "status": "running", "error": None, "config": CellConfig.of_cell(cell).to_dict(),
        "seed": cell.training.get("seed"), "seed_group": cell.seed_group or cell.id,
        "environment": describe_environment(), "started_at": now_iso(),
    }


def run_cell(cell, artefact_dir: Path, record: dict, phases: Phases,
             predictions: dict) -> None:
    """Fill `record` (and `predictions`, per example: bench/predictions.py) in place, so that a
    failure keeps everything measured before it."""
    import torch

    from bench.baseline import cached_tfidf_baseline
    from bench.data import prepare_dataset
    from bench.evaluate import evaluate
    from bench.flops import training_compute
    from bench.inference import TorchPredictor, iterate_batches, labels_of, length_order
    from bench.models import count_parameters, load_tokenizer
    from bench.registry import METHODS
    from bench.specs import DatasetSpec, ModelSpec, TrainingConfig
    from bench.devices import resolve_device
    from bench.trainer import CellTrainer

    cfg = TrainingConfig(**cell.training)
    model_spec, data_spec = ModelSpec(**cell.model), DatasetSpec(**cell.dataset)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    record["device"] = {"type": device, "torch_threads": torch.get_num_threads(),
                        "name": torch.cuda.get_device_name(0) if device == "cuda" else None}
    if device == "cuda":
        from bench.environment import gpu_check

        record["device"]["gpu_check"] = gpu_check()
    method = METHODS.get(cell.method)()
    method.check_available(device)
    params = method.Params(**cell.method_params)

    phases.enter("data")
    data = prepare_dataset(data_spec, Path(cell.base_dir))
    record["data"] = data.info
    record["task"] = {"label_names": data.task.label_names, "multi_label": data.task.multi_label}
    tokenizer = load_tokenizer(model_spec)
    trainer = CellTrainer.of_prepared(
        data, tokenizer, cfg, device, data_spec.max_length,
        log_dir=training_log_dir(artefact_dir) if cfg.report_to else None,
        progress=Progress("steps"))
    tokenized = trainer.data
    orders = {split: length_order(tokenized[split]) for split in ("validation", "test")}

    def score(model, split: str = "test", keep: bool = False) -> dict:
        rows = tokenized[split].select(orders[split].tolist())
        batches = counted(iterate_batches(rows, tokenizer, cfg.eval_batch_size),
                          -(-len(rows) // cfg.eval_batch_size), Progress(f"{split} batches"))
        result = evaluate(TorchPredictor(model, device), batches, labels_of(rows), data.task,
                          order=orders[split])
        if keep:
            predictions[split] = result.predictions
        return result.metrics

    if cfg.baseline:
        phases.enter("baseline")
        record["baseline"] = cached_tfidf_baseline(data, seed=cfg.seed, tokenizer=tokenizer,
                                                   max_length=data_spec.max_length)

    phases.enter("load model")
    torch.manual_seed(cfg.seed)
    model = method.build(model_spec, data.task, params, device)
    trainable, total = count_parameters(model)
    record["parameters"] = {"trainable": trainable, "total": total,
                            "trainable_pct": 100.0 * trainable / total}
    record["evaluation"] = {}
    if cfg.evaluate_before:
        phases.enter("evaluate before")
        record["evaluation"]["before"] = score(model)

    phases.enter("train")
    report = trainer.train(model, method)
    record["training"] = report.to_dict()
    record["training"]["compute"] = training_compute(
        model, report.tokens, report.train_time_s, record["device"]["name"],
        report.precision).to_dict()

    phases.enter("evaluate")
    record["evaluation"]["validation"] = score(model, "validation", keep=True)
    record["evaluation"]["test"] = score(model, keep=True)
    record["examples"] = inference_examples(model, tokenizer, data, device, cfg.inference_examples)

    phases.enter("save")
    method.save(model, artefact_dir)
    record["artefacts"] = describe_artefacts(artefact_dir)
    record["artefacts"]["wrapped_modules"] = wrapped_modules(model)

    if cell.deploy:
        from bench.deploy import deploy_cell

        phases.enter("deploy")
        merged = method.merge_for_deployment(model)
        deployment = deploy_cell(
            merged, tokenizer, data.task, tokenized["test"], spec=deploy_spec(cell.deploy),
            compression_params=compression_params(cell.compressions),
            trainer=trainer, workdir=artefact_dir / "deploy", device=device,
            progress=deploy_progress(cell.deploy),
            keep_predictions=predictions.__setitem__,
            validation_data=tokenized["validation"])
        for variant in deployment.variants:  # False: the unmerged PeftModel was deployed
            variant["merged"] = method.merges   # (prompt/prefix tuning's virtual tokens)
        record["deployment"] = deployment.variants
        record["deployment_timing"] = deployment.timing


def training_log_dir(artefact_dir: Path) -> Path:
    """Beside the saved model, not in it: `artefacts.bytes` is what would ship."""
    return artefact_dir.with_name(f"{artefact_dir.name}.training-logs")


def deploy_spec(raw: dict):
    from bench.specs import DeploySpec

    return DeploySpec(**raw)


def compression_params(raw: dict) -> dict:
    from bench.registry import COMPRESSIONS

    return {name: COMPRESSIONS.get(name).Params(**values) for name, values in raw.items()}


def inference_examples(model, tokenizer, data, device: str, count: int) -> list[dict]:
    """A few test texts with the true label, the prediction and its score."""
    import numpy as np
    import torch

    from bench.evaluate import sigmoid, softmax

    texts = data.test.texts[:count]
    if not texts:
        return []
    pairs = data.test.text_pairs[:count] if data.test.text_pairs else None
    encoded = tokenizer(texts, pairs, truncation=True, padding=True, return_tensors="pt")
    encoded = {k: v.to(device) for k, v in encoded.items()}
    with torch.inference_mode():
        logits = model(**encoded).logits.float().cpu().numpy()
    names = data.task.label_names
    examples = []
    for i, text in enumerate(texts):
        truth = data.test.labels[i]
        if data.task.multi_label:
            probs = sigmoid(logits[i])
            predicted = [names[j] for j in np.flatnonzero(probs >= 0.5)]
            examples.append({"text": text, "label": [names[j] for j in np.flatnonzero(truth)],
                             "predicted": predicted, "score": float(probs.max())})
        else:
            probs = softmax(logits[i:i + 1])[0]
            examples.append({"text": text, "label": names[truth],
                             "predicted": names[int(probs.argmax())], "score": float(probs.max())})
    return examples


def wrapped_modules(model) -> list[str]:
    """The modules an adapter really wraps, by their name within a layer (what a method's
    `target_modules = None` resolved to); empty for full fine-tuning."""
    import re

    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils import ModulesToSaveWrapper

    names = set()
    for name, module in model.named_modules():
        if isinstance(module, BaseTunerLayer):
            names.add(re.split(r"\.\d+\.", name)[-1])
        elif isinstance(module, ModulesToSaveWrapper):
            names.add(f"{name.split('.')[-1]} (trained in full)")
    return sorted(names)


def describe_artefacts(directory: Path) -> dict:
    files = {str(p.relative_to(directory)): p.stat().st_size
             for p in sorted(directory.rglob("*")) if p.is_file()}
    return {"dir": str(directory), "bytes": sum(files.values()), "files": files}


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
    from bench.predictions import save_predictions, sidecar_path
    from bench.record import ErrorInfo
    from bench.store import write_json_atomic
    from bench.suite import Cell

    exit_with_parent()
    cell_path, out_path, artefact_dir = Path(argv[0]), Path(argv[1]), Path(argv[2])
    cell = Cell.from_dict(json.loads(cell_path.read_text()))
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
