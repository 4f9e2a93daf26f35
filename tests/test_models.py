"""Model sources (built-ins, folders, hub ids), tokenizers, classifiers and parameter counts."""
import logging
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest
import torch
from huggingface_hub.errors import RepositoryNotFoundError
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, BitsAndBytesConfig, DistilBertConfig

from bench.errors import BenchInputError
from bench.task import TaskInfo
from bench.models.loading import (classifier_head_names, classifier_skeleton, count_parameters,
                          load_classifier, load_tokenizer, resolve_model_source)
from bench.specs import ModelSpec

TASK = TaskInfo(["negative", "neutral", "positive"])
BERT = ModelSpec(name="bert", source="tiny-bert")
GPT2 = ModelSpec(name="gpt2", source="tiny-gpt2")


def one_line_error(spec: ModelSpec) -> str:
    with pytest.raises(BenchInputError) as error:
        resolve_model_source(spec)
    message = str(error.value)
    assert "\n" not in message and f"model {spec.name!r}" in message
    return message


def test_tiny_models_are_built_once_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv("PEFT_BENCH_CACHE", str(tmp_path))
    folder = Path(resolve_model_source(BERT))
    assert folder == tmp_path / "models" / "tiny-bert"
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert resolve_model_source(BERT) == str(folder)
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["tiny-bert"]  # no staging left


def test_tiny_models_are_deterministic(tmp_path, monkeypatch):
    built = []
    for root in ("a", "b"):
        monkeypatch.setenv("PEFT_BENCH_CACHE", str(tmp_path / root))
        built.append(Path(resolve_model_source(GPT2)))
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (built[0] / name).read_bytes() == (built[1] / name).read_bytes(), name


def test_tiny_gpt2_tokenizer_is_byte_level_without_pad():
    raw = AutoTokenizer.from_pretrained(resolve_model_source(GPT2))
    assert raw.pad_token is None and raw.eos_token == "<|endoftext|>"
    text = "Ça va?! #blessed 🙂 http://t.co/x"
    assert raw.decode(raw(text)["input_ids"]) == text  # bytes: nothing is unknown
    tokenizer = load_tokenizer(GPT2)
    assert tokenizer.pad_token == tokenizer.eos_token


def test_gpt2_classifier_reads_the_last_real_token():
    """Right padding must not change a text's logits: needs config.pad_token_id."""
    tokenizer, model = load_tokenizer(GPT2), load_classifier(GPT2, TASK).eval()
    assert model.config.pad_token_id == tokenizer.eos_token_id
    texts = ["short one", "a much longer text that forces padding of the first"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    alone = tokenizer(texts[:1], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits[0], model(**alone).logits[0])


def test_classifier_has_the_task_labels():
    model = load_classifier(BERT, TASK)
    assert model.config.num_labels == 3 and model.config.id2label[2] == "positive"
    assert model.config.label2id["neutral"] == 1
    assert next(model.parameters()).dtype == torch.float32


def test_multi_label_classifier_uses_a_sigmoid_loss():
    model = load_classifier(BERT, TaskInfo(["a", "b"], multi_label=True))
    assert model.config.problem_type == "multi_label_classification"
    batch = load_tokenizer(BERT)(["x y", "z"], padding=True, return_tensors="pt")
    labels = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    out = model(**batch, labels=labels)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, labels)
    torch.testing.assert_close(out.loss, expected)


def test_random_init_is_seeded_and_not_pretrained():
    spec = ModelSpec(name="r", source="minilm", random_init=True)
    first, second = load_classifier(spec, TASK), load_classifier(spec, TASK)
    pretrained = load_classifier(ModelSpec(name="p", source="minilm"), TASK)
    weight = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(first.state_dict()[weight], second.state_dict()[weight])
    assert not torch.equal(first.state_dict()[weight], pretrained.state_dict()[weight])


def test_local_folder_is_loaded_and_missing_body_weights_are_reported(tmp_path, caplog):
    folder = tmp_path / "mine"
    load_classifier(BERT, TASK).bert.save_pretrained(folder)
    load_tokenizer(BERT).save_pretrained(folder)
    weights = load_file(folder / "model.safetensors")
    del weights["encoder.layer.1.output.dense.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    reports = []
    handler = logging.Handler()
    handler.emit = lambda record: reports.append(record.getMessage())
    transformers_logger = logging.getLogger("transformers.modeling_utils")
    transformers_logger.addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="bench.models.loading"):
            load_classifier(ModelSpec(name="mine", source=str(folder)), TASK)
    finally:
        transformers_logger.removeHandler(handler)
    assert not [r for r in reports if "LOAD REPORT" in r]  # the new head is expected
    assert "encoder.layer.1.output.dense.weight" in caplog.text and "classifier.weight" not in caplog.text


def test_folder_without_config_is_refused(tmp_path):
    message = one_line_error(ModelSpec(name="m", source=str(tmp_path)))
    assert "config.json" in message


@pytest.mark.parametrize("config, expected", [
    ('{"model_type": "no-such-arch"}', "does not recognize this architecture"),
    ('{"model_type": "mine", "auto_map": {"AutoConfig": "mine.Config"}}', "trust_remote_code = true")])
def test_config_transformers_cannot_use_is_refused(tmp_path, config, expected):
    (tmp_path / "config.json").write_text(config)
    assert expected in one_line_error(ModelSpec(name="m", source=str(tmp_path)))


def test_hub_id_offline_and_not_cached(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    message = one_line_error(ModelSpec(name="m", source="nobody/no-such-model-xyz"))
    assert "cannot load 'nobody/no-such-model-xyz' (offline, not cached)" in message


def test_invalid_and_unknown_hub_ids(monkeypatch):
    assert "neither a built-in" in one_line_error(ModelSpec(name="m", source="a/b/c"))

    def not_found(repo_id, filename, revision=None):
        raise RepositoryNotFoundError("404", response=SimpleNamespace(headers={}, request=None))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", not_found)
    message = one_line_error(ModelSpec(name="m", source="nobody/missing"))
    assert "'nobody/missing' does not exist" in message


def test_classifier_head_names():
    assert classifier_head_names(load_classifier(BERT, TASK)) == ["classifier"]
    assert classifier_head_names(classifier_skeleton(GPT2, TASK)) == ["score"]
    with torch.device("meta"):
        from transformers import AutoModelForSequenceClassification

        distilbert = AutoModelForSequenceClassification.from_config(
            DistilBertConfig(dim=32, hidden_dim=64, n_layers=1, n_heads=2))
    assert classifier_head_names(distilbert) == ["pre_classifier", "classifier"]


def test_count_parameters_counts_4bit_weights_at_their_real_size():
    fp32 = load_classifier(BERT, TASK)
    four_bit = load_classifier(BERT, TASK, quantization_config=BitsAndBytesConfig(
        load_in_4bit=True, llm_int8_skip_modules=["classifier"]))
    assert count_parameters(fp32) == (fp32.num_parameters(),) * 2
    assert count_parameters(four_bit)[1] == fp32.num_parameters()
    assert sum(p.numel() for p in four_bit.parameters()) < fp32.num_parameters()  # packed


def test_bert_base_config_is_an_architecture_for_random_init_only():
    with pytest.raises(BenchInputError, match="set random_init = true"):
        resolve_model_source(ModelSpec(name="b", source="bert-base-config"))
    spec = ModelSpec(name="b", source="bert-base-config", random_init=True)
    model = classifier_skeleton(spec, TaskInfo(["a", "b"]))
    assert model.config.num_hidden_layers == 12 and model.config.hidden_size == 768
    assert 109e6 < model.num_parameters() < 110e6
