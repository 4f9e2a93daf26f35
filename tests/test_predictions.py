"""Per-example predictions: kept in the split's own order (so two cells pair row by row),
saved compactly beside the record, moved there by the store, never left by a failed cell."""
import numpy as np
import pytest
from datasets import Dataset

from bench.stages.evaluate import evaluate
from bench.models.inference import iterate_batches, labels_of, length_order
from bench.task import TaskInfo
from bench.models.loading import load_tokenizer
from bench.record.predictions import SplitPredictions, load_predictions, save_predictions
from bench.specs import ModelSpec
from bench.stats.bootstrap import paired_verdict
from bench.record.store import ResultStore

TASK = TaskInfo(["a", "b", "c"])


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(ModelSpec(name="b", source="tiny-bert"))


def rows_of_varied_length(n: int = 40) -> Dataset:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 20, n)
    ids = [[101] + [1000 + i] * int(length) + [102] for i, length in enumerate(lengths)]
    return Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids],
                              "labels": [i % 3 for i in range(n)]})


def predict_from_content(batch):
    """Logits that depend on the row itself (its first word id), not on its position."""
    first_word = batch["input_ids"][:, 1] - 1000
    return np.eye(3)[first_word % 3] * 4.0 + (first_word % 7)[:, None] * 0.01


def test_predictions_come_back_in_the_split_order(tokenizer):
    data = rows_of_varied_length()
    order = length_order(data)
    assert not np.array_equal(order, np.arange(len(data)))  # sorting did move rows
    rows = data.select(order.tolist())
    result = evaluate(predict_from_content, iterate_batches(rows, tokenizer, 8),
                      labels_of(rows), TASK, order=order)
    expected = predict_from_content({"input_ids": np.array([[101, 1000 + i] for i in range(40)])})
    np.testing.assert_array_equal(result.predictions.labels, labels_of(data))
    np.testing.assert_array_equal(result.predictions.probs.argmax(1), expected.argmax(1))
    assert result.scores.score("accuracy") == 1.0
    low, high = result.scores.interval("f1_macro")
    assert low <= result.scores.score("f1_macro") <= high


def test_a_sorted_and_an_unsorted_run_pair_example_by_example(tokenizer):
    data = rows_of_varied_length()
    order = length_order(data)
    sorted_run = evaluate(predict_from_content,
                          iterate_batches(data.select(order.tolist()), tokenizer, 8),
                          labels_of(data.select(order.tolist())), TASK, order=order)
    plain_run = evaluate(predict_from_content, iterate_batches(data, tokenizer, 16),
                         labels_of(data), TASK)
    np.testing.assert_allclose(sorted_run.predictions.probs, plain_run.predictions.probs,
                               atol=1e-6)
    verdict = paired_verdict(plain_run.predictions.labels, sorted_run.predictions.probs,
                             plain_run.predictions.probs)
    assert verdict.verdict == "tied" and verdict.mcnemar_p == 1.0


def test_saved_predictions_are_compact_and_load_back(tmp_path):
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), 1500).astype(np.float32)
    single = SplitPredictions(rng.integers(0, 3, 1500), probs)
    multi = SplitPredictions(rng.integers(0, 2, (10, 4)), rng.random((10, 4)))
    path = tmp_path / "c.predictions.npz"
    save_predictions(path, {"test": single, "deploy/int8/torch/test": multi})
    loaded = load_predictions(path)
    assert set(loaded) == {"test", "deploy/int8/torch/test"}
    np.testing.assert_array_equal(loaded["test"].labels, single.labels)
    np.testing.assert_array_equal(loaded["test"].probs, probs)  # float32: the record's own
    assert loaded["deploy/int8/torch/test"].labels.shape == (10, 4)
    assert path.stat().st_size < 1500 * 3 * 4 + 1500 * 4 + 2000
    assert [p.name for p in tmp_path.iterdir()] == ["c.predictions.npz"]


def test_the_store_moves_staged_predictions_beside_a_finished_record(tmp_path):
    store = ResultStore(tmp_path)
    record = {"schema_version": 1, "cell_id": "c", "status": "failed", "error": {"message": "x"},
              "predictions_file": "c.predictions.npz"}
    staged = store.staged_predictions_path("c")
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"x")
    store.save(record)  # a failed cell leaves no predictions
    assert not staged.exists() and not store.predictions_path("c").exists()
    staged.write_bytes(b"x")
    store.save({**record, "status": "ok"})
    assert store.predictions_path("c").read_bytes() == b"x" and not staged.exists()
    assert store.predictions_path("c").name == "c.predictions.npz"
    staged.write_bytes(b"half")  # a run killed between staging and saving
    store.clean_temp_files()
    assert not staged.exists()


def test_a_predictions_file_is_readable_like_any_file_the_user_writes(tmp_path):
    import os

    from bench.atomic import current_umask

    path = tmp_path / "cell.predictions.npz"
    save_predictions(path, {"test": SplitPredictions(np.array([0, 1]), np.eye(2))})
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~current_umask()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    assert (load_predictions(path)["test"].labels == [0, 1]).all()
