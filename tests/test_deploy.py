"""The deployment stage on a tiny BERT: every variant x backend is built, checked, scored and
timed; what cannot run is skipped with its reason; the figures have the shape the report and
`bench compare` read."""
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bench.cli import main
from bench.measure.speedup import OVER_PROCESSES, OVER_ROUNDS, ratio_interval, verdict
from bench.stages.timing_rounds import round_order
from bench.stages.variants import deploy_cell
from bench.errors import VariantSkipped
from bench.models.loading import load_classifier, load_tokenizer
from bench.registry import COMPRESSIONS, quantize_recipe
from bench.specs import DeploySpec, ModelSpec, TrainingConfig
from bench.suite.parser import parse_suite
from bench.table_checks import check_ranges
from bench.record.store import load_records
from toy import TASK, splits, trainer

SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")
FAST = DeploySpec(variants=[["int8"], ["prune"], ["prune", "int8"], ["qat"], ["int8", "prune"]],
                  batch_sizes=[1, 4], sequence_length=16, warmup_calls=1, rounds=6,
                  round_min_calls=2, round_min_duration_s=0.01, eval_batch_size=16,
                  timing_processes=2)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A briefly trained tiny BERT through FAST's variants on torch and onnxruntime."""
    tokenizer = load_tokenizer(SPEC)
    cell = trainer(tokenizer, TrainingConfig(epochs=1, batch_size=8, learning_rate=1e-3,
                                             logging_steps=2, eval_each_epoch=False))
    data = cell.data
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK)
    cell.train(model)
    params = {"prune": COMPRESSIONS.get("prune").Params(ffn_ratio=0.5, round_to=8,
                                                        recovery_epochs=1),
              "qat": COMPRESSIONS.get("qat").Params(epochs=1, learning_rate=1e-4)}
    workdir = tmp_path_factory.mktemp("deploy")
    deployment = deploy_cell(model, tokenizer, TASK, data["test"], FAST, params, cell,
                             workdir, "cpu", keep_predictions=KEPT.__setitem__,
                             validation_data=data["validation"])
    CONTROLS.update({r.variant: r for r in deployment.variants if r.trained_as})
    return {"timing": deployment.timing.to_dict(),  # as the record stores them
            **{(r.variant, r.backend): r.to_dict() for r in deployment.variants
               if not r.trained_as}}


KEPT: dict = {}  # per-example predictions the fixture's deployment handed back
CONTROLS: dict = {}  # the fixture's controls by name


def test_a_retraining_chain_gets_a_scored_untimed_control(deployed):
    """prune (1 recovery epoch) and prune+int8 share one control; qat has its own; int8 and the
    chain that cannot run have none. A control holds test and validation scores and
    predictions, its extra training and its change against fp32, and no timing."""
    assert set(CONTROLS) == {"fp32+prune-training", "fp32+qat-training"}
    for (variant, backend), record in variants(deployed).items():
        expected = {"prune": "fp32+prune-training", "prune+int8": "fp32+prune-training",
                    "qat": "fp32+qat-training"}.get(variant)
        assert record["control"] == expected, (variant, backend)
    control = CONTROLS["fp32+prune-training"]
    assert control.ok and control.backend == "torch" and control.chain == []
    assert control.trained_as == ["prune"]
    assert control.compression_info == {"prune": {"epochs": 1, "learning_rate": 5e-5}}
    for split, metrics in (("test", control.metrics), ("validation", control.validation_metrics)):
        kept = KEPT[f"deploy/fp32+prune-training/torch/{split}"]
        assert (kept.probs.argmax(1) == kept.labels).mean() == metrics.score("accuracy")
    assert not control.latency and "f1_macro" in control.deltas
    assert "fp32+prune-training/torch" not in deployed["timing"]["order"]
    fp32 = KEPT["deploy/fp32/torch/validation"].probs
    assert abs(KEPT["deploy/fp32+prune-training/torch/validation"].probs - fp32).max() > 1e-4


def test_each_variant_keeps_its_test_predictions_in_split_order(deployed):
    fp32 = KEPT["deploy/fp32/torch/test"]
    assert fp32.probs.shape == (24, 3) and list(fp32.labels) == [i % 3 for i in range(24)]
    for (variant, backend), record in variants(deployed).items():
        if record["status"] != "ok":
            continue
        kept = KEPT[f"deploy/{variant}/{backend}/test"]
        assert (kept.probs.argmax(1) == kept.labels).mean() == record["metrics"]["accuracy"]
    onnx = KEPT["deploy/fp32/onnxruntime/test"]  # same model, other backend: same rows
    assert abs(onnx.probs - fp32.probs).max() < 1e-4



def test_each_variant_is_scored_on_validation_too(deployed):
    for (variant, backend), record in variants(deployed).items():
        if record["status"] != "ok":
            continue
        assert record["validation_metrics"]["n"] == 12
        kept = KEPT[f"deploy/{variant}/{backend}/validation"]
        assert (kept.probs.argmax(1) == kept.labels).mean() == \
            record["validation_metrics"]["accuracy"]


def test_every_variant_runs_on_both_backends(deployed):
    expected = {(v, b) for v in ("fp32", "int8", "prune", "prune+int8", "qat", "int8+prune")
                for b in ("torch", "onnxruntime")}
    assert deployed.keys() - {"timing"} == expected
    for key, record in variants(deployed).items():
        if key[0] == "int8+prune":
            continue
        assert record["status"] == "ok", (key, record["reason"])
        assert record["metrics"]["n"] == 24 and 0 <= record["metrics"]["f1_macro"] <= 1
        assert record["footprint"]["file_bytes"] > 0
        assert record["peak_memory"] is None  # CPU: no figure that belongs to the variant
        assert record["reference"] == "fp32/torch" and "f1_macro" in record["deltas"]


def variants(deployed: dict) -> dict:
    return {key: record for key, record in deployed.items() if key != "timing"}


def test_every_variant_is_timed_in_the_same_rounds_of_each_process_under_both_stop_rules(deployed):
    timed = {k: r for k, r in variants(deployed).items() if r["status"] == "ok"}
    assert len(deployed["timing"]["order"]) == len(timed) == 10
    for key, record in timed.items():
        assert record["timings_s"]["prepare"] > 0 and record["timings_s"]["evaluate"] > 0
        for size in ("1", "4"):
            stats = record["latency"][size]
            assert stats["rounds"] == 2 * 6 and len(stats["rounds_p50_ms"]) == 12
            assert stats["rounds_process"] == [0] * 6 + [1] * 6
            assert len(stats["rounds_busy"]) == 12 and len(stats["process_p50_ms"]) == 2
            assert stats["calls"] >= 12 * FAST.round_min_calls  # the count rule, every round
            assert stats["duration_s"] >= 12 * FAST.round_min_duration_s  # the duration rule
            assert stats["warmup_calls"] == 1 and stats["cold_ms"] > 0
            assert min(stats["rounds_p50_ms"]) >= stats["min_ms"]
            assert math.isclose(stats["samples_per_s"], int(size) * 1000 / stats["p50_ms"])


def test_speedups_carry_an_interval_over_processes_that_the_record_recomputes(deployed):
    reference = deployed[("fp32", "torch")]
    for size in ("1", "4"):
        assert reference["speedup"][size]["ratio"] == 1.0
        assert reference["speedup"][size]["verdict"] == "no measurable difference"
    for key, record in variants(deployed).items():
        for size, result in (record["speedup"] or {}).items():
            ratios = [a / b for a, b in zip(reference["latency"][size]["rounds_p50_ms"],
                                            record["latency"][size]["rounds_p50_ms"])]
            again = ratio_interval([ratios[:6], ratios[6:]])  # the two processes' rounds
            assert result["ratio"] == again.estimate and result["method"] == OVER_PROCESSES
            assert (result["low"], result["high"]) == (again.low, again.high)
            assert result["process_ratios"] == again.process_medians and result["band"] == 0.05
            assert result["verdict"] == verdict(result["low"], result["high"], 0.05)
            assert result["far_slower"] == (result["ratio"] < 1 / 3)
            assert (record["slow_warning"] is not None) == any(
                s["far_slower"] for s in record["speedup"].values())


def test_each_timing_process_records_its_seeds_and_the_load_of_every_slice(deployed):
    timing = deployed["timing"]
    assert timing["timing_processes"] == 2 and timing["equivalence_band"] == 0.05
    processes = timing["processes"]
    assert len(processes) == 2 and len({p["pid"] for p in processes}) == 2
    for process in processes:
        assert set(process["round_seeds"]) == {"1", "4"}
        assert all(len(seeds) == 6 for seeds in process["round_seeds"].values())
        orders = {tuple(round_order(timing["order"], seed))
                  for seeds in process["round_seeds"].values() for seed in seeds}
        assert len(orders) > 1  # shuffled, not one order every round
        load = process["machine_load"]
        assert load["before"]["seconds"] >= 0.9 and load["after"]["seconds"] >= 0.9
        assert load["slices"] == 2 * 6 * 10  # batch sizes x rounds x variants
    load = timing["machine_load"]
    assert load["slices"] == 2 * 2 * 6 * 10 and isinstance(load["busy"], bool)
    assert load["busy"] == any(p["machine_load"]["busy"] for p in processes)
    assert (load["warning"] is not None) == load["busy"]
    busy = sum(b for r in variants(deployed).values() if r["status"] == "ok"
               for stats in r["latency"].values() for b in stats["rounds_busy"])
    assert busy == load["busy_slices"]


def test_a_quantizer_must_end_its_chain(deployed):
    for backend in ("torch", "onnxruntime"):
        record = deployed[("int8+prune", backend)]
        assert record["status"] == "skipped" and "must end its chain" in record["reason"]


def test_onnx_export_matches_pytorch_and_records_what_ran(deployed):
    fp32 = deployed[("fp32", "onnxruntime")]
    assert fp32["onnx_max_abs_diff"] < 1e-4
    info = fp32["backend_info"]
    assert info["providers"] == ["CPUExecutionProvider"] and info["fell_back"] is False
    assert info["threads"] == torch.get_num_threads()
    # the same model, the same metrics, whichever runtime runs it
    assert abs(fp32["metrics"]["accuracy"] - deployed[("fp32", "torch")]["metrics"]["accuracy"]) < 1e-9


def test_int8_is_smaller_and_close_to_fp32(deployed):
    for backend in ("torch", "onnxruntime"):
        fp32, int8 = deployed[("fp32", backend)], deployed[("int8", backend)]
        assert int8["footprint"]["total_bytes"] < fp32["footprint"]["total_bytes"]
        assert int8["compression_info"]["int8"]["recipe"]
        assert abs(int8["deltas"]["accuracy"]) <= 0.25
    # ONNX Runtime quantizes the embeddings too: the tiny model's bulk
    ort_fp32, ort_int8 = deployed[("fp32", "onnxruntime")], deployed[("int8", "onnxruntime")]
    assert ort_int8["footprint"]["file_bytes"] < ort_fp32["footprint"]["file_bytes"] / 3


def test_pruning_removes_ffn_channels_on_every_backend(deployed):
    for variant in ("prune", "prune+int8"):
        for backend in ("torch", "onnxruntime"):
            info = deployed[(variant, backend)]["compression_info"]["prune"]
            assert info["ffn"] == "128->64"
            assert info["parameters_after"] < info["parameters_before"]
    pruned, fp32 = deployed[("prune", "torch")], deployed[("fp32", "torch")]
    assert pruned["footprint"]["parameters"] < fp32["footprint"]["parameters"]


def test_qat_trains_then_converts(deployed):
    info = deployed[("qat", "torch")]["compression_info"]["qat"]
    assert info["epochs"] == 1 and info["seconds"] > 0
    assert "int8" in deployed[("qat", "torch")]["backend_info"]["dtype"]
    assert "int8" in deployed[("qat", "onnxruntime")]["backend_info"]["dtype"]


@pytest.mark.parametrize("compression, params, message", [
    ("prune", {"recovery_epochs": 1}, "training loop"),
    ("qat", None, "training loop"),
])
def test_compressions_that_do_not_apply_say_why(compression, params, message):
    kind = COMPRESSIONS.get(compression)
    with pytest.raises(VariantSkipped, match=message):
        kind().check(kind.Params(**(params or {})), "cpu", can_finetune=False)


def test_a_quantize_recipe_that_cannot_run_here_says_why():
    with pytest.raises(VariantSkipped, match="CPU only"):
        quantize_recipe("int8", "torch")(COMPRESSIONS.get("int8").Params(), "cuda")


def test_a_pair_without_a_quantize_recipe_is_one_lookup_miss_naming_the_recipes():
    with pytest.raises(VariantSkipped, match=r"int8 has no recipe for the tensorrt backend "
                                             r"\(it has: .*int8/onnxruntime, .*int8/torch"):
        quantize_recipe("int8", "tensorrt")


def test_bad_deploy_settings_are_input_errors():
    assert check_ranges(DeploySpec(batch_sizes=[0], backends=[]), "deploy") == [
        "deploy.batch_sizes: expected >= 1, got 0", "deploy.backends: expected at least one backend"]


SUITE = """
[suite]
name = "deploy"
[defaults.training]
epochs = 1
batch_size = 16
threads = 1
baseline = false
evaluate_before = false
[defaults.dataset]
train_size = 64
validation_size = 16
test_size = 32
max_length = 32
[models.tiny-bert]
source = "tiny-bert"
[datasets.tweets]
source = "tweets"
[methods.lora]
r = 4
[deploy]
variants = [["int8"], ["prune"]]
batch_sizes = [1, 8]
sequence_length = 16
warmup_calls = 1
rounds = 6
round_min_calls = 2
round_min_duration_s = 0.0
timing_processes = 1
[compressions.prune]
ffn_ratio = 0.25
recovery_epochs = 1
"""


def test_a_suite_with_deploy_reports_a_compression_table(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("deploy.toml").write_text(SUITE)
    assert main(["run", "deploy.toml"]) == 0
    (record,) = load_records(tmp_path / "runs" / "deploy")
    variants = {(v["variant"], v["backend"]): v for v in record["deployment"]}
    assert len(variants) == 6 and all(v["status"] == "ok" for v in variants.values())
    assert variants[("prune", "torch")]["compression_info"]["prune"]["ffn"] == "128->96"
    assert variants[("prune", "torch")]["compression_info"]["prune"]["recovery_epochs"] == 1
    artefacts = tmp_path / "runs" / "deploy" / "artefacts" / record["cell_id"]
    assert (artefacts / record["config_hash"] / "model").is_dir()
    assert not list(artefacts.glob("*/deploy"))  # keep_files = false
    capsys.readouterr()
    assert main(["report", "runs/deploy", "--md"]) == 0
    report = capsys.readouterr().out
    assert "**Compression and deployment (test split)**" in report
    assert "| prune+int8 |" not in report and "| int8 | onnxruntime | ok |" in report
    assert "Noise band: the fp32 reference's per-round medians spread over up to" in report
    timing = record["deployment_timing"]
    assert timing["rounds"] == 6 and len(timing["order"]) == 6 and timing["threads"] == 1
    assert timing["timing_processes"] == 1 and len(timing["processes"]) == 1
    speedups = [s for v in variants.values() for s in v["speedup"].values()]
    assert speedups and all(s["method"] == OVER_ROUNDS for s in speedups)  # one process
    assert isinstance(record["environment"]["cpu"]["flags"]["avx2"], bool)


def test_the_cold_call_comes_before_scoring_and_timing(tmp_path, monkeypatch):
    import bench.stages.variants
    import bench.stages.variant_timing

    events = []

    def logged(name, function):
        def wrapper(*args, **kwargs):
            events.append(name)
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(bench.stages.variants, "first_calls", logged("cold", bench.stages.variants.first_calls))
    monkeypatch.setattr(bench.stages.variants, "evaluate", logged("evaluate", bench.stages.variants.evaluate))
    monkeypatch.setattr(bench.stages.variant_timing, "run_processes",
                        logged("rounds", bench.stages.variant_timing.run_processes))
    tokenizer = load_tokenizer(SPEC)
    torch.manual_seed(0)
    spec = replace(FAST, variants=[], round_min_duration_s=0.0, timing_processes=1)
    deployment = deploy_cell(load_classifier(SPEC, TASK), tokenizer, TASK,
                             splits(tokenizer)["test"], spec, {}, None, tmp_path, "cpu")
    assert events == ["cold", "evaluate", "cold", "evaluate", "rounds"]
    assert all(r.latency[1].cold_ms > 0 for r in deployment.variants)


def test_a_bad_timing_key_is_one_line_naming_file_table_and_key(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("deploy.toml").write_text(SUITE.replace("timing_processes = 1", "timing_processes = 0"))
    assert main(["run", "deploy.toml"]) == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert error == "error: deploy.toml [deploy].timing_processes: expected >= 1, got 0"
    assert not (tmp_path / "runs").exists()  # before anything ran


@pytest.mark.parametrize("line, message", [
    ("equivalence_band = 1.5", "deploy.toml [deploy].equivalence_band: expected a number in "
                               "[0, 1), got 1.5"),
    ('timing_processes = "3"', "deploy.toml [deploy].timing_processes: expected an integer")])
def test_the_timing_keys_are_checked_where_they_are_written(tmp_path, line, message):
    path = tmp_path / "deploy.toml"
    path.write_text(SUITE.replace("timing_processes = 1", line))
    _, problems = parse_suite(path)
    assert len(problems) == 1 and problems[0].startswith(str(path)) and message in problems[0]


def test_too_few_rounds_for_an_interval_is_an_input_error():
    (problem,) = check_ranges(DeploySpec(rounds=5), "deploy")
    assert problem.startswith("deploy.rounds: expected at least 6")
