"""Statistics on known cases: intervals that cover the truth, paired verdicts that must say
"tied" or "better", McNemar against a hand computation, seed summaries, selections."""
import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from bench.stats.selection import (INCONCLUSIVE, OUTSIDE, WITHIN, Candidate, Change,
                                   budget_verdict, select_best)
from bench.stats.bootstrap import (bootstrap_interval, mcnemar_exact_p, metric_under_weights,
                         indicator_matrices, paired_verdict, summarize_seeds)


def noisy_predictions(rng, labels, accuracy, classes=3):
    wrong = rng.random(len(labels)) > accuracy
    return np.where(wrong, (labels + rng.integers(1, classes, len(labels))) % classes, labels)


def test_weighted_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 200)
    preds = noisy_predictions(rng, labels, 0.7)
    truth, pred = indicator_matrices(labels, preds, 3)
    ones = np.ones(len(labels))
    assert metric_under_weights("f1_macro", truth, pred, ones)[0] == pytest.approx(
        f1_score(labels, preds, average="macro"))
    assert metric_under_weights("f1_micro", truth, pred, ones)[0] == pytest.approx(
        f1_score(labels, preds, average="micro"))
    counts = rng.integers(0, 3, len(labels))  # a resample is example weights
    repeated = np.repeat(np.arange(len(labels)), counts)
    assert metric_under_weights("f1_macro", truth, pred, counts)[0] == pytest.approx(
        f1_score(labels[repeated], preds[repeated], average="macro"))


def test_multi_label_weighted_f1_matches_sklearn():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, (100, 4))
    probs = np.clip(labels * 0.7 + rng.random((100, 4)) * 0.5, 0, 1)
    interval = bootstrap_interval("f1_macro", labels, probs, resamples=200)
    assert interval.estimate == pytest.approx(f1_score(labels, probs >= 0.5, average="macro",
                                                       zero_division=0))
    assert interval.low <= interval.estimate <= interval.high


def test_interval_covers_the_true_accuracy_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    covered = 0
    for trial in range(100):
        labels = rng.integers(0, 3, 400)
        preds = noisy_predictions(rng, labels, 0.75)
        interval = bootstrap_interval("accuracy", labels, preds, resamples=500, seed=trial)
        covered += interval.low <= 0.75 <= interval.high
    assert 88 <= covered <= 100


def test_interval_width_matches_the_binomial_standard_error():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 1500)
    preds = noisy_predictions(rng, labels, 0.7)
    interval = bootstrap_interval("accuracy", labels, preds)
    half = 1.96 * math.sqrt(0.7 * 0.3 / 1500)
    assert (interval.high - interval.low) / 2 == pytest.approx(half, rel=0.15)


def test_identical_predictions_are_tied():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, 300)
    preds = noisy_predictions(rng, labels, 0.7)
    verdict = paired_verdict(labels, preds, preds.copy())
    assert verdict.verdict == "tied" and verdict.difference == 0
    assert verdict.low == verdict.high == 0 and verdict.mcnemar_p == 1.0


def test_a_clearly_better_model_is_better_and_the_other_worse():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 3, 1000)
    good, poor = noisy_predictions(rng, labels, 0.9), noisy_predictions(rng, labels, 0.6)
    for metric in ("f1_macro", "accuracy"):
        assert paired_verdict(labels, good, poor, metric).verdict == "better"
        assert paired_verdict(labels, poor, good, metric).verdict == "worse"


def test_a_small_difference_on_few_examples_is_tied():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 100)
    a = noisy_predictions(rng, labels, 0.75)
    b = a.copy()
    flip = np.flatnonzero(a == labels)[:2]  # b loses two examples: noise on 100
    b[flip] = (labels[flip] + 1) % 3
    assert paired_verdict(labels, a, b).verdict == "tied"


def test_probabilities_are_read_as_their_argmax():
    labels = np.array([0, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 2, 0]] * 0.8 + 0.05
    assert bootstrap_interval("accuracy", labels, probs).estimate == 0.75


def test_mcnemar_exact_p_matches_a_hand_computation():
    # 8 examples only A gets right, 2 only B: p = 2 * P(X <= 2), X ~ Bin(10, 1/2)
    #  = 2 * (1 + 10 + 45) / 1024 = 112 / 1024
    a = np.array([True] * 8 + [False] * 2 + [True] * 5)
    b = np.array([False] * 8 + [True] * 2 + [True] * 5)
    assert mcnemar_exact_p(a, b) == pytest.approx(112 / 1024)
    assert mcnemar_exact_p(a, a) == 1.0


def test_seed_summary_uses_a_t_interval():
    summary = summarize_seeds([0.70, 0.72, 0.74])
    assert summary.mean == pytest.approx(0.72) and summary.std == pytest.approx(0.02)
    half = 4.302653 * 0.02 / math.sqrt(3)  # t(0.975, 2)
    assert (summary.low, summary.high) == pytest.approx((0.72 - half, 0.72 + half))
    single = summarize_seeds([0.7])
    assert single.n == 1 and single.std is None and single.low is None


def candidate(name, val_acc, val_f1, test_f1, latency=1.0):
    return Candidate(name, {"accuracy": val_acc, "f1_macro": val_f1},
                     {"accuracy": None, "f1_macro": test_f1}, {"latency": latency})


def test_best_is_chosen_on_validation_not_test():
    a, b = candidate("a", 0.80, 0.78, 0.70), candidate("b", 0.79, 0.76, 0.90)
    unscored = Candidate("c", {"accuracy": None, "f1_macro": None}, {"f1_macro": 0.99})
    selection = select_best([a, b, unscored])
    assert selection.chosen is a and selection.excluded == {"c": "no validation score"}


def test_the_budget_is_judged_on_the_paired_interval_of_every_metric():
    clear = [Change("f1_macro", -0.002, -0.008, 0.004), Change("accuracy", 0.0, -0.005, 0.005)]
    assert budget_verdict(clear, 1.0) == WITHIN
    # the point estimate loses half a point, but the interval reaches 2 points below
    wide = [Change("f1_macro", -0.005, -0.02, 0.01), Change("accuracy", 0.0, -0.005, 0.005)]
    assert budget_verdict(wide, 1.0) == INCONCLUSIVE
    # F1 kept, accuracy surely 1.5 points down: outside
    accuracy_lost = [clear[0], Change("accuracy", -0.015, -0.02, -0.011)]
    assert budget_verdict(accuracy_lost, 1.0) == OUTSIDE
    assert budget_verdict([], 1.0) == INCONCLUSIVE
