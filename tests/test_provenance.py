"""Provenance of a run: which code produced a record."""
from bench.measure.environment import git_state


def test_a_copied_tree_records_the_commit_its_caller_names(monkeypatch, tmp_path):
    monkeypatch.setenv("PEFT_BENCH_SOURCE_COMMIT", "6ebea54")
    assert git_state(tmp_path) == {"commit": "6ebea54", "dirty": None,
                                   "from": "PEFT_BENCH_SOURCE_COMMIT"}
    monkeypatch.delenv("PEFT_BENCH_SOURCE_COMMIT")
    assert git_state(tmp_path)["commit"] is None  # not a git checkout, and nothing named
