"""Turning a suite's TOML tables into typed dataclasses, every problem named: unknown keys,
wrong types and values out of range, each with the file, the table and the key.

A spec (or a plugin's Params) declares the interval of each numeric key in its `ranges` class
variable, and checks that involve several keys in a `field_problems` method.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from bench.errors import BenchInputError, SuiteProblems


@dataclass(frozen=True)
class Range:
    """The interval a numeric key must lie in (for a list: each item); None is unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return (f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.high_open else ']'}")


POSITIVE = Range(0, low_open=True)
NOT_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
FRACTION = Range(0, 1, high_open=True)  # [0, 1): dropout, pruning ratios, warm-up share
SEED = Range(0, 2**32 - 1)  # what numpy's generators accept


@dataclass(frozen=True)
class CountOrFraction:
    """A split size: a row count (int >= 1) or a share of the rows (float in (0, 1))."""

    def contains(self, value: float) -> bool:
        return value >= 1 if isinstance(value, int) else 0 < value < 1

    def describe(self) -> str:
        return "a count >= 1 or a fraction in (0, 1)"


def check_ranges(spec: Any, where: str) -> list[str]:
    """One message per key of `spec` whose value lies outside its declared range, plus the
    spec's own `field_problems()` (checks across keys), each naming `where` and the key."""
    problems = []
    for key, allowed in getattr(type(spec), "ranges", {}).items():
        value = getattr(spec, key)
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            problems.append(f"{where}.{key}: expected a non-empty list")
        bad = [v for v in values if v is not None and not isinstance(v, bool)
               and not (math.isfinite(v) and allowed.contains(v))]
        if bad:
            problems.append(f"{where}.{key}: expected {allowed.describe()}, got {bad[0]!r}")
    if hasattr(spec, "field_problems"):
        problems += [f"{where}.{key}: {message}" for key, message in spec.field_problems()]
    return problems


def from_mapping(cls: type, data: dict[str, Any], where: str, ranges: bool = True,
                 **fixed: Any) -> Any:
    """Build dataclass `cls` from `data`, naming `where` (file and table) in every error.
    Raises SuiteProblems listing every bad key of the table (unknown, wrong type, and with
    `ranges`, out of range)."""
    if not isinstance(data, dict):
        raise BenchInputError(f"{where}: expected a table, got {describe_value(data)}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = dict(fixed)
    problems = []
    for key, value in data.items():
        try:
            if key not in known or key in fixed:
                raise BenchInputError(unknown_key_message(where, key,
                                                          [k for k in known if k not in fixed]))
            values[key] = check_type(value, hints[key], f"{where}.{key}")
        except BenchInputError as error:
            problems.append(str(error))
    if problems:
        raise SuiteProblems(problems)
    try:
        spec = cls(**values)
    except TypeError as error:  # a required field is missing
        raise BenchInputError(f"{where}: {error}") from None
    if ranges and (problems := check_ranges(spec, where)):
        raise SuiteProblems(problems)
    return spec


def describe_value(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "true or false"}.get(
        type(value), f"{value!r}")


def check_keys(table: Any, allowed: tuple[str, ...] | list[str], where: str) -> bool:
    """Every key of `table` is allowed (SuiteProblems lists each unknown one)."""
    if not isinstance(table, dict):
        raise BenchInputError(f"{where}: expected a table, got {describe_value(table)}")
    unknown = [unknown_key_message(where, key, list(allowed)) for key in table
               if key not in allowed]
    if unknown:
        raise SuiteProblems(unknown)
    return True


def unknown_key_message(where: str, key: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(key, known, n=1)
    maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"{where}: unknown key {key!r}{maybe}; expected one of: {', '.join(sorted(known))}"


def check_type(value: Any, hint: Any, where: str) -> Any:
    """Check a TOML value against a type hint; ints are accepted where floats are expected."""
    if type_matches(value, hint):
        if hint is float or (float in typing.get_args(hint) and isinstance(value, int)
                             and not isinstance(value, bool) and int not in typing.get_args(hint)):
            return float(value)
        return value
    raise BenchInputError(f"{where}: expected {describe(hint)}, got {value!r}")


def type_matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(type_matches(value, arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(type_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in typing.get_args(hint) if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return f"a list of {describe(item)}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint)))
