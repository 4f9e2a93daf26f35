"""Provenance of a run: which code produced a record, with which libraries."""
import re
import tomllib
from pathlib import Path

from bench.measure.environment import LIBRARIES, git_state


def test_a_copied_tree_records_the_commit_its_caller_names(monkeypatch, tmp_path):
    monkeypatch.setenv("PEFT_BENCH_SOURCE_COMMIT", "6ebea54")
    assert git_state(tmp_path) == {"commit": "6ebea54", "dirty": None,
                                   "from": "PEFT_BENCH_SOURCE_COMMIT"}
    monkeypatch.delenv("PEFT_BENCH_SOURCE_COMMIT")
    assert git_state(tmp_path)["commit"] is None  # not a git checkout, and nothing named


def test_the_recorded_versions_cover_every_runtime_dependency():
    """A dependency the project declares but the record leaves out is a version nobody can
    trace afterwards (openvino and nncf once were)."""
    declared = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    names = {re.split(r"[<>=!~\[ ;]", line, maxsplit=1)[0].lower()
             for line in declared["project"]["dependencies"]}
    assert names <= set(LIBRARIES), sorted(names - set(LIBRARIES))
