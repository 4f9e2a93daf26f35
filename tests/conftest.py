"""Tests never reach the hub, and share one cache of tiny models and tokenized data (tests that
change the working folder would otherwise rebuild it in each one)."""
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFT_BENCH_CACHE",
                      str(Path(__file__).resolve().parent.parent / ".cache" / "peft-bench"))
