"""Typed, validated configuration of one cell: model, dataset, method, training, deployment.

Suite files are parsed into these dataclasses with `from_mapping`, which rejects unknown keys
and wrong types with a message naming the key and where it came from.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.errors import BenchInputError


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


@dataclass
class CompareThresholds:
    """How much worse a new run may be before `bench compare` calls it a regression: scores
    in absolute points, latency and size relative to the baseline. A suite's [compare] table
    sets them; the command line overrides."""

    max_f1_drop: float = 0.01
    max_accuracy_drop: float = 0.01
    max_latency_increase: float = 0.15
    max_size_increase: float = 0.05


def from_mapping(cls: type, data: dict[str, Any], where: str, **fixed: Any) -> Any:
    """Build dataclass `cls` from `data`, naming `where` (file and table) in every error."""
    if not isinstance(data, dict):
        raise BenchInputError(f"{where}: expected a table, got {type(data).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = dict(fixed)
    for key, value in data.items():
        if key not in known or key in fixed:
            raise BenchInputError(unknown_key_message(where, key, [k for k in known if k not in fixed]))
        values[key] = check_type(value, hints[key], f"{where}.{key}")
    try:
        return cls(**values)
    except TypeError as error:  # a required field is missing
        raise BenchInputError(f"{where}: {error}") from None


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


def to_dict(spec: Any) -> dict[str, Any]:
    return dataclasses.asdict(spec)
