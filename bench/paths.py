"""Where peft-bench keeps caches (tokenized data, built-in tiny models)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """`$PEFT_BENCH_CACHE` or ./.cache/peft-bench (inside the work tree, git-ignored)."""
    root = Path(os.environ.get("PEFT_BENCH_CACHE", ".cache/peft-bench")).resolve()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
