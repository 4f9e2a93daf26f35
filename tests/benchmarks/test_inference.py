"""pytest-benchmark regression checks: inference of each variant x backend on a tiny BERT.

The default test run executes each once, untimed (`--benchmark-disable` in pyproject), as a
smoke test. To time them and guard against regressions (see README, "Regression checks"):

    pytest tests/benchmarks --benchmark-enable --benchmark-autosave
    pytest tests/benchmarks --benchmark-enable --benchmark-compare --benchmark-compare-fail=median:30%

Less noise, by design: 10 warm-up calls before timing (the first calls of a session pay for
allocations and kernel selection), at least 20 rounds and 1 s per case, garbage collection
off while timed, and rounds of about the same size: a batch-1 round is 8 calls, so that no
round is a ~1 ms call dominated by dispatch jitter. Gate on medians (robust to a few slow
rounds) with a 30% threshold: on a shared 2-core machine repeated runs of the same code move
by 10-20%. Compare only runs from the same machine, threads and load.
"""
import copy
import time

import pytest
import torch
from datasets import Dataset

from bench.plugins import CompressionContext
from bench.stages.deploy_inputs import build_inputs
from bench.task import TaskInfo
from bench.models.loading import load_classifier, load_tokenizer
from bench.registry import BACKENDS, COMPRESSIONS, quantize_recipe
from bench.specs import DeploySpec, ModelSpec

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
THREADS = 2
SPEC = ModelSpec(name="tiny-bert", source="tiny-bert")
TASK = TaskInfo(["negative", "neutral", "positive"])
TIMING = DeploySpec(batch_sizes=[1, 32], sequence_length=64)
CALLS_PER_ROUND = {1: 8, 32: 1}  # rounds of comparable length (see the module docstring)
CASES = [("fp32", "torch"), ("int8", "torch"), ("prune", "torch"),
         ("fp32", "onnxruntime"), ("int8", "onnxruntime"), ("prune", "onnxruntime")]


@pytest.fixture(scope="module")
def predictors(setup):
    """Each variant x backend prepared once (an ONNX export takes seconds), for both batches."""
    cache = {}

    def get(variant: str, backend: str):
        if (variant, backend) not in cache:
            cache[(variant, backend)] = prepared(setup, variant, backend)
        return cache[(variant, backend)]

    return get


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(THREADS)
    tokenizer = load_tokenizer(SPEC)
    texts = [f"sample text number {i} about the weather and the news today" for i in range(64)]
    data = Dataset.from_dict({**tokenizer(texts), "labels": [i % 3 for i in range(64)]})
    inputs = build_inputs(data, tokenizer, TIMING)
    torch.manual_seed(0)
    model = load_classifier(SPEC, TASK).to(DEVICE).eval()
    return model, inputs, tmp_path_factory.mktemp("bench")


def prepared(setup, variant: str, backend_name: str):
    model, inputs, workdir = setup
    backend = BACKENDS.get(backend_name)()
    backend.check(DEVICE)
    quantize = None
    if variant == "int8":
        quantize = quantize_recipe("int8", backend_name)(COMPRESSIONS.get("int8").Params(), DEVICE)
    elif variant == "prune":
        prune = COMPRESSIONS.get("prune")()
        example = {k: torch.from_numpy(v).to(DEVICE) for k, v in inputs.examples[-1].items()}
        model, _ = prune.transform(copy.deepcopy(model), prune.Params(ffn_ratio=0.5),
                                   CompressionContext(None, example, DEVICE))
    return backend.prepare(model, inputs.examples, workdir / variant / backend_name, DEVICE,
                           THREADS, quantize)


@pytest.mark.benchmark(warmup=True, warmup_iterations=10, min_rounds=20, min_time=0.05,
                       max_time=1.0, disable_gc=True, timer=time.perf_counter)
@pytest.mark.parametrize("batch_size", [1, 32])
@pytest.mark.parametrize("variant, backend", CASES, ids=[f"{v}-{b}" for v, b in CASES])
def test_inference(benchmark, setup, predictors, variant, backend, batch_size):
    if variant == "int8" and backend == "torch" and DEVICE == "cuda":
        pytest.skip("dynamic int8 in PyTorch runs on CPU only")
    predictor = predictors(variant, backend)
    batch = setup[1].timed[batch_size]
    synchronize = predictor.synchronize or (lambda: None)

    calls = CALLS_PER_ROUND[batch_size]

    def infer():
        for _ in range(calls):
            logits = predictor(batch)
        synchronize()
        return logits

    benchmark.extra_info.update(device=DEVICE, threads=THREADS, sequence_length=64,
                                calls_per_round=calls, file_bytes=predictor.file_bytes)
    logits = benchmark(infer)
    assert logits.shape == (batch_size, TASK.num_labels)
