"""Typed configuration of one cell: model, dataset, training, deployment, and the `bench
compare` thresholds. Suite tables become these dataclasses through
bench.table_checks.from_mapping, which checks each key against its type and `ranges`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from bench.measure.speedup import EQUIVALENCE_BAND, min_rounds
from bench.metric_registry import scores
from bench.table_checks import (AT_LEAST_ONE, FRACTION, NOT_NEGATIVE, POSITIVE, SEED,
                                CountOrFraction, Range)


@dataclass
class ModelSpec:
    """Which pretrained model to fine-tune.

    `source` is a built-in name (bench/models/builtin.py: minilm, tiny-bert, tiny-gpt2,
    bert-base-config), a local folder, or a Hugging Face hub id (needs the network;
    HF_HUB_OFFLINE=1 fails fast).
    """

    name: str
    source: str = "minilm"
    revision: str | None = None
    trust_remote_code: bool = False
    random_init: bool = False  # architecture only: for throughput/memory figures, labelled so


@dataclass
class DatasetSpec:
    """Where labelled text comes from and how it is split.

    Sizes are counts (int) or fractions of the deduplicated data (float in (0, 1)).
    `source`: tweets | bbc | rotten_tomatoes | csv | jsonl | parquet | hf (see
    bench/datasets/).
    """

    name: str
    source: str = "tweets"
    path: str | None = None  # csv/jsonl/parquet file (relative to the suite file) or hf id
    hf_config: str | None = None
    text_column: str = "text"
    text_pair_column: str | None = None
    label_column: str = "label"
    multi_label: bool | None = None  # None: decided from the data (a list in the label column)
    label_names: list[str] | None = None  # fixed order of classes; default: sorted labels
    train_size: int | float | None = None
    validation_size: int | float = 0.1
    test_size: int | float = 0.2
    use_predefined_splits: bool = True  # keep the dataset's own train/validation/test if any
    min_confidence: float | None = None  # tweets: keep rows with crowd agreement >= this
    max_length: int = 128  # tokens; longer texts are truncated
    seed: int = 42  # split and subsampling seed

    ranges: ClassVar[dict] = {
        "train_size": CountOrFraction(), "validation_size": CountOrFraction(),
        "test_size": CountOrFraction(), "min_confidence": Range(0, 1), "max_length": Range(2),
        "seed": SEED}


# What `metric_for_best` may name: registered metrics where higher is better (the best epoch is
# the one with the highest validation score).
SCORES = tuple(scores())


@dataclass
class TrainingConfig:
    """Training arguments, merged: suite defaults < dataset < method < sweep values."""

    learning_rate: float = 5e-4
    epochs: float = 2
    batch_size: int = 32
    eval_batch_size: int = 64
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.0
    scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    warmup_ratio: float = 0.0
    warmup_steps: int = 0
    max_steps: int = -1
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"  # auto: bf16/fp16 on CUDA
    padding: Literal["dynamic", "max_length"] = "dynamic"
    # group_by_length: transformers' LengthGroupedSampler, batches of similar lengths (random
    # pools of up to 50 batches, each sorted longest first), so that dynamic padding pads
    # little; "random" is the plain shuffle. Not shown equivalent in accuracy to "random" yet
    # (README, benchmarks/training_recipe.py), hence not the default here.
    sampling: Literal["random", "group_by_length"] = "random"
    eval_each_epoch: bool = True
    keep_best: bool = True
    metric_for_best: str = "f1_macro"
    # stop once this many epochs in a row did not beat the best validation `metric_for_best`
    # (`epochs` is then the budget); None: train every epoch
    early_stopping_patience: int | None = None
    logging_steps: int = 10
    seed: int = 42
    report_to: list[str] = field(default_factory=list)  # e.g. ["tensorboard"], ["wandb"]
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = None  # torch intra-op threads; None: all cores
    evaluate_before: bool = True  # score the model before fine-tuning (before/after rows)
    baseline: bool = True  # TF-IDF + logistic regression on the same split
    inference_examples: int = 5
    time_limit_s: float | None = None  # per-cell wall-clock limit

    ranges: ClassVar[dict] = {
        "learning_rate": POSITIVE, "epochs": POSITIVE, "batch_size": AT_LEAST_ONE,
        "eval_batch_size": AT_LEAST_ONE, "gradient_accumulation_steps": AT_LEAST_ONE,
        "weight_decay": NOT_NEGATIVE, "warmup_ratio": FRACTION, "warmup_steps": NOT_NEGATIVE,
        "logging_steps": AT_LEAST_ONE, "seed": SEED, "threads": AT_LEAST_ONE,
        "inference_examples": NOT_NEGATIVE, "time_limit_s": POSITIVE}

    def field_problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.max_steps == 0 or self.max_steps < -1:
            problems.append(("max_steps", f"expected -1 (train for `epochs`) or a step count "
                                          f">= 1, got {self.max_steps}"))
        if self.metric_for_best not in SCORES:
            problems.append(("metric_for_best", not_a_score(self.metric_for_best)))
        return problems


def not_a_score(name: str) -> str:
    """Why `name` cannot rank models (a best epoch, a study's trials)."""
    return f"expected a score where higher is better, one of {', '.join(SCORES)}; got {name!r}"


@dataclass
class CompareThresholds:
    """How much worse a new run may be before `bench compare` calls it a regression: scores
    in absolute points, latency and size relative to the baseline. A suite's [compare] table
    sets them; the command line overrides."""

    max_f1_drop: float = 0.01
    max_accuracy_drop: float = 0.01
    max_latency_increase: float = 0.15
    max_size_increase: float = 0.05
    # within +-this much macro-F1 two methods are "equivalent" (two one-sided tests) and a
    # cheaper one "non-inferior" (bench/stats/methods.py); the report's answer prints it
    equivalence_margin: float = 0.02

    ranges: ClassVar[dict] = {"equivalence_margin": NOT_NEGATIVE, "max_f1_drop": NOT_NEGATIVE,
                              "max_accuracy_drop": NOT_NEGATIVE,
                              "max_latency_increase": NOT_NEGATIVE,
                              "max_size_increase": NOT_NEGATIVE}


@dataclass
class DeploySpec:
    """The suite's [deploy] table: which variants to build, where to run them, how to measure.

    backends: inference runtimes, in order; the first one's fp32 run is the reference.
    variants: compression chains (names of [compressions.<name>]); "fp32" always runs first.
    batch_sizes: fixed batch sizes timed: a latency batch (1) and a throughput batch.
    sequence_length: every timed batch is real test texts truncated/padded to this length.
    rounds / warmup_calls / round_min_calls / round_min_duration_s: per batch size and timing
        process, each variant gets `warmup_calls` untimed calls, then `rounds` interleaved
        rounds, each in its own shuffled order, in which every variant is timed until both
        `round_min_calls` calls and `round_min_duration_s` seconds are reached (see
        bench.stages.timing_rounds); at least 6 rounds, the fewest whose spread gives a 95%
        interval of a median; 9 by default, the fewest whose interval drops the most extreme
        round on each side (docs/measurement.md).
    timing_processes: fresh processes, one after the other, that each load every variant's
        files and time them all (bench.stages.timing_process); the speed-up's interval is over
        them (bench.measure.speedup): 3 or more for an interval that holds across runs.
    equivalence_band: a speed-up is "no measurable difference" only when its interval lies
        within 1 +- this; one that holds 1 but reaches beyond it is "inconclusive".
    threads: intra-op threads for torch and ONNX Runtime alike; None keeps the cell's setting.
    onnx_tolerance: largest max-abs difference of exported fp32 logits vs PyTorch on real
        inputs; beyond it the variant fails (an export that changes the model is no result).
    eval_samples: test rows scored per variant (the first N); None: the whole test split.
    eval_batch_size: batch size of that scoring (padded to the longest row of each batch).
    keep_files: keep exported/saved models under the cell's deploy folder (sizes are recorded
        either way; a MiniLM cell writes about 0.5 GB).
    """

    backends: list[str] = field(default_factory=lambda: ["torch", "onnxruntime"])
    variants: list[list[str]] = field(
        default_factory=lambda: [["int8"], ["prune"], ["prune", "int8"], ["qat"]])
    batch_sizes: list[int] = field(default_factory=lambda: [1, 32])
    sequence_length: int = 64
    rounds: int = 9
    timing_processes: int = 3
    equivalence_band: float = EQUIVALENCE_BAND
    warmup_calls: int = 10
    round_min_calls: int = 3
    round_min_duration_s: float = 0.35
    threads: int | None = None
    onnx_tolerance: float = 1e-3
    eval_samples: int | None = None
    eval_batch_size: int = 64
    keep_files: bool = False

    ranges: ClassVar[dict] = {
        "batch_sizes": AT_LEAST_ONE, "sequence_length": AT_LEAST_ONE, "warmup_calls": NOT_NEGATIVE,
        "round_min_calls": AT_LEAST_ONE, "round_min_duration_s": NOT_NEGATIVE,
        "timing_processes": AT_LEAST_ONE, "equivalence_band": FRACTION, "threads": AT_LEAST_ONE, "onnx_tolerance": NOT_NEGATIVE, "eval_samples": AT_LEAST_ONE,
        "eval_batch_size": AT_LEAST_ONE}

    def field_problems(self) -> list[tuple[str, str]]:
        problems = [("backends", "expected at least one backend")] if not self.backends else []
        if any(not chain for chain in self.variants):
            problems.append(("variants", "expected non-empty chains of compression names"))
        if self.rounds < min_rounds():
            problems.append(("rounds", f"expected at least {min_rounds()} (fewer cannot give a "
                                       f"95% interval of a median), got {self.rounds}"))
        return problems
