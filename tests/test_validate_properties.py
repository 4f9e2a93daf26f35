"""Property: whatever single change is made to a valid suite (a key dropped, renamed, given
another type, negated or emptied), `bench validate` either accepts it (exit 0) or answers
exit 2 with one plain line per problem naming the file; never a traceback.

Deterministic (derandomize): the same examples on every run, so it cannot flake."""
import contextlib
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cli import main

VALID: dict[str, Any] = {
    "suite": {"name": "prop", "description": "a suite to break"},
    "defaults": {"training": {"learning_rate": 1e-3, "epochs": 1, "batch_size": 8,
                              "warmup_ratio": 0.1, "device": "cpu"}},
    "models": {"m": {"source": "tiny-bert"}},
    "datasets": {"d": {"source": "csv", "path": "data.csv", "test_size": 0.25,
                       "text_column": "text", "label_column": "label"}},
    "methods": {"full": {}, "lora": {"r": 4, "dropout": 0.1, "target_modules": ["query", "value"],
                                     "training": {"learning_rate": 5e-3}}},
    "matrix": [{"models": ["m"], "datasets": ["d"], "methods": ["full", "lora"]}],
    "deploy": {"backends": ["torch"], "variants": [["prune", "int8"]], "batch_sizes": [1, 8]},
    "compressions": {"prune": {"ffn_ratio": 0.5}},
    "compare": {"max_f1_drop": 0.02},
}
OTHER_TYPES = ["text", 0, 7, -2.5, True, [], ["a"], [1, 2], {"k": 1}]


def to_toml(suite: dict) -> str:
    """A TOML writer for suites: tables as [headers], everything else inline."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"

    lines: list[str] = []

    def table(prefix: tuple[str, ...], entries: dict) -> None:
        if prefix:
            lines.append("[" + ".".join(json.dumps(p) for p in prefix) + "]")
        lines.extend(f"{json.dumps(k)} = {value(v)}" for k, v in entries.items()
                     if not isinstance(v, dict))
        for k, v in entries.items():
            if isinstance(v, dict):
                table(prefix + (k,), v)

    table((), suite)
    return "\n".join(lines) + "\n"


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key and list item of the suite, as a path of keys and indices."""
    children = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else [])
    found = []
    for key, child in children:
        found.append(prefix + (key,))
        found += paths(child, prefix + (key,))
    return found


def mutations() -> list[tuple[tuple, str]]:
    found = []
    for path in paths(VALID):
        target = lookup(VALID, path)
        found += [(path, "drop"), (path, "retype"), (path, "empty")]
        if isinstance(path[-1], str):
            found.append((path, "rename"))
        if isinstance(target, (int, float, str)):
            found.append((path, "negate"))
    return found


def lookup(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def mutate(path: tuple, operation: str, replacement: Any) -> dict:
    suite = json.loads(json.dumps(VALID))
    parent, key = lookup(suite, path[:-1]), path[-1]
    value = parent[key]
    if operation == "drop":
        del parent[key]
    elif operation == "rename":
        parent[key + "x"] = parent.pop(key)
    elif operation == "retype":
        parent[key] = replacement
    elif operation == "empty":
        parent[key] = {dict: {}, list: [], str: ""}.get(type(value), 0)
    elif isinstance(value, bool):  # negate
        parent[key] = not value
    elif isinstance(value, str):
        parent[key] = "-" + value
    else:
        parent[key] = -value if value else -1
    return suite


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mutants")
    rows = [f"text number {i},{('good', 'bad')[i % 2]}" for i in range(24)]
    (folder / "data.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    return folder


def validate(path: Path) -> tuple[int, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["validate", str(path)])
    return status, [line for line in err.getvalue().splitlines()  # the verdict lines: not
                    if line.strip() and " to run, projected about " not in line]  # the preview


def test_the_writer_round_trips_the_valid_suite(folder):
    assert tomllib.loads(to_toml(VALID)) == VALID
    path = folder / "valid.toml"
    path.write_text(to_toml(VALID))
    assert validate(path) == (0, [f"{path}: valid, 2 cell(s) -> runs/prop"])


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutation=st.sampled_from(mutations()), replacement=st.sampled_from(OTHER_TYPES))
def test_any_single_change_is_accepted_or_named_never_a_traceback(folder, mutation, replacement):
    path_in_suite, operation = mutation
    suite = folder / "mutant.toml"
    suite.write_text(to_toml(mutate(path_in_suite, operation, replacement)))
    status, lines = validate(suite)  # an exception other than bad input fails the test here
    if status == 0:
        assert len(lines) == 1 and lines[0].startswith(f"{suite}: valid"), lines
        return
    assert status == 2, (mutation, lines)
    # One line per problem, each naming the file; a renamed or dropped table can be two
    # problems at once (an unknown key, and a table missing).
    assert 1 <= len(lines) <= 2, (mutation, lines)
    assert len(set(lines)) == len(lines), lines
    for line in lines:
        assert line.startswith(f"error: {suite}") or line.startswith(f"error: suite file"), line
        assert "Traceback" not in line and len(line) < 600, line
