"""Each fine-tuning method on tiny models: a few optimizer steps train what should train and
nothing else, the saved model reloads to the same predictions, and the merged deployment model
is a plain fp32 transformers model with the same logits."""
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from safetensors.torch import load_file
from transformers import PreTrainedModel, TrainerState

from bench.errors import BenchInputError
from bench.task import TaskInfo
from bench.models.loading import count_parameters, load_tokenizer
from bench.registry import METHODS
from bench.specs import ModelSpec
from bench.table_checks import from_mapping
from bench.methods._peft_common import LoraParams, lora_config

HEAD_PREFIXES = ("classifier", "score",  # full, bitfit; the PeftModel's head, by peft version:
                 "base_model.model.classifier", "base_model.model.score",  # (prompt learning:
                 "base_model.classifier", "base_model.score")  # base_model.<head>)

TASK = TaskInfo(["negative", "neutral", "positive"])
TEXTS = ["I love this phone", "worst service ever", "the bus is at noon", "what a great day",
         "never again, awful", "meeting moved to 3pm", "so happy for you!", "this is terrible"]
LABELS = torch.tensor([2, 0, 1, 2, 0, 1, 2, 0])
MODELS = ("tiny-bert", "tiny-gpt2")
# Every registered method is trained on each tiny model with its default keys, except where this
# table says why not. A new method is tested on both until it names its reason here.
CONV1D = "peft cannot adapt GPT-2's Conv1D (refused by model_problems)"
TEST_TIME = "kept to tiny-bert for test time"
NOT_ON = {
    ("loha", "tiny-gpt2"): CONV1D, ("lokr", "tiny-gpt2"): CONV1D, ("oft", "tiny-gpt2"): CONV1D,
    ("prompt_tuning", "tiny-gpt2"): "GPT-2 finds its last token from input_ids, which prompt "
                                    "tuning replaces (refused by model_problems)",
    ("full", "tiny-gpt2"): TEST_TIME, ("ia3", "tiny-gpt2"): TEST_TIME,
    ("qlora", "tiny-gpt2"): TEST_TIME,
}
# Suite keys that take a path of their own, tested beside the defaults.
KEY_CASES = [("lora", "tiny-bert", {"init": "pissa", "use_rslora": True}),
             ("lora", "tiny-bert", {"init": "olora"}), ("lora", "tiny-gpt2", {"init": "pissa"})]
# Methods that do not merge into a plain model (virtual tokens: nothing to merge into).
NOT_MERGING = {"prompt_tuning", "prefix_tuning"}
# Where a method saves its weights, when not as a peft adapter.
SAVED_FILE = {"full": "model.safetensors", "bitfit": "bitfit.safetensors"}
CASES = [(method, model, {}) for method in METHODS.names() for model in MODELS
         if (method, model) not in NOT_ON] + KEY_CASES


def case_id(case) -> str:
    method, source, keys = case
    return "-".join([method, source, *(f"{k}={v}" for k, v in keys.items())])


@dataclass
class Trained:
    method: str
    model: nn.Module
    batch: dict
    before: dict[str, torch.Tensor]  # every parameter before training
    after: dict[str, torch.Tensor]
    trainable: set[str]
    loss_before: float
    loss_after: float
    logits: torch.Tensor  # the trained model's, eval mode
    reloaded_logits: torch.Tensor
    saved: Path


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def eval_forward(model: nn.Module, batch: dict):
    model.eval()
    with torch.no_grad():
        return model(**batch, labels=LABELS)


@pytest.fixture(scope="module", params=CASES, ids=[case_id(c) for c in CASES])
def trained(request, tmp_path_factory) -> Trained:
    """Build, evaluate first (QLoRA's AVX512-BF16 trap), train 8 AdamW steps (with the
    method's training callbacks, called where the Trainer calls them), save, reload.
    Everything is measured here so that only the merge test changes the model."""
    method_name, source, keys = request.param
    method, spec = METHODS.get(method_name)(), ModelSpec(name=source, source=source)
    params = from_mapping(method.Params, keys, f"methods.{method_name}")
    batch = dict(load_tokenizer(spec)(TEXTS, padding=True, return_tensors="pt"))
    torch.manual_seed(0)
    model = method.build(spec, TASK, params, "cpu")
    before = snapshot(model)
    loss_before = eval_forward(model, batch).loss.item()
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    callbacks = method.training_callbacks(model, 8)
    for step in range(8):
        model(**batch, labels=LABELS).loss.backward()
        optimizer.step()
        for callback in callbacks:
            callback.on_optimizer_step(None, TrainerState(global_step=step), None, model=model)
        optimizer.zero_grad()
    trained_out = eval_forward(model, batch)
    saved = tmp_path_factory.mktemp(f"{method_name}-{source}")
    method.save(model, saved)
    reloaded = method.load(spec, TASK, params, saved, "cpu")
    return Trained(method_name, model, batch, before, snapshot(model),
                   {n for n, p in model.named_parameters() if p.requires_grad},
                   loss_before, trained_out.loss.item(), trained_out.logits,
                   eval_forward(reloaded, batch).logits, saved)


def test_training_lowers_the_loss(trained):
    assert trained.loss_after < trained.loss_before


def test_training_moves_trainable_weights_only(trained):
    assert trained.trainable
    for name, value in trained.after.items():
        changed = not torch.equal(value, trained.before[name])
        assert changed == (name in trained.trainable), name


def test_only_full_fine_tuning_trains_everything(trained):
    trainable, total = count_parameters(trained.model)
    assert (trainable == total) == (trained.method == "full")
    assert any("classifier" in n or "score" in n for n in trained.trainable)  # the head trains


def test_reloaded_model_predicts_the_same(trained):
    torch.testing.assert_close(trained.reloaded_logits, trained.logits, rtol=0, atol=1e-5)


def test_saved_files_are_safetensors_with_the_head(trained):
    names = {p.name for p in trained.saved.iterdir()}
    assert not {n for n in names if n.endswith((".bin", ".pt"))}
    keys = load_file(trained.saved / SAVED_FILE.get(trained.method, "adapter_model.safetensors"))
    assert any(k.startswith(HEAD_PREFIXES) for k in keys)
    if trained.method == "bitfit":  # what trained only: biases and the head
        assert set(keys) == trained.trainable
        assert all(k.endswith("bias") or k.startswith(("classifier", "score")) for k in keys)


def test_merged_model_is_plain_fp32_with_the_same_logits(trained):
    method = METHODS.get(trained.method)()
    merged = method.merge_for_deployment(trained.model)
    assert method.merges == (trained.method not in NOT_MERGING)
    if not method.merges:  # virtual tokens: the PeftModel itself, fp32, eval
        assert not merged.training
        assert all(p.dtype == torch.float32 for p in merged.parameters())
        logits = eval_forward(merged, trained.batch).logits
        torch.testing.assert_close(logits, trained.logits, rtol=0, atol=1e-6)
        return
    assert isinstance(merged, PreTrainedModel)
    libraries = {type(m).__module__.split(".")[0] for m in merged.modules()}
    assert libraries <= {"torch", "transformers"}, libraries  # no peft or bitsandbytes layers
    assert all(p.dtype == torch.float32 and p.requires_grad for p in merged.parameters())
    assert count_parameters(merged)[1] == merged.num_parameters()
    logits = eval_forward(merged, trained.batch).logits
    torch.testing.assert_close(logits, trained.logits, rtol=0, atol=1e-4)


def test_lora_and_qlora_count_the_same_parameters():
    """LoRA r=8 on query/value of tiny-bert (hidden 64, 2 layers) + the 3-class head; the
    4-bit base counts at its real size."""
    spec = ModelSpec(name="b", source="tiny-bert")
    lora = METHODS.get("lora")().build(spec, TASK, LoraParams(), "cpu")
    qlora = METHODS.get("qlora")().build(spec, TASK, METHODS.get("qlora").Params(), "cpu")
    expected_trainable = 2 * 2 * (8 * 64 + 64 * 8) + (64 * 3 + 3)
    assert count_parameters(lora)[0] == expected_trainable
    assert count_parameters(qlora) == count_parameters(lora)


def test_suite_keys_become_peft_configs():
    params = from_mapping(METHODS.get("qlora").Params, {
        "r": 4, "alpha": 8, "bias": "lora_only", "target_modules": ["key"],
        "compute_dtype": "bfloat16"}, "methods.qlora")
    config = lora_config(params, ["classifier"])
    assert (config.r, config.lora_alpha, config.bias) == (4, 8, "lora_only")
    assert config.target_modules == {"key"} and "classifier" in config.modules_to_save
    with pytest.raises(BenchInputError, match="methods.lora.bias"):
        from_mapping(LoraParams, {"bias": "some"}, "methods.lora")


def test_the_exception_tables_name_registered_methods():
    named = {m for m, _ in NOT_ON} | {m for m, _, _ in KEY_CASES} | NOT_MERGING | set(SAVED_FILE)
    assert named <= set(METHODS.names()), sorted(named - set(METHODS.names()))


def test_alpha_per_r_keeps_the_lora_scaling_fixed_across_ranks():
    scalings = []
    for r in (4, 8, 16):
        params = from_mapping(LoraParams, {"r": r, "alpha_per_r": 2}, "methods.lora")
        config = lora_config(params, ["classifier"])
        assert params.alpha == config.lora_alpha == 2 * r
        scalings.append(config.lora_alpha / config.r)
    assert scalings == [2, 2, 2]
    assert LoraParams(r=16).alpha == 16  # without it, alpha stays what the suite says


def test_qlora_without_bitsandbytes_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    with pytest.raises(BenchInputError, match="pip install bitsandbytes"):
        METHODS.get("qlora")().check_available("cpu")


@pytest.mark.slow
@pytest.mark.parametrize("labels, trainable", [(2, 74_498), (3, 74_883)])
def test_minilm_lora_counts(labels, trainable):
    """LoRA r=8 on query/value: 6 layers x 2 x (8x384 + 384x8) = 73,728, plus the head."""
    task = TaskInfo([str(i) for i in range(labels)])
    model = METHODS.get("lora")().build(ModelSpec(name="m", source="minilm"), task, LoraParams(), "cpu")
    counted = count_parameters(model)
    assert counted[0] == trainable and round(counted[1] / 1e6, 2) == 22.79
