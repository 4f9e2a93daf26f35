"""Prepared splits -> tokenized `datasets.Dataset`s, cached on disk.

No padding here: the training collator and the evaluation batches pad each batch to its own
longest row, which for short texts (tweets) saves most of the compute. The cache makes every
cell after the first with the same data and tokenizer skip tokenization.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from datasets import Dataset, DatasetDict, Features, List, Value

from bench.data import PreparedData, Split, dataset_fingerprint
from bench.paths import cache_dir

__all__ = ["tokenize_splits", "dataset_fingerprint", "tokenizer_identity"]

MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


def tokenize_splits(data: PreparedData, tokenizer, max_length: int,
                    cache_key: str | None = None) -> dict[str, Dataset]:
    """"train", "validation", "test" with input_ids, attention_mask (token_type_ids when the
    tokenizer makes them) and labels, truncated to `max_length`.

    `cache_key`: extra text mixed into the cache key, for a tokenizer that its name, class and
    vocabulary size do not tell apart from another (e.g. a local folder edited in place).
    """
    directory = cache_dir("tokenized") / cache_name(data, tokenizer, max_length, cache_key)
    if directory.is_dir():
        return dict(DatasetDict.load_from_disk(str(directory)))
    multi_label = data.task.multi_label
    tokenized = DatasetDict({name: tokenize_split(split, tokenizer, max_length, multi_label)
                             for name, split in data.splits().items()})
    save_atomically(tokenized, directory)
    return dict(tokenized)


def tokenizer_identity(tokenizer) -> str:
    """What makes two tokenizers produce the same ids: class, source, vocabulary size (added
    tokens included) and the side that truncation cuts."""
    return "|".join([type(tokenizer).__name__, str(tokenizer.name_or_path), str(len(tokenizer)),
                     str(getattr(tokenizer, "truncation_side", "right"))])


def cache_name(data: PreparedData, tokenizer, max_length: int, cache_key: str | None) -> str:
    key = "\n".join([dataset_fingerprint(data), tokenizer_identity(tokenizer), str(max_length),
                     cache_key or ""])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def tokenize_split(split: Split, tokenizer, max_length: int, multi_label: bool) -> Dataset:
    """One split as a Dataset with explicit features, so that an empty split has the same
    columns and types as a full one."""
    inputs = [name for name in tokenizer.model_input_names if name in MODEL_INPUTS]
    if split.texts:
        encoded = tokenizer(split.texts, split.text_pairs, truncation=True, max_length=max_length)
        columns = {name: encoded[name] for name in inputs}
    else:  # tokenizers reject an empty batch
        columns = {name: [] for name in inputs}
    columns["labels"] = split.labels
    features = Features({name: List(Value("int64")) for name in inputs})
    features["labels"] = List(Value("float32")) if multi_label else Value("int64")
    return Dataset.from_dict(columns, features=features)


def save_atomically(tokenized: DatasetDict, directory: Path) -> None:
    """Write to a temporary folder beside `directory`, then rename: a crash leaves no partial
    cache, and of two processes racing, the second keeps the first one's copy."""
    temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        tokenized.save_to_disk(str(temporary))
        os.rename(temporary, directory)
    except OSError:
        if not directory.is_dir():
            raise
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)
