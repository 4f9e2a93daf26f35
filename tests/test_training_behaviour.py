"""Training keeps the weights of its best validation epoch, not its last, and gradient
accumulation takes one optimizer step per `gradient_accumulation_steps` batches."""
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from bench.stages.evaluate import evaluate
from bench.models.inference import TorchPredictor, by_length, iterate_batches, labels_of
from bench.models.loading import load_classifier, load_tokenizer
from bench.specs import ModelSpec, TrainingConfig
from bench.stages.trainer_parts import KeepBest
from toy import TASK, trainer

SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")
CFG = TrainingConfig(epochs=1, batch_size=8, learning_rate=1e-3, logging_steps=1,
                     eval_each_epoch=False, keep_best=False)


def test_keep_best_restores_the_weights_of_the_best_epoch():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    model[1].weight.requires_grad_(False)  # frozen weights are not copied, nor restored
    keep = KeepBest(model, "f1_macro")
    trajectory = [(1.0, 0.50), (2.0, 0.80), (3.0, 0.70), (4.0, 0.80)]  # best: epoch 2 (ties lose)
    weights = {}
    for epoch, score in trajectory:
        with torch.no_grad():
            model[0].weight.fill_(epoch)
            model[1].weight.fill_(epoch)
        weights[epoch] = model[0].weight.clone()
        keep.on_evaluate(None, SimpleNamespace(epoch=epoch), None, metrics={"eval_f1_macro": score})
    keep.restore()
    assert keep.best == 0.80
    assert torch.equal(model[0].weight, weights[2.0])
    assert torch.equal(model[1].weight, torch.full_like(model[1].weight, 4.0))


def test_training_ends_with_the_weights_of_its_best_epoch(monkeypatch):
    """Through CellTrainer.train, with validation F1 scripted to peak at epoch 1 of 2: the model it
    returns scores the validation loss that the Trainer logged at epoch 1, not epoch 2's."""
    import bench.stages.trainer

    scripted = iter([0.9, 0.5])
    real_metrics = bench.stages.trainer.scalar_metrics

    def peaking_early(task):
        compute = real_metrics(task)
        return lambda prediction: {**compute(prediction), "f1_macro": next(scripted)}

    monkeypatch.setattr(bench.stages.trainer, "scalar_metrics", peaking_early)
    tokenizer = load_tokenizer(SPEC)
    cell = trainer(tokenizer, replace(CFG, epochs=2, eval_each_epoch=True, keep_best=True,
                                      learning_rate=3e-3))
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK)
    report = cell.train(model)
    logged = {e["epoch"]: e["eval_loss"] for e in report.log_history if "eval_loss" in e}
    assert sorted(logged) == [1.0, 2.0] and report.best_epoch == 1.0 and report.best_metric == 0.9
    assert logged[1.0] != pytest.approx(logged[2.0], abs=1e-4)  # the epochs are told apart
    rows = by_length(cell.data["validation"])
    again = evaluate(TorchPredictor(model, "cpu"), iterate_batches(rows, tokenizer, 64),
                     labels_of(rows), TASK).scores.to_dict()
    assert again["loss"] == pytest.approx(logged[1.0], abs=1e-5)


def test_gradient_accumulation_halves_the_optimizer_steps():
    cell = trainer(load_tokenizer(SPEC), CFG, train=48)
    steps = {}
    for accumulation in (1, 2):
        torch.manual_seed(0)
        model = load_classifier(SPEC, TASK)
        report = replace(cell, config=replace(CFG, gradient_accumulation_steps=accumulation)
                         ).train(model)
        steps[accumulation] = report.steps
        assert report.samples_per_s > 0
    assert steps == {1: 6, 2: 3}  # 48 rows / batch 8 = 6 batches
