"""Tests never reach the hub, and share one cache of tiny models and tokenized data (tests that
change the working folder would otherwise rebuild it in each one). The cost preview that
`bench run` and `bench validate` print reads no committed results in tests: what a test
prints must not depend on the evidence committed beside it, and reading ~300 records took
about 0.2 s per call (the validate property test makes 121)."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFT_BENCH_CACHE",
                      str(Path(__file__).resolve().parent.parent / ".cache" / "peft-bench"))


@pytest.fixture(autouse=True)
def no_committed_results_in_the_preview(tmp_path_factory, monkeypatch):
    import bench.executors.cost_preview as cost_preview

    monkeypatch.setattr(cost_preview, "CHECKOUT_RESULTS",
                        tmp_path_factory.getbasetemp() / "no-committed-results")
