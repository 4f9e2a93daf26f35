"""Grid sweeps, random and Halton searches: stable trials, draws inside their bounds, even
coverage where promised, clear errors."""
import numpy as np
import pytest

from bench.errors import BenchInputError
from bench.suite.sweeps import Distribution, parse_sweep, radical_inverse

RANDOM = {"search": "random", "trials": 20, "search_seed": 7,
          "learning_rate": {"log_uniform": [1e-4, 1e-2]}, "dropout": {"uniform": [0.0, 0.3]},
          "r": [4, 8, 16]}


def test_a_grid_is_every_combination_in_declared_order():
    sweep = parse_sweep({"r": [4, 16], "learning_rate": [1e-3, 5e-4]}, "[methods.x]")
    assert sweep.combinations() == [
        {"r": 4, "learning_rate": 1e-3}, {"r": 4, "learning_rate": 5e-4},
        {"r": 16, "learning_rate": 1e-3}, {"r": 16, "learning_rate": 5e-4}]


def test_random_trials_are_reproducible_and_more_trials_keep_the_first_ones():
    first = parse_sweep(RANDOM, "w").combinations()
    assert first == parse_sweep(dict(RANDOM), "w").combinations()
    assert parse_sweep({**RANDOM, "trials": 25}, "w").combinations()[:20] == first
    assert parse_sweep({**RANDOM, "search_seed": 8}, "w").combinations() != first


def test_random_draws_stay_in_bounds_and_spread_over_them():
    trials = parse_sweep({**RANDOM, "trials": 200}, "w").combinations()
    rates = [t["learning_rate"] for t in trials]
    assert all(1e-4 <= rate <= 1e-2 for rate in rates)
    # log-uniform: about half of the draws below the geometric middle (1e-3)
    assert 0.35 < sum(rate < 1e-3 for rate in rates) / len(rates) < 0.65
    assert all(0.0 <= t["dropout"] <= 0.3 for t in trials)
    assert {t["r"] for t in trials} == {4, 8, 16}


def test_draws_are_rounded_to_four_significant_digits():
    generator = np.random.default_rng(0)
    values = [Distribution("log_uniform", 1e-4, 1e-2).draw(generator) for _ in range(50)]
    assert all(value == float(f"{value:.4g}") for value in values)


def quarter_of(rate: float, low: float = 1e-4, high: float = 1e-2) -> int:
    return int(4 * np.log(rate / low) / np.log(high / low))


def test_halton_puts_one_rate_in_each_quarter_of_the_range_for_every_seed():
    # four independent draws leave a quarter of the range empty about 9 times in 10
    # (1 - 4!/4^4); a shifted base-2 sequence never does
    for seed in range(20):
        table = {"search": "halton", "trials": 4, "search_seed": seed,
                 "learning_rate": {"log_uniform": [1e-4, 1e-2]}}
        rates = [t["learning_rate"] for t in parse_sweep(table, "w").combinations()]
        assert sorted(map(quarter_of, rates)) == [0, 1, 2, 3], (seed, rates)
        eighths = [t["learning_rate"] for t in
                   parse_sweep({**table, "trials": 8}, "w").combinations()]
        assert eighths[:4] == rates  # more trials keep the first ones
        assert sorted(int(8 * np.log(r / 1e-4) / np.log(100)) for r in eighths) == list(range(8))


def test_random_draws_can_leave_a_quarter_untried():
    # why the study's default is Halton: seed 0's four draws miss a quarter of the range
    table = {"search": "random", "trials": 4, "search_seed": 0,
             "learning_rate": {"log_uniform": [1e-4, 1e-2]}}
    rates = [t["learning_rate"] for t in parse_sweep(table, "w").combinations()]
    assert len(set(map(quarter_of, rates))) < 4


def test_halton_trials_are_reproducible_in_bounds_and_use_every_choice():
    table = {**RANDOM, "search": "halton"}
    trials = parse_sweep(table, "w").combinations()
    assert trials == parse_sweep(dict(table), "w").combinations()
    assert trials != parse_sweep({**table, "search_seed": 8}, "w").combinations()
    assert all(1e-4 <= t["learning_rate"] <= 1e-2 and 0.0 <= t["dropout"] <= 0.3
               for t in trials)
    assert {t["r"] for t in trials} == {4, 8, 16}
    assert all(list(t) == ["learning_rate", "dropout", "r"] for t in trials)  # declared order


def test_radical_inverse_mirrors_the_digits():
    assert [radical_inverse(i, 2) for i in range(5)] == [0.0, 0.5, 0.25, 0.75, 0.125]
    assert [radical_inverse(i, 3) for i in range(4)] == [0.0, 1 / 3, 2 / 3, 1 / 9]


def test_bounds_list_the_extremes_that_the_suite_checks():
    assert parse_sweep(RANDOM, "w").bounds() == {
        "learning_rate": [1e-4, 1e-2], "dropout": [0.0, 0.3], "r": [4, 8, 16]}


@pytest.mark.parametrize("table, message", [
    ({"search": "bayes", "r": [4]}, "sweep.search: expected one of 'grid', 'random', 'halton'"),
    ({"search": "halton", "r": [4]}, "sweep.trials: expected an integer >= 1 for a halton"),
    ({"search": "random", "r": [4]}, "sweep.trials: expected an integer >= 1"),
    ({"search": "random", "trials": 0, "r": [4]}, "sweep.trials: expected an integer >= 1"),
    ({"search": "random", "trials": 2, "search_seed": -1, "r": [4]}, "search_seed"),
    ({"trials": 3, "r": [4]}, "need search = \"random\""),
    ({"r": []}, "sweep.r: expected a non-empty list"),
    ({"learning_rate": {"log_uniform": [1e-4, 1e-2]}}, "expected a non-empty list of values,"),
    ({"search": "random", "trials": 2, "learning_rate": {"log_uniform": [0, 1e-2]}},
     "log_uniform: expected low > 0"),
    ({"search": "random", "trials": 2, "dropout": {"uniform": [0.3, 0.1]}}, "low < high"),
    ({"search": "random", "trials": 2, "dropout": {"normal": [0, 1]}}, "expected one of"),
])
def test_bad_sweeps_name_the_key(table, message):
    with pytest.raises(BenchInputError, match=None) as caught:
        parse_sweep(table, "s.toml [methods.x]")
    assert message in str(caught.value) and "[methods.x].sweep" in str(caught.value)
