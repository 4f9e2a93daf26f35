"""A method entry's `sweep`: the value combinations its cells run, by grid or by random search.

Grid (the default): every key lists its values; one cell per combination.
Random search: `search = "random"`, `trials = N` and optionally `search_seed` (default 0);
each key is a list (a uniform choice), `{ uniform = [low, high] }` or
`{ log_uniform = [low, high] }` (learning rates). Draws are made trial by trial, key by key in
sorted order, from numpy's generator seeded with `search_seed`, and rounded to 4 significant
digits: the same suite always gives the same trials, and raising `trials` keeps the earlier
ones (so their cells resume instead of rerunning).

Halton search: `search = "halton"`, the same keys. Independent draws cluster: four random
log-uniform rates left the top third of every range of the default suite's study untried.
A Halton sequence (base 2 for the first key in sorted order, 3 for the next, ...), shifted
modulo 1 by a random offset per key drawn from `search_seed`, fills the space evenly: any
first 2^k trials put one value in each 1/2^k of the first key's range (with one key, any 4
trials cover each quarter of a learning-rate range), and raising `trials` still keeps the
earlier ones. A suite's [study] (bench/suite/study.py) draws its trials here too; a sampler
or pruner library (Optuna) could replace `combinations` without changing what a suite
declares.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.errors import BenchInputError, SuiteProblems
from bench.table_checks import describe_value

CONTROL_KEYS = ("search", "trials", "search_seed")
DISTRIBUTIONS = ("uniform", "log_uniform")
SEARCHES = ("grid", "random", "halton")
SAMPLED = ("random", "halton")  # the searches that draw `trials` points


@dataclass(frozen=True)
class Distribution:
    kind: str  # "uniform" or "log_uniform"
    low: float
    high: float

    def draw(self, generator: np.random.Generator) -> float:
        if self.kind == "log_uniform":
            value = math.exp(generator.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = generator.uniform(self.low, self.high)
        return float(f"{value:.4g}")

    def at(self, position: float) -> float:
        """The value at `position` (0 <= position < 1) along the range, on the log scale for
        log_uniform; rounded as `draw` rounds."""
        if self.kind == "log_uniform":
            low, high = math.log(self.low), math.log(self.high)
            value = math.exp(low + (high - low) * position)
        else:
            value = self.low + (self.high - self.low) * position
        return float(f"{value:.4g}")


def radical_inverse(index: int, base: int) -> float:
    """`index`'s digits in `base` mirrored behind the point (base 2: 0, 1/2, 1/4, 3/4, 1/8, ...):
    the Halton sequence's coordinate in that base."""
    position, scale = 0.0, 1.0 / base
    while index:
        index, digit = divmod(index, base)
        position += digit * scale
        scale /= base
    return position


def first_primes(count: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % prime for prime in primes):
            primes.append(candidate)
        candidate += 1
    return primes


@dataclass(frozen=True)
class Sweep:
    """What a `sweep` table asks for, checked: `axes` maps each swept key to its list of
    values (grid, or choices of a random search) or its Distribution."""

    axes: dict[str, list | Distribution]
    search: str = "grid"  # one of SEARCHES
    trials: int | None = None  # random and halton only
    search_seed: int = 0

    def combinations(self) -> list[dict[str, Any]]:
        """The swept values of each cell, in a stable order."""
        if self.search == "grid":
            return [dict(zip(self.axes, values))
                    for values in itertools.product(*self.axes.values())]
        if self.search == "halton":
            return self.halton_trials()
        return self.random_trials()

    def random_trials(self) -> list[dict[str, Any]]:
        generator = np.random.default_rng(self.search_seed)
        trials = []
        for _ in range(self.trials):
            trial = {}
            for key in sorted(self.axes):
                axis = self.axes[key]
                trial[key] = (axis.draw(generator) if isinstance(axis, Distribution)
                              else axis[int(generator.integers(len(axis)))])
            trials.append({key: trial[key] for key in self.axes})
        return trials

    def halton_trials(self) -> list[dict[str, Any]]:
        keys = sorted(self.axes)
        generator = np.random.default_rng(self.search_seed)
        shifts = {key: float(generator.uniform()) for key in keys}
        bases = dict(zip(keys, first_primes(len(keys))))
        trials = []
        for index in range(self.trials):
            trial = {}
            for key in keys:
                position = (radical_inverse(index, bases[key]) + shifts[key]) % 1.0
                axis = self.axes[key]
                trial[key] = (axis.at(position) if isinstance(axis, Distribution)
                              else axis[min(int(position * len(axis)), len(axis) - 1)])
            trials.append({key: trial[key] for key in self.axes})
        return trials

    def bounds(self) -> dict[str, list]:
        """Every value a key can take at its extremes (list items, distribution ends): what
        the suite checks against the key's type and range."""
        return {key: [axis.low, axis.high] if isinstance(axis, Distribution) else axis
                for key, axis in self.axes.items()}


def parse_sweep(table: Any, where: str, name: str = "sweep") -> Sweep:
    """The sweep of `table`, or SuiteProblems naming each bad key (`where` is the entry,
    `name` the entry's key that holds the table, none for the [study] table itself)."""
    where = f"{where}.{name}" if name else where
    if not isinstance(table, dict):
        raise BenchInputError(f"{where}: expected a table, got {describe_value(table)}")
    problems: list[str] = []
    search = table.get("search", "grid")
    if search not in SEARCHES:
        problems.append(f"{where}.search: expected one of "
                        f"{', '.join(map(repr, SEARCHES))}, got {search!r}")
    trials, seed = table.get("trials"), table.get("search_seed", 0)
    sampled = search in SAMPLED
    if sampled:
        if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
            problems.append(f"{where}.trials: expected an integer >= 1 for a {search} "
                            f"search, got {trials!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            problems.append(f"{where}.search_seed: expected an integer >= 0, got {seed!r}")
    elif "trials" in table or "search_seed" in table:
        problems.append(f"{where}: trials and search_seed need search = \"random\" or "
                        "\"halton\"")
    axes: dict[str, list | Distribution] = {}
    for key, value in table.items():
        if key in CONTROL_KEYS:
            continue
        try:
            axes[key] = parse_axis(value, sampled, f"{where}.{key}")
        except BenchInputError as error:
            problems.append(str(error))
    if problems:
        raise SuiteProblems(problems)
    return Sweep(axes, search, trials if sampled else None, seed)


def parse_axis(value: Any, sampled: bool, where: str) -> list | Distribution:
    if isinstance(value, list) and value:
        return value
    if isinstance(value, dict) and sampled:
        if len(value) != 1 or next(iter(value)) not in DISTRIBUTIONS:
            raise BenchInputError(f"{where}: expected one of {{ uniform = [low, high] }} or "
                                  f"{{ log_uniform = [low, high] }}, got {value!r}")
        kind, ends = next(iter(value.items()))
        if not (isinstance(ends, list) and len(ends) == 2 and all(
                isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e)
                for e in ends) and ends[0] < ends[1]):
            raise BenchInputError(f"{where}.{kind}: expected [low, high] with low < high, "
                                  f"got {ends!r}")
        if kind == "log_uniform" and ends[0] <= 0:
            raise BenchInputError(f"{where}.log_uniform: expected low > 0, got {ends[0]!r}")
        return Distribution(kind, float(ends[0]), float(ends[1]))
    expected = ("a non-empty list of values or a distribution table" if sampled
                else "a non-empty list of values")
    raise BenchInputError(f"{where}: expected {expected}, got {describe_value(value)}")
