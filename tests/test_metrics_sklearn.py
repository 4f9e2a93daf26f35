"""Every figure of bench.stages.evaluate against scikit-learn's own functions on random logits: a
wrong averaging, argmax axis, probability or confusion-matrix orientation shows up here."""
import numpy as np
import pytest
from sklearn import metrics as skm

from bench.record import Metrics
from bench.report.csv_rows import SCORE_COLUMNS
from bench.specs import SCORES
from bench.stages.evaluate import compute_metrics
from bench.task import TaskInfo


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("classes, seed", [(2, 0), (3, 1), (5, 2)])
def test_single_label_figures_match_scikit_learn(classes, seed):
    rng = np.random.default_rng(seed)
    n = 200
    labels = rng.integers(0, classes, n)
    # informative but imperfect logits, and unequal class sizes, so averages differ
    logits = rng.normal(size=(n, classes)).astype(np.float32)
    logits[np.arange(n), labels] += rng.uniform(0, 2, n).astype(np.float32)
    task = TaskInfo([f"c{i}" for i in range(classes)])
    out = compute_metrics(logits, labels, task).to_dict()  # as the record stores it
    probs = softmax(logits.astype(np.float64))
    preds = probs.argmax(axis=1)
    assert out["n"] == n
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(labels, preds))
    assert out["loss"] == pytest.approx(skm.log_loss(labels, probs, labels=list(range(classes))),
                                        rel=1e-5)
    for average in ("macro", "micro", "weighted"):
        assert out[f"precision_{average}"] == pytest.approx(
            skm.precision_score(labels, preds, average=average, zero_division=0))
        assert out[f"recall_{average}"] == pytest.approx(
            skm.recall_score(labels, preds, average=average, zero_division=0))
        assert out[f"f1_{average}"] == pytest.approx(
            skm.f1_score(labels, preds, average=average, zero_division=0))
    expected_auc = (skm.roc_auc_score(labels, probs[:, 1]) if classes == 2 else
                    skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    assert out["roc_auc"] == pytest.approx(expected_auc, rel=1e-5)
    assert out["confusion_matrix"] == skm.confusion_matrix(labels, preds).tolist()
    per_class_f1 = skm.f1_score(labels, preds, average=None)
    support = np.bincount(labels, minlength=classes)
    for i in range(classes):
        assert out["per_class"][f"c{i}"]["f1"] == pytest.approx(per_class_f1[i])
        assert out["per_class"][f"c{i}"]["support"] == support[i]


def test_the_averages_differ_on_this_data():
    """The check above could not tell the averages apart if they were equal."""
    rng = np.random.default_rng(3)
    labels = np.array([0] * 120 + [1] * 50 + [2] * 30)
    logits = rng.normal(size=(200, 3))
    logits[np.arange(200), labels] += 1.0
    out = compute_metrics(logits, labels, TaskInfo(["a", "b", "c"])).to_dict()
    assert len({round(out[f"f1_{a}"], 6) for a in ("macro", "micro", "weighted")}) == 3


def test_confusion_matrix_rows_are_the_true_labels():
    logits = np.array([[5.0, 0, 0], [5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])
    labels = np.array([0, 1, 1, 2])  # one row of class 1 predicted as class 0
    out = compute_metrics(logits, labels, TaskInfo(["a", "b", "c"])).to_dict()
    assert out["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert out["per_class"]["b"]["recall"] == 0.5 and out["per_class"]["a"]["precision"] == 0.5


def test_multi_label_figures_match_scikit_learn():
    rng = np.random.default_rng(4)
    n, k = 150, 4
    labels = (rng.random((n, k)) < [0.5, 0.3, 0.2, 0.6]).astype(int)
    logits = rng.normal(size=(n, k)) + np.where(labels == 1, 1.5, -1.5)
    out = compute_metrics(logits, labels, TaskInfo(list("wxyz"), multi_label=True)).to_dict()
    probs = 1 / (1 + np.exp(-logits))
    preds = (probs >= 0.5).astype(int)
    assert out["subset_accuracy"] == pytest.approx(skm.accuracy_score(labels, preds))
    assert out["hamming_loss"] == pytest.approx(skm.hamming_loss(labels, preds))
    bce = -np.mean(labels * np.log(probs) + (1 - labels) * np.log(1 - probs))
    assert out["loss"] == pytest.approx(bce, rel=1e-6)
    for average in ("macro", "micro", "weighted"):
        assert out[f"f1_{average}"] == pytest.approx(
            skm.f1_score(labels, preds, average=average, zero_division=0))
        assert out[f"precision_{average}"] == pytest.approx(
            skm.precision_score(labels, preds, average=average, zero_division=0))
        assert out[f"recall_{average}"] == pytest.approx(
            skm.recall_score(labels, preds, average=average, zero_division=0))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, probs, average="macro"))
    assert out["f1_macro"] != pytest.approx(out["f1_micro"])
    per_label = skm.f1_score(labels, preds, average=None)
    assert [out["per_class"][c]["f1"] for c in "wxyz"] == pytest.approx(list(per_label))


def test_balanced_accuracy_matches_scikit_learn_and_reaches_the_record_and_the_csv():
    labels = np.array([0] * 8 + [1] * 2)
    logits = np.eye(2)[np.zeros(10, dtype=int)] * 3.0  # always the majority class
    metrics = compute_metrics(logits, labels, TaskInfo(["a", "b"]))
    assert metrics.score("accuracy") == 0.8 and metrics.score("balanced_accuracy") == 0.5
    assert metrics.score("balanced_accuracy") == skm.balanced_accuracy_score(labels, [0] * 10)
    assert Metrics.from_dict(metrics.to_dict()).scores["balanced_accuracy"] == 0.5
    assert "balanced_accuracy" in SCORE_COLUMNS and "balanced_accuracy" in SCORES
