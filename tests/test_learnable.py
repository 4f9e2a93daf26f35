"""A task a tiny model must learn, through the whole line (`bench run` of a suite): every score
is checked against the true labels, so a misalignment between predictions and labels (rows
sorted by length for evaluation, a label map in another order, a wrong argmax axis) turns a
learnt task into chance and fails here.

The label of each text is decided by its first word, followed by random filler words of varied
length; the labels are names whose sorted order differs from their order of appearance. Chance
is 1/3; the margin below was chosen from repeated runs (seeds varied, see the module's
constants), which all scored well above it.
"""
import csv
import random
from pathlib import Path

import pytest

from bench.cli import main
from bench.record.store import load_records

KEYWORDS = {"zebra": "sport", "apple": "arts", "mango": "news"}  # label order != sorted order
FILLER = ("the a of to in on at by with from for and or but so then when where which who "
          "table river green small large quick slow house chair window paper light stone "
          "cloud music street garden yellow winter summer morning evening city village").split()
CHANCE = 1 / 3
MARGIN = 0.3  # every run scored far above chance + margin (see the module docstring)
SEED = 7

SUITE = """
[suite]
name = "learnable"
[defaults.training]
epochs = 5
batch_size = 16
learning_rate = 3e-3
warmup_ratio = 0.1
threads = 2
logging_steps = 50
seed = {seed}
baseline = false
evaluate_before = false
inference_examples = 0
[defaults.dataset]
train_size = 240
validation_size = 60
test_size = 90
max_length = 16
[models.tiny-bert]
source = "tiny-bert"
[datasets.keywords]
source = "csv"
path = "keywords.csv"
[methods.full]
[deploy]
backends = ["torch", "onnxruntime"]
variants = [["int8"]]
batch_sizes = [1]
sequence_length = 16
warmup_calls = 1
rounds = 6
timing_processes = 1
round_min_calls = 1
round_min_duration_s = 0.0
eval_batch_size = 16
[[matrix]]
models = ["tiny-bert"]
datasets = ["keywords"]
methods = ["full"]
"""


def write_keyword_csv(path: Path, rows: int, seed: int) -> None:
    """The class keyword, then 1 to 10 filler words: rows of many lengths, so that sorting by
    length really reorders them."""
    rng = random.Random(seed)
    keywords = list(KEYWORDS)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(rows):
            keyword = keywords[rng.randrange(3)]
            words = rng.choices(FILLER, k=rng.randint(1, 10))
            writer.writerow([" ".join([keyword, *words]) + f" n{i}", KEYWORDS[keyword]])


@pytest.fixture(scope="module")
def learnt(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("learnable")
    write_keyword_csv(workdir / "keywords.csv", 420, SEED)
    (workdir / "suite.toml").write_text(SUITE.format(seed=SEED))
    monkey = pytest.MonkeyPatch()
    monkey.chdir(workdir)
    try:
        assert main(["run", "suite.toml"]) == 0
    finally:
        monkey.undo()
    (record,) = load_records(workdir / "runs" / "learnable")
    assert record["status"] == "ok", record.get("error")
    return record


def test_the_fine_tuned_model_beats_chance_on_validation_and_test(learnt):
    assert learnt["task"]["label_names"] == sorted(KEYWORDS.values())
    for split in ("validation", "test"):
        scores = learnt["evaluation"][split]
        assert scores["accuracy"] > CHANCE + MARGIN, (split, scores["accuracy"])
        assert scores["f1_macro"] > CHANCE + MARGIN, (split, scores["f1_macro"])
        matrix = scores["confusion_matrix"]
        # most of each true class (a row) lands on its own column: rows are the truth
        assert all(row[i] > sum(row) / 2 for i, row in enumerate(matrix)), matrix


def test_every_backend_and_int8_variant_scores_against_the_true_labels(learnt):
    test = learnt["evaluation"]["test"]
    variants = {(v["variant"], v["backend"]): v for v in learnt["deployment"]}
    assert set(variants) == {(v, b) for v in ("fp32", "int8") for b in ("torch", "onnxruntime")}
    for key, variant in variants.items():
        assert variant["status"] == "ok", (key, variant["reason"])
        metrics = variant["metrics"]
        assert metrics["n"] == test["n"]
        assert metrics["accuracy"] > CHANCE + MARGIN, (key, metrics["accuracy"])
    # the fp32 model scores the same whichever runtime runs it, and as the cell's own test
    for backend in ("torch", "onnxruntime"):
        assert variants[("fp32", backend)]["metrics"]["accuracy"] == pytest.approx(
            test["accuracy"], abs=1e-9)
