"""The TF-IDF floor reads what the model reads: texts cut where the tokenizer's truncation
cuts them, the whole-text floor kept beside it, and a cached floor says it was reused."""
import pytest

from bench.stages.baseline import cached_tfidf_baseline, cut_to_model_view
from bench.data import PreparedData, Split
from bench.task import TaskInfo
from bench.models.loading import load_tokenizer
from bench.specs import ModelSpec

TASK = TaskInfo(["neg", "pos"])


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(ModelSpec(name="b", source="tiny-bert"))


def test_texts_are_cut_at_the_models_token_limit(tokenizer):
    split = Split(["the first words then a long tail nobody reads", "short"], [0, 1])
    cut, count = cut_to_model_view(split, tokenizer, max_length=5)  # [CLS] 3 words [SEP]
    assert cut.texts == ["the first words", "short"] and count == 1
    pairs = Split(["question one two three", "q"], [0, 1], ["answer four five six", "a"])
    cut, count = cut_to_model_view(pairs, tokenizer, max_length=7)  # 2 specials + sep + 4
    assert all(len(tokenizer(t, p)["input_ids"]) <= 7 for t, p in zip(cut.texts, cut.text_pairs))
    assert cut.texts[1] == "q" and cut.text_pairs[1] == "a" and count == 1


def test_the_floor_cannot_read_past_the_truncation(tokenizer, tmp_path, monkeypatch):
    """The label is given away only by the last word: whole-text TF-IDF finds it, the floor
    that reads 4 tokens cannot."""
    monkeypatch.setenv("PEFT_BENCH_CACHE", str(tmp_path))
    def split(n):
        labels = [i % 2 for i in range(n)]
        return Split([f"same words here {'good' if y else 'bad'}" for y in labels], labels)
    data = PreparedData(split(40), split(10), split(20), TASK)
    floor = cached_tfidf_baseline(data, tokenizer=tokenizer, max_length=5)
    assert floor["max_length"] == 5 and floor["truncated_texts"]["test"] == 20
    assert floor["whole_text"]["test"]["accuracy"] == 1.0
    assert floor["test"]["accuracy"] == 0.5 and floor["reused"] is False
    again = cached_tfidf_baseline(data, tokenizer=tokenizer, max_length=5)
    assert again["reused"] is True and again["test"] == floor["test"]
    whole = cached_tfidf_baseline(data)
    assert whole["max_length"] is None and whole["test"]["accuracy"] == 1.0
    assert "intervals" in floor["test"]
