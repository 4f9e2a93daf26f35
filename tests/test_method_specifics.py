"""What the methods beyond LoRA/IA3/QLoRA add (the per-method build/train/save/merge checks are
parametrised in test_methods.py): AdaLoRA's rank allocation inside the cell's training, the
unmerged prompt-learning models on ONNX Runtime, the checks at validation, `bench ls`."""
import pytest
import torch

from bench.cli import main
from bench.models.loading import load_tokenizer
from bench.registry import METHODS
from bench.specs import ModelSpec, TrainingConfig
from bench.table_checks import from_mapping
from bench.methods.adalora import AdaLoraParams, schedule
from toy import TASK, trainer

BERT = ModelSpec(name="tiny-bert", source="tiny-bert")


def test_bench_ls_lists_every_method(capsys):
    assert main(["ls"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("methods: "))
    names = line.removeprefix("methods: ").split(", ")
    assert len(names) >= 13
    assert {"adalora", "bitfit", "dora", "loha", "lokr", "oft", "prefix_tuning",
            "prompt_tuning", "vera"} <= set(names)


def test_only_prompt_learning_does_not_merge():
    unmerged = {name for name in METHODS.names() if not METHODS.get(name).merges}
    assert unmerged == {"prompt_tuning", "prefix_tuning"}


def test_adalora_reallocates_ranks_over_the_trainers_real_steps():
    """The Trainer runs the method's callback: the schedule spans its steps, and at the end
    the ranks left add up to the budget (target_r per layer on average)."""
    method = METHODS.get("adalora")()
    params = AdaLoraParams(init_r=6, target_r=2, warmup_fraction=0.0, final_fraction=0.25)
    torch.manual_seed(0)
    model = method.build(BERT, TASK, params, "cpu")
    config = TrainingConfig(epochs=2, batch_size=8, learning_rate=5e-3, eval_each_epoch=False,
                            logging_steps=50)
    report = trainer(load_tokenizer(BERT), config, train=48).train(model, method)
    adapter = model.peft_config["default"]
    assert report.steps == adapter.total_step == 12 and adapter.tfinal == 3
    kept = sum(int(mask.sum()) if hasattr(mask, "sum") else sum(mask)
               for mask in adapter.rank_pattern.values())
    assert len(adapter.rank_pattern) == 4 and kept == 4 * 2  # 2 layers x query/value


def test_adalora_schedule_fits_short_runs():
    assert schedule(AdaLoraParams(), 100) == {"total_step": 100, "tinit": 10, "tfinal": 20}
    for steps in range(1, 30):  # peft's condition, however few the steps
        steps_of = schedule(AdaLoraParams(warmup_fraction=0.5, final_fraction=0.45), steps)
        assert steps_of["tinit"] < steps_of["total_step"] - steps_of["tfinal"]


@pytest.mark.parametrize("method, keys, message", [
    ("adalora", {"init_r": 4, "target_r": 8}, "methods.adalora.target_r: expected at most"),
    ("adalora", {"warmup_fraction": 0.6, "final_fraction": 0.5}, "below 1"),
    ("qlora", {"init": "pissa"}, "QLoRA takes \"default\" only"),
    ("lora", {"init": "loftq"}, "expected one of 'default', 'pissa', 'olora'"),
])
def test_bad_keys_are_one_line(method, keys, message):
    from bench.errors import BenchInputError

    with pytest.raises(BenchInputError, match=message):
        from_mapping(METHODS.get(method).Params, keys, f"methods.{method}")


GPT2_LEAVES = {"transformer.h.0.attn.c_attn": "Conv1D", "transformer.h.0.mlp.c_fc": "Conv1D",
               "transformer.wte": "Embedding", "score": "Linear"}
BERT_LEAVES = {"bert.encoder.layer.0.attention.self.query": "Linear",
               "bert.encoder.layer.0.attention.self.value": "Linear", "classifier": "Linear"}


@pytest.mark.parametrize("method, keys, key", [
    ("loha", {}, "target_modules"), ("lokr", {}, "target_modules"),
    ("oft", {}, "target_modules"), ("lora", {"init": "olora"}, "init"),
    ("prompt_tuning", {}, "virtual_tokens")])
def test_what_cannot_work_on_gpt2_is_found_at_validation(method, keys, key):
    plugin = METHODS.get(method)()
    params = from_mapping(plugin.Params, keys, f"methods.{method}")
    problems = plugin.model_problems(params, list(GPT2_LEAVES), GPT2_LEAVES)
    assert [k for k, _ in problems] == [key]
    assert plugin.model_problems(params, list(BERT_LEAVES), BERT_LEAVES) == []


def test_loha_on_gpt2_linear_layers_only_is_fine():
    plugin = METHODS.get("loha")()
    params = from_mapping(plugin.Params, {"target_modules": ["score"]}, "methods.loha")
    assert plugin.model_problems(params, list(GPT2_LEAVES), GPT2_LEAVES) == []


def test_an_unmerged_prefix_tuning_model_exports_to_onnx(tmp_path):
    """Prompt learning deploys the PeftModel: the dynamo exporter takes it, logits match."""
    import numpy as np

    from bench.backends.onnxruntime_backend import OnnxRuntimeBackend

    method = METHODS.get("prefix_tuning")()
    torch.manual_seed(0)
    model = method.merge_for_deployment(method.build(BERT, TASK, method.Params(), "cpu"))
    tokenizer = load_tokenizer(BERT)
    examples = [{k: np.asarray(v) for k, v in tokenizer(texts, padding=True,
                                                       return_tensors="np").items()}
                for texts in (["good", "a bad long day"], ["fine thanks", "no"])]
    predictor = OnnxRuntimeBackend().prepare(model, examples, tmp_path, "cpu", 1)
    assert predictor.onnx_max_abs_diff < 1e-4


def test_an_unmerged_model_deploys_in_fp32_labelled_and_its_compressions_say_why(tmp_path):
    from bench.stages.variants import deploy_cell
    from bench.specs import DeploySpec
    from toy import splits

    method = METHODS.get("prompt_tuning")()
    torch.manual_seed(0)
    model = method.merge_for_deployment(method.build(BERT, TASK, method.Params(), "cpu"))
    tokenizer = load_tokenizer(BERT)
    spec = DeploySpec(backends=["torch"], variants=[["int8"], ["prune"]], batch_sizes=[1],
                      sequence_length=16, warmup_calls=0, rounds=6, round_min_calls=1,
                      round_min_duration_s=0.0, timing_processes=1)
    deployment = deploy_cell(model, tokenizer, TASK, splits(tokenizer)["test"], spec, {}, None,
                             tmp_path, "cpu")
    by_variant = {r.variant: r for r in deployment.variants}
    assert by_variant["fp32"].ok and by_variant["fp32"].merged is False
    for variant in ("int8", "prune"):
        assert by_variant[variant].status == "skipped"
        assert "deployed unmerged" in by_variant[variant].reason
