"""Method-level statistics (bench/stats/methods.py, best_set.py, calibration.py) on synthetic
seeds x examples: seeded, deterministic, no training."""
import numpy as np
import pytest

from bench.stats.best_set import Contender, best_set, holm
from bench.stats.bootstrap import metric_under_weights
from bench.stats.calibration import false_verdict_share, power_share, synthetic_seeds
from bench.stats.methods import (RUNS_NOT_METHODS, SeedRuns, compare_methods, leave_one_out,
                                 metric_of)

LABELS, SEEDS = synthetic_seeds(24, seed=3)  # one method, 24 seeds, ~2 points of seed noise


def runs(rows: np.ndarray) -> SeedRuns:
    return SeedRuns.of(LABELS, list(rows), 2)


@pytest.mark.parametrize("metric", ["accuracy", "f1_macro", "f1_micro"])
def test_leaving_one_example_out_matches_a_zero_weight(metric):
    one = runs(SEEDS[:1])
    weights = np.ones((1, len(LABELS)))
    weights[0, 7] = 0
    expected = metric_under_weights(metric, one.truth, one.predicted[0], weights)[0]
    assert leave_one_out(metric, one.truth, one.predicted[0])[7] == pytest.approx(expected)
    assert metric_of(metric, one.truth, one.predicted[0]) == pytest.approx(
        metric_under_weights(metric, one.truth, one.predicted[0], np.ones(len(LABELS)))[0])


def test_same_method_false_verdict_rate_is_near_its_level():
    """200 splits of 24 seeds of one method into two pseudo-methods of 3: at most 7% called
    different (nominal 5%); this data gives 7 of 200."""
    share = false_verdict_share(LABELS, SEEDS, 2, 3, 200, seed=1)
    assert share.trials == 200 and share.rate <= 0.07
    assert share.low <= share.rate <= share.high


def test_power_against_a_planted_three_point_difference_grows_with_seeds():
    at_3 = power_share(LABELS, SEEDS, 2, 3, 100, 3.0, seed=2)
    at_5 = power_share(LABELS, SEEDS, 2, 5, 100, 3.0, seed=2)
    assert 0.1 < at_3.rate < at_5.rate  # real but partial power at these seeds
    assert at_5.rate > 0.2


def test_fewer_than_three_seeds_is_runs_not_methods():
    result = compare_methods(runs(SEEDS[:2]), runs(SEEDS[2:5]))
    assert result.verdict == RUNS_NOT_METHODS and result.p_value is None
    assert not result.method_level


def test_inconclusive_says_how_many_seeds_would_settle_it():
    result = compare_methods(runs(SEEDS[:3]), runs(SEEDS[3:6]), margin=0.02)
    assert result.verdict == "inconclusive"
    assert result.seeds_to_settle is not None and result.seeds_to_settle > 3
    assert result.detectable > abs(result.difference)


def test_identical_seeds_with_a_wide_margin_are_equivalent():
    same = runs(SEEDS[:3])
    result = compare_methods(same, runs(SEEDS[:3]), margin=0.02)
    assert result.difference == 0 and result.verdict == "equivalent" and result.noninferior


def test_a_large_planted_difference_is_worse():
    from bench.stats.calibration import plant_difference

    worse = plant_difference(LABELS, SEEDS[3:8], 15.0, 2, np.random.default_rng(0))
    result = compare_methods(runs(worse), runs(SEEDS[8:13]))
    assert result.verdict == "worse" and result.high < 0


def test_holm_adjusts_step_down():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_best_set_keeps_the_unshown_names_the_worse_and_the_cheapest():
    from bench.stats.calibration import plant_difference

    rng = np.random.default_rng(0)
    reference = Contender("ref", runs(SEEDS[:5]), 0.80, cost={"trainable_params": 100})
    close = Contender("close", runs(SEEDS[5:10]), 0.79, cost={"trainable_params": 10})
    bad = Contender("bad", runs(plant_difference(LABELS, SEEDS[10:15], 15.0, 2, rng)), 0.78,
                    cost={"trainable_params": 1})
    single = Contender("single", runs(SEEDS[15:16]), 0.95, converged=False)
    result = best_set([reference, close, bad, single], margin=0.05, resamples=500)
    assert result.reference == "ref"  # the single seed's higher validation does not make it
    assert [m.name for m in result.members] == ["ref", "close", "single"]
    assert result.member("single").why == RUNS_NOT_METHODS
    assert [m.name for m in result.shown_worse] == ["bad"]
    assert result.cheapest["trainable_params"] == "close"  # non-inferior within 5 points
    chances = [m.probability_best for m in result.members[:2]]
    assert sum(chances) == pytest.approx(1.0) and result.named_alone is None


def test_a_difference_that_does_not_survive_holm_is_not_called_worse():
    """The methods suite kept AdaLoRA in the set (Holm p above 0.05 among 12 comparisons) while
    its own interval excluded 0: the answer read "worse" for a member of the set."""
    from bench.report.method_set import corrected_verdict
    from bench.stats.best_set import Member
    from bench.stats.calibration import plant_difference

    worse = plant_difference(LABELS, SEEDS[3:8], 15.0, 2, np.random.default_rng(0))
    comparison = compare_methods(runs(worse), runs(SEEDS[8:13]))
    assert comparison.verdict == "worse"
    kept = Member("m", "not shown worse", comparison, adjusted_p=0.09)
    assert corrected_verdict(kept, 0.05) == "worse uncorrected, not after Holm (p=0.090)"
    assert corrected_verdict(Member("m", "shown worse", comparison, 0.01), 0.05) == "worse"
