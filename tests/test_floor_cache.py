"""The TF-IDF floor is fitted once per split and read back by every other cell of that split:
the floor read back is the one a refit gives, whatever the training seed, and its predictions
lie beside it."""
import random

import numpy as np
import pytest

from bench.data import PreparedData, Split
from bench.record.predictions import load_predictions, sidecar_path
from bench.stages.baseline import cached_tfidf_baseline, tfidf_baseline
from bench.stages.evaluate import compute_metrics
from bench.task import TaskInfo

TASK = TaskInfo(["neg", "neu", "pos"])
WORDS = {0: "bad awful poor dull", 1: "fine okay plain average", 2: "good great superb fun"}


def noisy_split(n: int, seed: int) -> Split:
    """Three classes whose words overlap: a floor that is neither perfect nor at chance."""
    rng = random.Random(seed)
    labels = [rng.randrange(3) for _ in range(n)]
    texts = [" ".join(rng.sample(WORDS[y].split(), 2) + rng.sample(WORDS[rng.randrange(3)]
                                                                    .split(), 2))
             for y in labels]
    return Split(texts, labels)


def data() -> PreparedData:
    return PreparedData(noisy_split(120, 1), noisy_split(40, 2), noisy_split(60, 3), TASK)


@pytest.fixture(scope="module")
def floors(tmp_path_factory):
    """A floor folder holding the floor of data(), and that floor as its fit returned it."""
    folder = tmp_path_factory.mktemp("floors")
    return folder, cached_tfidf_baseline(data(), folder)


def test_a_floor_read_back_is_the_floor_a_refit_gives_for_any_seed(floors):
    folder, fitted = floors
    read = cached_tfidf_baseline(data(), folder)
    assert not fitted["reused"] and read["reused"]
    assert read == {**fitted, "reused": True}
    assert 0.4 < fitted["test"]["accuracy"] < 1.0
    # what a cell of another training seed would have fitted itself
    assert tfidf_baseline(data(), seed=7)["test"] == read["test"]
    assert len(list(folder.glob("*.json"))) == 1


def test_the_floors_predictions_reproduce_its_test_scores(floors):
    folder, floor = floors
    predictions = load_predictions(sidecar_path(next(folder.glob("*.json"))))
    assert set(predictions) == {"test", "validation"}
    test = predictions["test"]
    assert test.labels.tolist() == data().test.labels
    recomputed = compute_metrics(np.log(test.probs), test.labels, TASK)
    assert recomputed.score("accuracy") == floor["test"]["accuracy"]
    assert recomputed.score("f1_macro") == floor["test"]["f1_macro"]


def test_another_split_fits_its_own_floor(floors):
    folder, _ = floors
    other = PreparedData(noisy_split(120, 1), noisy_split(40, 2), noisy_split(60, 4), TASK)
    assert not cached_tfidf_baseline(other, folder)["reused"]
    assert len(list(folder.glob("*.json"))) == 2
