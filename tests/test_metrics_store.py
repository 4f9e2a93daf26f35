"""Metric code (shared by every backend), the TF-IDF floor, and atomic result files."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from bench.stages.baseline import cached_tfidf_baseline, tfidf_baseline
from bench.data import PreparedData
from bench.stages.evaluate import compute_metrics
from bench.task import TaskInfo
from bench.record.store import ResultStore, load_records, write_json_atomic

THREE = TaskInfo(["neg", "neu", "pos"])


def test_single_label_metrics_match_hand_computed_values():
    labels = np.array([0, 0, 1, 2, 2, 2])
    preds = np.array([0, 1, 1, 2, 2, 0])
    logits = np.eye(3)[preds] * 5.0
    m = compute_metrics(logits, labels, THREE).to_dict()  # as the record stores it
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["f1_micro"] == pytest.approx(4 / 6)
    # per class F1: neg 1/2, neu 2/3, pos 4/5
    assert m["f1_macro"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert m["per_class"]["pos"]["support"] == 3
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert 0 < m["roc_auc"] <= 1 and m["loss"] > 0


def test_roc_auc_absent_when_a_class_is_missing():
    m = compute_metrics(np.zeros((2, 3)), np.array([0, 1]), THREE).to_dict()
    assert m["roc_auc"] is None


def test_multi_label_metrics():
    task = TaskInfo(["a", "b", "c"], multi_label=True)
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    logits = np.where(np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]]) == 1, 3.0, -3.0)
    m = compute_metrics(logits, labels, task).to_dict()
    assert m["subset_accuracy"] == pytest.approx(2 / 3)
    assert m["f1_micro"] == pytest.approx(2 * 5 / (2 * 5 + 1))
    assert m["confusion_matrix"] is None


def split(texts, labels):
    return SimpleNamespace(texts=texts, labels=labels, text_pairs=None)


def test_tfidf_baseline_learns_separable_words():
    train = split(["good great fine"] * 10 + ["bad awful poor"] * 10,
                  [1] * 10 + [0] * 10)
    test = split(["great and good", "poor and awful"], [1, 0])
    data = SimpleNamespace(train=train, validation=test, test=test, task=TaskInfo(["neg", "pos"]))
    result = tfidf_baseline(data)
    assert result["test"]["accuracy"] == 1.0 and result["C"] in (0.5, 1, 2, 4, 8, 16)


def test_the_baseline_of_the_same_splits_is_fitted_once(tmp_path, monkeypatch):
    monkeypatch.setenv("PEFT_BENCH_CACHE", str(tmp_path))
    train = split(["good great fine"] * 10 + ["bad awful poor"] * 10, [1] * 10 + [0] * 10)
    test = split(["great and good", "poor and awful"], [1, 0])
    data = PreparedData(train, test, test, TaskInfo(["neg", "pos"]))
    first = cached_tfidf_baseline(data)
    monkeypatch.setattr("bench.stages.baseline.tfidf_baseline",
                        lambda *a, **k: pytest.fail("fitted again"))
    assert cached_tfidf_baseline(data) == {**first, "reused": True} and not first["reused"]
    other = PreparedData(train, test, split(["good", "bad"], [1, 0]), TaskInfo(["neg", "pos"]))
    with pytest.raises(pytest.fail.Exception, match="fitted again"):
        cached_tfidf_baseline(other)  # other splits, other baseline


def test_atomic_write_sanitizes_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a" / "r.json"
    write_json_atomic(path, {"x": float("nan"), "y": [1.5, float("inf")]})
    assert json.loads(path.read_text()) == {"x": None, "y": [1.5, None]}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_failed_records_are_kept_apart_and_replaced_by_success(tmp_path):
    store = ResultStore(tmp_path)
    record = {"schema_version": 1, "cell_id": "c", "status": "failed", "error": {"message": "x"}}
    store.save(record)
    assert not store.is_done("c") and store.failed_path("c").is_file()
    assert load_records(tmp_path) == [] and len(load_records(tmp_path, include_failed=True)) == 1
    store.save({**record, "status": "ok", "error": None})
    assert store.is_done("c") and not store.failed_path("c").exists()
