"""bench/stats/paired_seeds.py: the verdict pays for the looks taken before seeds were added."""
import numpy as np
import pytest

from bench.stats.methods import SeedRuns
from bench.stats.paired_seeds import compare_paired_seeds

EXAMPLES, SEEDS = 1000, 10
RESAMPLES = 500  # the rules under test hold for any bootstrap size; 4,000 costs 4 s here


def twins(rng: np.random.Generator) -> tuple[SeedRuns, SeedRuns]:
    """A right on about 80% of the examples per seed; B the same answers with 3-14 right ones
    turned wrong and 3-14 wrong ones right (a harmless lever: the paired differences scatter
    around 0)."""
    labels = rng.integers(0, 2, EXAMPLES)
    a, b = [], []
    for _ in range(SEEDS):
        answers = np.where(rng.random(EXAMPLES) < 0.8, labels, 1 - labels)
        twin = answers.copy()
        flipped = np.concatenate([
            rng.choice(np.flatnonzero(answers == labels), rng.integers(3, 15), replace=False),
            rng.choice(np.flatnonzero(answers != labels), rng.integers(3, 15), replace=False)])
        twin[flipped] = 1 - twin[flipped]
        a.append(answers)
        b.append(twin)
    return SeedRuns.of(labels, a, 2), SeedRuns.of(labels, b, 2)


def test_one_look_reads_the_90_percent_interval():
    comparison = compare_paired_seeds(*twins(np.random.default_rng(0)), resamples=RESAMPLES)
    assert comparison.looks == 1
    assert comparison.interval_verdict == pytest.approx(comparison.interval_90)


def test_more_looks_widen_the_interval_the_verdict_reads_and_can_withhold_equivalence():
    runs = twins(np.random.default_rng(0))
    once = compare_paired_seeds(*runs, resamples=RESAMPLES)
    fourth = compare_paired_seeds(*runs, looks=4, resamples=RESAMPLES)
    assert fourth.standard_error == once.standard_error  # same bootstrap draws
    assert fourth.interval_90 == once.interval_90  # the descriptive intervals do not move
    low, high = fourth.interval_verdict
    assert low < once.interval_90[0] and high > once.interval_90[1]
    # a margin the 90% interval fits in and the looks-corrected interval does not
    margin = (max(map(abs, once.interval_90)) + max(abs(low), abs(high))) / 2
    assert compare_paired_seeds(*runs, margin=margin, resamples=RESAMPLES).verdict == "equivalent"
    assert compare_paired_seeds(*runs, margin=margin, looks=4,
                                resamples=RESAMPLES).verdict == "inconclusive"


def test_looks_below_one_are_refused():
    with pytest.raises(ValueError, match="looks 0"):
        compare_paired_seeds(*twins(np.random.default_rng(0)), looks=0, resamples=RESAMPLES)
