"""Early stopping and the convergence flags on a tiny model: a learning rate of 0 never
improves on the first epoch, so the outcome is known in advance."""
from dataclasses import replace

import pytest

from bench.models.loading import load_tokenizer
from bench.registry import METHODS
from bench.specs import ModelSpec, TrainingConfig
import toy

SPEC = ModelSpec(name="b", source="tiny-bert")


@pytest.fixture(scope="module")
def setup():
    return toy.trainer(load_tokenizer(SPEC), TrainingConfig(batch_size=16, threads=2,
                                                            logging_steps=1),
                       train=32, validation=12, test=12)


def train(setup, **overrides):
    model = METHODS.get("full")().build(SPEC, toy.TASK, METHODS.get("full").Params(), "cpu")
    return replace(setup, config=replace(setup.config, **overrides)).train(model)


def test_patience_stops_training_once_validation_stops_improving(setup):
    report = train(setup, learning_rate=0.0, epochs=5, early_stopping_patience=1)
    assert report.epochs == 5 and report.epochs_run == pytest.approx(2.0)
    assert report.best_epoch == pytest.approx(1.0)
    assert report.stopped_early and report.may_not_have_converged is False
    assert report.steps == 4  # 2 epochs of 2 batches, not 5


def test_without_patience_every_epoch_runs(setup):
    report = train(setup, learning_rate=0.0, epochs=3)
    assert report.epochs_run == pytest.approx(3.0) and not report.stopped_early
    assert report.best_epoch == pytest.approx(1.0) and report.may_not_have_converged is False


def test_a_best_last_epoch_may_not_have_converged(setup):
    report = train(setup, learning_rate=0.0, epochs=1)
    assert report.best_epoch == pytest.approx(1.0) and report.may_not_have_converged is True
