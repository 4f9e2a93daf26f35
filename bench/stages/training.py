"""The training stage of a cell: data -> model -> fine-tune -> evaluate -> save, each step filling
the cell's record. What it saves (bench/stages/stage_files.py) is all the deployment stage
(bench/stages/deployment.py) reads: it never receives the live model."""
from __future__ import annotations

from pathlib import Path

from bench.record import (Artefacts, Baseline, CellRecord, Example, Metrics, Parameters,
                          TaskLabels, TrainingDevice)
from bench.stages.events import Phases, Progress, counted
from bench.stages.stage_files import StageFiles
from bench.suite.cell import Cell


def train_stage(cell: Cell, files: StageFiles, record: CellRecord, phases: Phases,
                predictions: dict) -> None:
    """Fill `record` (and `predictions`, per example: bench/record/predictions.py) in place, so
    that a failure keeps everything measured before it. A [study] trial is scored on
    validation only: no test scores, no test predictions, no floor, no examples."""
    import torch

    from bench.stages.baseline import cached_tfidf_baseline
    from bench.data import prepare_dataset
    from bench.stages.flops import training_compute
    from bench.models.loading import count_parameters, load_tokenizer
    from bench.registry import METHODS
    from bench.suite.devices import resolve_device
    from bench.stages.trainer import CellTrainer

    cfg, model_spec, data_spec = cell.training, cell.model, cell.dataset
    use_threads(cfg.threads)
    device = resolve_device(cfg.device)
    record.device = describe_device(device)
    method = METHODS.get(cell.method)()
    method.check_available(device)

    phases.enter("data")
    data = prepare_dataset(data_spec, Path(cell.base_dir))
    record.data = data.info
    record.task = TaskLabels(data.task.label_names, data.task.multi_label)
    tokenizer = load_tokenizer(model_spec)
    trainer = CellTrainer.of_prepared(
        data, tokenizer, cfg, device, data_spec.max_length,
        log_dir=files.training_logs if cfg.report_to else None,
        progress=Progress("steps"))
    score = split_scorer(trainer, cfg.eval_batch_size, predictions)

    scores_test = cell.scores_test  # a [study] trial never sees the test split
    if cfg.baseline and scores_test:
        phases.enter("baseline")
        record.baseline = Baseline.from_dict(cached_tfidf_baseline(
            data, files.floor_cache, tokenizer=tokenizer, max_length=data_spec.max_length))

    phases.enter("load model")
    torch.manual_seed(cfg.seed)
    model = method.build(model_spec, data.task, cell.method_params, device)
    trainable, total = count_parameters(model)
    record.parameters = Parameters(trainable, total, 100.0 * trainable / total)
    if cfg.evaluate_before and scores_test:
        phases.enter("evaluate before")
        record.evaluation.before = score(model)

    phases.enter("train")
    record.training = trainer.train(model, method)
    record.training.compute = training_compute(model, record.training.tokens,
                                               record.training.train_time_s, record.device.name,
                                               record.training.precision)

    phases.enter("evaluate")
    record.evaluation.validation = score(model, "validation", keep=True)
    if scores_test:
        record.evaluation.test = score(model, keep=True)
        record.examples = inference_examples(model, tokenizer, data, device,
                                             cfg.inference_examples)

    phases.enter("save")
    method.save(model, files.model)
    record.artefacts = describe_artefacts(files.model)
    record.artefacts.wrapped_modules = wrapped_modules(model)


def describe_device(device: str) -> TrainingDevice:
    """Where the cell trains: device, torch threads, the GPU's name and whether it was idle."""
    import torch

    described = TrainingDevice(device, torch.get_num_threads(),
                               torch.cuda.get_device_name(0) if device == "cuda" else None)
    if device == "cuda":
        from bench.measure.environment import gpu_check

        described.gpu_check = gpu_check()
    return described


def split_scorer(trainer, batch_size: int, predictions: dict):
    """`score(model, split, keep)`: the split's metrics, scored in length order (little padding);
    with `keep`, its per-example predictions go to `predictions` in the split's own order."""
    from bench.models.inference import TorchPredictor, iterate_batches, labels_of, length_order
    from bench.stages.evaluate import evaluate

    tokenized = trainer.data
    orders = {split: length_order(tokenized[split]) for split in ("validation", "test")}

    def score(model, split: str = "test", keep: bool = False) -> Metrics:
        rows = tokenized[split].select(orders[split].tolist())
        batches = counted(iterate_batches(rows, trainer.tokenizer, batch_size),
                          -(-len(rows) // batch_size), Progress(f"{split} batches"))
        result = evaluate(TorchPredictor(model, trainer.device), batches, labels_of(rows),
                          trainer.task, order=orders[split])
        if keep:
            predictions[split] = result.predictions
        return result.scores

    return score


def use_threads(threads: int | None) -> None:
    """The suite's `threads` for this process's torch (None: torch's own choice)."""
    import torch

    if threads:
        torch.set_num_threads(threads)


def inference_examples(model, tokenizer, data, device: str, count: int) -> list[Example]:
    """A few test texts with the true label, the prediction and its score."""
    import numpy as np
    import torch

    from bench.stages.evaluate import sigmoid, softmax

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
            examples.append(Example(text, [names[j] for j in np.flatnonzero(truth)], predicted,
                                    float(probs.max())))
        else:
            probs = softmax(logits[i:i + 1])[0]
            examples.append(Example(text, names[truth], names[int(probs.argmax())],
                                    float(probs.max())))
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


def describe_artefacts(directory: Path) -> Artefacts:
    files = {str(p.relative_to(directory)): p.stat().st_size
             for p in sorted(directory.rglob("*")) if p.is_file()}
    return Artefacts(str(directory), sum(files.values()), files)
