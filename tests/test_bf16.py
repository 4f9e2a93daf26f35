"""bf16 on CPUs: allowed (opt-in: precision = "auto" stays fp32 on CPU) only where the CPU has
AMX or AVX512-BF16, refused elsewhere with one line naming the file, the table and the key; the bf16
deploy variant built beside fp32 and recorded as bf16. The CPU's flags are injected, so both
branches run on any host (this project's AVX2-only one included)."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from bench.errors import BenchInputError
from bench.measure import environment
from bench.measure.environment import cpu_bf16_support
from bench.models.loading import load_classifier, load_tokenizer
from bench.specs import DeploySpec, ModelSpec, TrainingConfig
from bench.stages.variants import deploy_cell
from bench.suite.devices import resolve_precision
from bench.suite.identity import training_key
from bench.suite.parser import load_suite
from test_validate import VALID, validate, write_data
from toy import TASK, trainer

AMX = {"avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}
AVX512_BF16 = {"avx2", "avx512f", "avx512_bf16"}
AVX2 = {"avx2", "fma"}
HOST_HAS_BF16 = cpu_bf16_support() is not None  # read before any test replaces the flags
SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")


def cpu_with(monkeypatch, flags: set[str]) -> None:
    monkeypatch.setattr(environment, "host_cpu_flags", lambda: set(flags))


def test_fast_bf16_needs_amx_bf16_or_avx512_bf16():
    assert cpu_bf16_support(AMX) == "AMX"
    assert cpu_bf16_support(AVX512_BF16) == "AVX512-BF16"
    assert cpu_bf16_support({"avx2", "amx_tile", "amx_int8"}) is None  # AMX without bf16 tiles
    assert cpu_bf16_support(AVX2) is None
    assert cpu_bf16_support(set()) is None


@pytest.mark.parametrize("flags, fast", [(AMX, True), (AVX512_BF16, True), (AVX2, False)])
def test_bf16_on_cpu_is_opt_in_and_only_where_the_cpu_runs_it_fast(monkeypatch, flags, fast):
    cpu_with(monkeypatch, flags)
    assert resolve_precision("auto", "cpu") == "fp32"  # not a default until shown equivalent
    assert resolve_precision("fp32", "cpu") == "fp32"
    if fast:
        assert resolve_precision("bf16", "cpu") == "bf16"
    else:
        with pytest.raises(BenchInputError, match=r"^training\.precision = 'bf16' on CPU "
                                                  r"refused: .*130x slower than fp32"):
            resolve_precision("bf16", "cpu")
    with pytest.raises(BenchInputError, match="'fp16' needs a CUDA GPU"):
        resolve_precision("fp16", "cpu")


def test_the_training_key_hashes_auto_as_what_it_chose(folder, monkeypatch):
    """auto is hashed as the precision it resolves to: fp32 on any CPU."""
    path = folder / "suite.toml"
    path.write_text(VALID)
    cell = load_suite(path).cells[0]
    assert cell.training.precision == "auto"
    def explicit(precision: str) -> str:
        return training_key(replace(cell, training=replace(cell.training, precision=precision)))

    cpu_with(monkeypatch, AMX)
    assert training_key(cell) == explicit("fp32") != explicit("bf16")
    cpu_with(monkeypatch, AVX2)
    assert training_key(cell) == explicit("fp32")


BF16_SUITE = VALID.replace("epochs = 1\n", "epochs = 1\nprecision = \"bf16\"\n").replace(
    'variants = [["int8"]]', 'variants = [["int8"], ["bf16"]]')


def test_bf16_training_and_a_bf16_variant_are_refused_on_an_avx2_cpu(folder, monkeypatch,
                                                                       capsys):
    cpu_with(monkeypatch, AVX2)
    status, err, _ = validate(folder, BF16_SUITE, capsys)
    assert status == 2
    suite = folder / "suite.toml"
    assert f"{suite} [methods.full]: training.precision = 'bf16' on CPU refused: this CPU has " \
           "neither AMX (amx_bf16) nor AVX512-BF16 (avx512_bf16)" in "\n".join(err)
    assert f"{suite} [deploy].variants: 'bf16': bf16 inference refused: this CPU has neither " \
           "AMX" in "\n".join(err)
    cpu_with(monkeypatch, AMX)
    status, err, _ = validate(folder, BF16_SUITE, capsys)
    assert status == 0, err


def test_bf16_training_runs_on_cpu_when_the_cpu_is_said_to_have_it(monkeypatch):
    """The Trainer's bf16 autocast on CPU, forced on whatever this host is (slow where emulated,
    but a tiny model): the record says bf16 and the loss is a number."""
    cpu_with(monkeypatch, AMX)
    tokenizer = load_tokenizer(SPEC)
    config = TrainingConfig(epochs=1, batch_size=8, learning_rate=1e-3, logging_steps=2,
                            eval_each_epoch=False, precision="bf16")
    torch.manual_seed(0)
    summary = trainer(tokenizer, config, train=16).train(load_classifier(SPEC, TASK))
    assert summary.precision == "bf16"
    losses = [loss for _, loss in summary.train_loss_points()]
    assert losses and all(math.isfinite(loss) for loss in losses)


def bf16_deployment(tmp_path, backends: list[str]) -> dict:
    tokenizer = load_tokenizer(SPEC)
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK)
    spec = DeploySpec(backends=backends, variants=[["bf16"]], batch_sizes=[1],
                      sequence_length=16, warmup_calls=1, rounds=6, round_min_calls=1,
                      round_min_duration_s=0.0, eval_batch_size=16)
    data = trainer(tokenizer, TrainingConfig(), train=8).data
    kept: dict = {}
    result = deploy_cell(model, tokenizer, TASK, data["test"], spec, {}, None, tmp_path, "cpu",
                         keep_predictions=kept.__setitem__)
    return {"kept": kept, **{(r.variant, r.backend): r for r in result.variants}}


@pytest.mark.slow  # a deployment timed in fresh processes: about 30 s
def test_a_bf16_variant_runs_beside_fp32_and_is_recorded_as_bf16(tmp_path, monkeypatch):
    cpu_with(monkeypatch, AMX)
    deployed = bf16_deployment(tmp_path, ["torch"])
    fp32, bf16 = deployed[("fp32", "torch")], deployed[("bf16", "torch")]
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert bf16.status == "ok", bf16.reason
    assert bf16.backend_info["dtype"] == "bfloat16"
    assert bf16.footprint.param_bytes == pytest.approx(fp32.footprint.param_bytes / 2, rel=0.01)
    assert bf16.metrics.n == 24 and bf16.latency[1].p50_ms > 0
    probs_fp32 = deployed["kept"]["deploy/fp32/torch/test"].probs
    probs_bf16 = deployed["kept"]["deploy/bf16/torch/test"].probs
    assert np.abs(probs_bf16 - probs_fp32).max() < 0.05  # the same model, rounded


def test_openvino_bf16_runs_in_bf16_or_fails_rather_than_time_f32(tmp_path, monkeypatch):
    cpu_with(monkeypatch, AMX)
    openvino = bf16_deployment(tmp_path, ["openvino"])[("bf16", "openvino")]
    assert openvino.precision == "bf16"
    if HOST_HAS_BF16:  # OpenVINO really computes in bf16 here
        assert openvino.status == "ok", openvino.reason
        assert openvino.backend_info["inference_precision_hint"] == "bf16"
    else:  # it falls back to f32 quietly: the variant fails rather than time fp32 as bf16
        assert openvino.status == "failed"
        assert "compiled the model in f32 although bf16 was asked for" in openvino.reason


@pytest.mark.slow  # a deployment timed in fresh processes: about 30 s
def test_a_bf16_variant_on_a_cpu_without_it_is_skipped_with_the_reason(tmp_path, monkeypatch):
    """What `bench deploy` on another host meets: the preflight refusal's reason, per variant."""
    cpu_with(monkeypatch, AVX2)
    deployed = bf16_deployment(tmp_path, ["torch"])
    assert deployed[("fp32", "torch")].status == "ok"
    skipped = deployed[("bf16", "torch")]
    assert skipped.status == "skipped" and skipped.precision == "bf16"
    assert skipped.reason.startswith("bf16 inference refused: this CPU has neither AMX")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    return tmp_path
