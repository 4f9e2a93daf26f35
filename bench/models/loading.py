"""Where a model comes from and how it is loaded as a sequence classifier.

A model source is a built-in name (`BUILTIN_MODELS`), a local folder or a Hugging Face hub id.
Built-ins load through the same `from_pretrained` path as any folder, so the tests exercise the
code that real models use.
"""
from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn as nn
from transformers import (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer,
                          PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase)

from bench.models.builtin import (BUILT_MODELS, BUILTIN_MODELS, CONFIG_ONLY, WEIGHTS_SEED,
                                  built_model_path, minilm_path)
from bench.errors import BenchInputError, first_line
from bench.specs import ModelSpec
from bench.task import TaskInfo

logger = logging.getLogger(__name__)

def resolve_model_source(spec: ModelSpec) -> str:
    """The folder or hub id that `from_pretrained` gets; a source that cannot load raises
    BenchInputError naming the model, so a suite fails before any cell runs."""
    if spec.source == "minilm":
        return minilm_path()
    if spec.source in BUILT_MODELS:
        if spec.source in CONFIG_ONLY and not spec.random_init:
            raise BenchInputError(f"model {spec.name!r}: the built-in {spec.source!r} is an "
                                  "architecture without weights; set random_init = true")
        return built_model_path(spec.source)
    folder = Path(spec.source).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise BenchInputError(f"model {spec.name!r}: folder {spec.source!r} has no "
                                  "config.json (expected a save_pretrained folder)")
        source = str(folder)
    else:
        check_hub_id(spec)
        source = spec.source
    check_config(spec, source)
    return source


def check_config(spec: ModelSpec, source: str) -> None:
    """transformers raises ValueError for a config it cannot use: an architecture it does not
    know, or custom code that the suite does not trust."""
    try:
        AutoConfig.from_pretrained(source, revision=spec.revision,
                                   trust_remote_code=spec.trust_remote_code)
    except ValueError as error:
        reason = first_line(error)
        if "trust_remote_code" in str(error):
            reason += " If you trust it, set trust_remote_code = true for this model."
        raise BenchInputError(f"model {spec.name!r}: transformers cannot use the config of "
                              f"{source!r}: {reason}") from None


def check_hub_id(spec: ModelSpec) -> None:
    """Fetch (or find in the cache) the hub model's config.json; turn the ways that fails for
    bad input into one line each."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (EntryNotFoundError, HFValidationError,
                                        LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    where = f"model {spec.name!r}"
    try:
        hf_hub_download(spec.source, "config.json", revision=spec.revision)
    except HFValidationError:
        raise BenchInputError(
            f"{where}: source {spec.source!r} is neither a built-in ({', '.join(BUILTIN_MODELS)}),"
            " a local folder nor a valid hub id") from None
    except LocalEntryNotFoundError:  # before EntryNotFoundError: it is a subclass
        why = "offline, not cached" if constants.is_offline_mode() else "hub unreachable, not cached"
        raise BenchInputError(
            f"{where}: cannot load {spec.source!r} ({why}); it is not a built-in "
            f"({', '.join(BUILTIN_MODELS)}) or a local folder either") from None
    except RevisionNotFoundError:
        raise BenchInputError(f"{where}: hub id {spec.source!r} has no revision "
                              f"{spec.revision!r}") from None
    except RepositoryNotFoundError:
        raise BenchInputError(f"{where}: hub id {spec.source!r} does not exist (or is private or"
                              " gated: log in with `hf auth login`)") from None
    except EntryNotFoundError:
        raise BenchInputError(f"{where}: hub id {spec.source!r} has no config.json: not a "
                              "transformers model") from None


def load_tokenizer(spec: ModelSpec) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token: decoders (GPT-2...) have none, and batches need
    one; eos is the usual stand-in, and the classifier finds the last real token by pad id."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(spec), revision=spec.revision,
                                              trust_remote_code=spec.trust_remote_code)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise BenchInputError(f"model {spec.name!r}: its tokenizer has neither a pad nor an "
                                  "eos token to pad batches with")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def classification_config(spec: ModelSpec, task: TaskInfo) -> PretrainedConfig:
    """The model's config with the task's labels and the tokenizer's pad id."""
    config = AutoConfig.from_pretrained(
        resolve_model_source(spec), revision=spec.revision,
        trust_remote_code=spec.trust_remote_code, num_labels=task.num_labels,
        id2label=dict(enumerate(task.label_names)),
        label2id={name: i for i, name in enumerate(task.label_names)})
    if task.multi_label:
        config.problem_type = "multi_label_classification"
    config.pad_token_id = load_tokenizer(spec).pad_token_id
    return config


def load_classifier(spec: ModelSpec, task: TaskInfo, checkpoint: str | Path | None = None,
                    **from_pretrained_kwargs: Any) -> PreTrainedModel:
    """A sequence classifier for `task`, in fp32 (the Trainer's mixed precision wants fp32
    master weights). Weights come from `checkpoint` (a folder that `save_pretrained` wrote,
    safetensors only) or else the model's source; `spec.random_init` (no checkpoint) gives the
    architecture with seeded random weights, the same on every call, so a saved adapter
    reloads onto the same base."""
    config = classification_config(spec, task)
    if checkpoint is None and spec.random_init:
        model = random_classifier(spec, config)
        if not from_pretrained_kwargs:
            return model
        with tempfile.TemporaryDirectory() as folder:  # e.g. quantization_config applies
            model.save_pretrained(folder)              # only while loading a checkpoint
            return load_classifier(spec, task, folder, **from_pretrained_kwargs)
    kwargs: dict[str, Any] = {"dtype": torch.float32, "trust_remote_code": spec.trust_remote_code,
                              **from_pretrained_kwargs}
    if checkpoint is None:
        source = resolve_model_source(spec)
        kwargs.setdefault("revision", spec.revision)
    else:
        source = str(checkpoint)
        kwargs["use_safetensors"] = True
    with load_report_silenced():
        model, info = AutoModelForSequenceClassification.from_pretrained(
            source, config=config, output_loading_info=True, **kwargs)
    warn_missing_body_weights(spec, model, info["missing_keys"])
    return model


def random_classifier(spec: ModelSpec, config: PretrainedConfig) -> PreTrainedModel:
    with torch.random.fork_rng():
        torch.manual_seed(WEIGHTS_SEED)
        return AutoModelForSequenceClassification.from_config(
            config, trust_remote_code=spec.trust_remote_code, dtype=torch.float32)


def classifier_skeleton(spec: ModelSpec, task: TaskInfo) -> PreTrainedModel:
    """The classifier's module tree without weights (meta device): what a model will contain,
    known before loading it (QLoRA must name the head it keeps out of quantisation)."""
    with torch.device("meta"):
        return AutoModelForSequenceClassification.from_config(
            classification_config(spec, task), trust_remote_code=spec.trust_remote_code)


@contextlib.contextmanager
def load_report_silenced() -> Iterator[None]:
    """transformers logs a "LOAD REPORT" table for every new classifier head, which is
    expected here; `warn_missing_body_weights` reports the missing weights that matter."""
    target = logging.getLogger("transformers.modeling_utils")

    def not_a_load_report(record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in record.getMessage()

    target.addFilter(not_a_load_report)
    try:
        yield
    finally:
        target.removeFilter(not_a_load_report)


def warn_missing_body_weights(spec: ModelSpec, model: PreTrainedModel, missing: list[str]) -> None:
    heads = set(classifier_head_names(model))
    body = sorted(k for k in missing if k.split(".")[0] not in heads)
    if body:
        logger.warning("model %r: %d weight(s) outside the classifier head are not in the "
                       "checkpoint and were initialised randomly: %s", spec.name, len(body),
                       ", ".join(body[:10]) + (" ..." if len(body) > 10 else ""))


def classifier_head_names(model: nn.Module) -> list[str]:
    """Top-level modules of a *ForSequenceClassification model that hold weights and are not
    the pretrained body: BERT "classifier", GPT-2 "score", DistilBERT "pre_classifier" and
    "classifier", BART "classification_head". They start untrained, so they must be trained,
    saved with an adapter and never quantised."""
    body = getattr(model, "base_model_prefix", None)
    return [name for name, child in model.named_children()
            if name != body and next(child.parameters(), None) is not None]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameters, each shared tensor once. A bitsandbytes 4-bit weight is
    stored packed (two values per byte, shape [n/2, 1]); its `quant_state.shape` holds the
    real shape, so a QLoRA model counts like the fp32 model it quantises."""
    trainable = total = 0
    for parameter in model.parameters():
        state = getattr(parameter, "quant_state", None)
        count = state.shape.numel() if state is not None else parameter.numel()
        total += count
        trainable += count if parameter.requires_grad else 0
    return trainable, total
