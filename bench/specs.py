"""Typed, validated configuration of one cell: model, dataset, method, training, deployment.

Suite files are parsed into these dataclasses with `from_mapping`, which rejects unknown keys,
wrong types and values out of range with a message naming the key and where it came from.
A spec (or a plugin's Params) declares the interval of each numeric key in its `ranges`
class variable, and checks that involve several keys in a `field_problems` method.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from bench.errors import BenchInputError, SuiteProblems


@dataclass(frozen=True)
class Range:
    """The interval a numeric key must lie in (for a list: each item); None is unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return (f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.high_open else ']'}")


POSITIVE = Range(0, low_open=True)
NOT_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
FRACTION = Range(0, 1, high_open=True)  # [0, 1): dropout, pruning ratios, warm-up share
SEED = Range(0, 2**32 - 1)  # what numpy's generators accept


@dataclass(frozen=True)
class CountOrFraction:
    """A split size: a row count (int >= 1) or a share of the rows (float in (0, 1))."""

    def contains(self, value: float) -> bool:
        return value >= 1 if isinstance(value, int) else 0 < value < 1

    def describe(self) -> str:
        return "a count >= 1 or a fraction in (0, 1)"


def check_ranges(spec: Any, where: str) -> list[str]:
    """One message per key of `spec` whose value lies outside its declared range, plus the
    spec's own `field_problems()` (checks across keys), each naming `where` and the key."""
    problems = []
    for key, allowed in getattr(type(spec), "ranges", {}).items():
        value = getattr(spec, key)
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            problems.append(f"{where}.{key}: expected a non-empty list")
        bad = [v for v in values if v is not None and not isinstance(v, bool)
               and not (math.isfinite(v) and allowed.contains(v))]
        if bad:
            problems.append(f"{where}.{key}: expected {allowed.describe()}, got {bad[0]!r}")
    if hasattr(spec, "field_problems"):
        problems += [f"{where}.{key}: {message}" for key, message in spec.field_problems()]
    return problems


@dataclass
class ModelSpec:
    """Which pretrained model to fine-tune.

    `source` is a built-in name (see bench/models.py: minilm, tiny-bert, tiny-gpt2,
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
    `source`: tweets | bbc | csv | jsonl | parquet | hf (see bench/datasets/).
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


# What `metric_for_best` may name: validation scores that bench/evaluate.py computes and where
# higher is better (the best epoch is the one with the highest).
SCORES = ("accuracy", "subset_accuracy", "roc_auc", *(f"{kind}_{average}" for kind in
          ("f1", "precision", "recall") for average in ("macro", "micro", "weighted")))


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
    # group_by_length: batches of similar lengths (in random order), so that dynamic padding
    # pads little; "random" is the plain shuffle
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
            problems.append(("metric_for_best", f"expected a score where higher is better, one "
                                                f"of {', '.join(SCORES)}; got "
                                                f"{self.metric_for_best!r}"))
        return problems


@dataclass
class CompareThresholds:
    """How much worse a new run may be before `bench compare` calls it a regression: scores
    in absolute points, latency and size relative to the baseline. A suite's [compare] table
    sets them; the command line overrides."""

    max_f1_drop: float = 0.01
    max_accuracy_drop: float = 0.01
    max_latency_increase: float = 0.15
    max_size_increase: float = 0.05

    ranges: ClassVar[dict] = {"max_f1_drop": NOT_NEGATIVE, "max_accuracy_drop": NOT_NEGATIVE,
                              "max_latency_increase": NOT_NEGATIVE,
                              "max_size_increase": NOT_NEGATIVE}


def from_mapping(cls: type, data: dict[str, Any], where: str, ranges: bool = True,
                 **fixed: Any) -> Any:
    """Build dataclass `cls` from `data`, naming `where` (file and table) in every error.
    Raises SuiteProblems listing every bad key of the table (unknown, wrong type, and with
    `ranges`, out of range)."""
    if not isinstance(data, dict):
        raise BenchInputError(f"{where}: expected a table, got {describe_value(data)}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = dict(fixed)
    problems = []
    for key, value in data.items():
        try:
            if key not in known or key in fixed:
                raise BenchInputError(unknown_key_message(where, key,
                                                          [k for k in known if k not in fixed]))
            values[key] = check_type(value, hints[key], f"{where}.{key}")
        except BenchInputError as error:
            problems.append(str(error))
    if problems:
        raise SuiteProblems(problems)
    try:
        spec = cls(**values)
    except TypeError as error:  # a required field is missing
        raise BenchInputError(f"{where}: {error}") from None
    if ranges and (problems := check_ranges(spec, where)):
        raise SuiteProblems(problems)
    return spec


def describe_value(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "true or false"}.get(
        type(value), f"{value!r}")


def check_keys(table: Any, allowed: tuple[str, ...] | list[str], where: str) -> bool:
    """Every key of `table` is allowed (SuiteProblems lists each unknown one)."""
    if not isinstance(table, dict):
        raise BenchInputError(f"{where}: expected a table, got {describe_value(table)}")
    unknown = [unknown_key_message(where, key, list(allowed)) for key in table
               if key not in allowed]
    if unknown:
        raise SuiteProblems(unknown)
    return True


def unknown_key_message(where: str, key: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(key, known, n=1)
    maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"{where}: unknown key {key!r}{maybe}; expected one of: {', '.join(sorted(known))}"


def check_type(value: Any, hint: Any, where: str) -> Any:
    """Check a TOML value against a type hint; ints are accepted where floats are expected."""
    if type_matches(value, hint):
        if hint is float or (float in typing.get_args(hint) and isinstance(value, int)
                             and not isinstance(value, bool) and int not in typing.get_args(hint)):
            return float(value)
        return value
    raise BenchInputError(f"{where}: expected {describe(hint)}, got {value!r}")


def type_matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(type_matches(value, arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(type_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in typing.get_args(hint) if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return f"a list of {describe(item)}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint)))
