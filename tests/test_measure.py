"""Latency measurement on a fake clock and fake callables: which calls are timed, when timing
stops, what the statistics are, the order of the interleaved rounds, the speed-up's interval
and the machine-load flag. No model and no real clock: every figure here is known exactly."""
import math
import statistics

import numpy as np
import pytest

from bench.plugins import Predictor
from bench.measure.machine_load import BUSY_OTHER_CORES, LoadProbe, own_cpu_s
from bench.measure.trackers import summarise, time_until
from bench.record.deployment import Footprint
from bench.measure.speedup import (INCONCLUSIVE, NO_DIFFERENCE, OVER_PROCESSES, OVER_ROUNDS,
                                   between_process_interval, median_interval, min_rounds, ratio_interval, speedup, verdict)
from bench.stages.timing_rounds import (RoundBudget, RoundTimes, first_calls, interleaved_rounds,
                                        pool_processes, round_order, time_batches, warm_up)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeModel:
    """A callable that 'takes' the next of `durations` (then the last one forever) on the fake
    clock, and logs its calls under `name`."""

    def __init__(self, clock: FakeClock, durations: list[float], name: str = "m",
                 log: list[str] | None = None) -> None:
        self.clock, self.durations, self.name = clock, list(durations), name
        self.log = log if log is not None else []
        self.calls = 0

    def __call__(self, *args) -> None:
        self.clock.now += self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1
        self.log.append(self.name)


def predictor(model: FakeModel) -> Predictor:
    return Predictor(model, {}, Footprint(0, 0, 0))


class QuietProbe(LoadProbe):
    """A load probe on fixed readings: nobody else uses the CPU, and it never sleeps."""

    def __init__(self) -> None:
        super().__init__(machine_cpu=lambda: 0.0, own_cpu=lambda: 0.0, clock=lambda: 0.0,
                         load=lambda: 0.0, cores=2)

    def quiet_check(self, label, seconds=0.0, sleep=None):
        return super().quiet_check(label, 0.0, sleep=lambda s: None)


def test_time_until_stops_on_the_call_count_when_calls_are_slow():
    clock = FakeClock()
    times = time_until(FakeModel(clock, [0.5]), min_calls=3, min_duration_s=0.1, clock=clock)
    assert times == [0.5, 0.5, 0.5]


def test_time_until_stops_on_the_duration_when_calls_are_fast():
    clock = FakeClock()
    times = time_until(FakeModel(clock, [0.01]), min_calls=3, min_duration_s=0.2, clock=clock)
    assert len(times) == 20 and sum(times) == pytest.approx(0.2)


def test_warm_up_calls_are_run_but_never_timed():
    clock, log = FakeClock(), []
    model = FakeModel(clock, [9.0, 9.0, 0.1], log=log)  # two slow calls, then fast ones
    warm_up({"m": model}, 2)
    rounds = interleaved_rounds({"m": model}, RoundBudget(6, 2, 2, 0.0), seed=1, clock=clock)
    assert model.calls == 2 + 6 * 2
    assert all(t == pytest.approx(0.1) for times in rounds.seconds["m"] for t in times)


def test_percentiles_and_throughput_match_numpy_on_known_samples():
    rounds_s = [[0.010, 0.030, 0.020], [0.050, 0.040], [0.015, 0.100, 0.012]]
    everything = np.array([t for r in rounds_s for t in r]) * 1000
    stats = summarise(rounds_s, cold_s=0.5, batch_size=8, sequence_length=16, warmup_calls=4)
    for q in (50, 90, 95, 99):
        assert getattr(stats, f"p{q}_ms") == pytest.approx(np.percentile(everything, q))
    assert stats.mean_ms == pytest.approx(everything.mean())
    assert stats.stdev_ms == pytest.approx(everything.std(ddof=1))
    assert stats.calls == 8 and stats.rounds == 3 and stats.cold_ms == pytest.approx(500)
    assert stats.rounds_p50_ms == pytest.approx([20.0, 45.0, 15.0])
    assert stats.samples_per_s == pytest.approx(8 / (np.median(everything) / 1000))
    assert stats.duration_s == pytest.approx(everything.sum() / 1000)


def test_the_cold_call_is_the_very_first_call_of_the_predictor():
    clock = FakeClock()
    model = FakeModel(clock, [3.0, 0.7, 0.1])
    cold = first_calls(predictor(model), {1: {"x": None}, 32: {"x": None}}, clock)
    assert cold == {1: pytest.approx(3.0), 32: pytest.approx(0.7)} and model.calls == 2


def test_every_round_runs_each_variant_once_in_its_own_recorded_shuffled_order():
    clock, log = FakeClock(), []
    names = list("ABCDE")
    calls = {name: FakeModel(clock, [0.1], name, log) for name in names}
    budget = RoundBudget(rounds=6, warmup_calls=0, min_calls=2, min_duration_s=0.0)
    times = interleaved_rounds(calls, budget, seed=7, clock=clock)
    orders = [log[i:i + 10:2] for i in range(0, len(log), 10)]
    assert log[::2] == log[1::2]  # a variant's calls of a round run back to back
    assert all(sorted(order) == names for order in orders) and len(orders) == 6
    assert len({tuple(order) for order in orders}) > 1  # not the same order every round
    assert orders == [round_order(names, seed) for seed in times.seeds]  # the seeds give it back
    log.clear()
    assert interleaved_rounds(calls, budget, seed=7, clock=clock).seeds == times.seeds
    assert [log[i:i + 10:2] for i in range(0, len(log), 10)] == orders


def fake_rounds(clock: FakeClock, durations: dict[str, list[float]]) -> dict:
    """Statistics of variants whose every call in round r takes durations[name][r] seconds."""
    current = {"round": 0}

    def call(name):
        def run():
            clock.now += durations[name][current["round"]]
        return run

    def round_done(index):
        current["round"] = index + 1

    rounds = len(next(iter(durations.values())))
    times = interleaved_rounds({name: call(name) for name in durations},
                               RoundBudget(rounds, 0, 3, 0.0), 3, clock, round_done=round_done)
    return {name: summarise(t, None, 1, 8, 0) for name, t in times.seconds.items()}


DRIFT = [0.010, 0.012, 0.009, 0.015, 0.011, 0.010]  # a machine whose speed moves from round to round


def test_identical_timings_have_no_measurable_difference():
    stats = fake_rounds(FakeClock(), {"ref": DRIFT, "same": DRIFT})
    result = speedup(stats["ref"].rounds_p50_ms, stats["same"].rounds_p50_ms)
    assert result.low <= 1.0 <= result.high and result.verdict == NO_DIFFERENCE
    assert result.ratio == pytest.approx(1.0) and result.method == OVER_ROUNDS


def test_noise_around_the_same_speed_within_the_band_is_no_measurable_difference():
    noisy = [d * f for d, f in zip(DRIFT, [1.03, 0.97, 1.02, 0.99, 1.04, 0.98])]
    stats = fake_rounds(FakeClock(), {"ref": DRIFT, "noisy": noisy})
    result = speedup(stats["ref"].rounds_p50_ms, stats["noisy"].rounds_p50_ms)
    assert result.low < 1.0 < result.high and result.verdict == NO_DIFFERENCE
    assert result.band == 0.05
    wide = speedup(stats["ref"].rounds_p50_ms, stats["noisy"].rounds_p50_ms, band=0.01)
    assert wide.verdict == INCONCLUSIVE  # holds 1, but also differences beyond +-1%


def test_a_clearly_faster_variant_excludes_one():
    stats = fake_rounds(FakeClock(), {"ref": DRIFT, "fast": [d / 2 for d in DRIFT]})
    ref, fast = stats["ref"], stats["fast"]
    result = speedup(ref.rounds_p50_ms, fast.rounds_p50_ms)
    assert result.verdict == "faster" and result.low > 1.0 and result.ratio == pytest.approx(2.0)
    assert result.ratio == pytest.approx(fast.samples_per_s / ref.samples_per_s)
    slower = speedup(fast.rounds_p50_ms, ref.rounds_p50_ms)
    assert slower.verdict == "slower" and slower.high < 1.0 and not slower.far_slower
    assert speedup([10.0] * 6, [61.0] * 6).far_slower


def test_the_median_interval_is_the_order_statistic_interval():
    assert min_rounds() == 6
    low, high, coverage = median_interval([5, 1, 4, 2, 6, 3])
    assert (low, high) == (1, 6) and coverage == pytest.approx(1 - 2 / 64)
    low, high, coverage = median_interval(list(range(1, 10)))  # 9 rounds: drop one each side
    assert (low, high) == (2, 8) and coverage == pytest.approx(1 - 2 * 10 / 512)
    with pytest.raises(ValueError, match="at least 6"):
        median_interval([1, 2, 3, 4, 5])


def test_band_verdicts():
    assert verdict(1.01, 1.2) == "faster" and verdict(0.8, 0.99) == "slower"
    assert verdict(0.96, 1.04) == NO_DIFFERENCE and verdict(0.97, 1.03, band=0.03) == NO_DIFFERENCE
    assert verdict(0.9, 1.04) == INCONCLUSIVE and verdict(0.99, 1.3) == INCONCLUSIVE
    assert verdict(0.96, 1.04, band=0.02) == INCONCLUSIVE


ROUND_NOISE = [1.00, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.00, 1.01]


def test_a_process_offset_widens_the_interval():
    """Three processes, same rounds noise: alike, then the second one 20% faster throughout."""
    alike = [[1.5 * n for n in ROUND_NOISE]] * 3
    offset = [[1.5 * n * f for n in ROUND_NOISE] for f in (1.0, 1.2, 0.95)]
    quiet, shifted = ratio_interval(alike), ratio_interval(offset)
    assert quiet.method == shifted.method == OVER_PROCESSES and quiet.confidence == 0.95
    assert shifted.high - shifted.low > 2 * (quiet.high - quiet.low)
    assert shifted.low < 1.5 * 0.95 and shifted.high > 1.5 * 1.2  # beyond the process medians
    assert quiet.low <= quiet.estimate <= quiet.high and quiet.estimate == pytest.approx(1.5)
    assert shifted.process_medians == pytest.approx([1.5, 1.8, 1.425])
    # the same per-round ratios, as if one process had timed them all: rounds only, narrower
    pooled = ratio_interval([[r for ratios in offset for r in ratios]])
    assert pooled.method == OVER_ROUNDS and pooled.high - pooled.low < shifted.high - shifted.low


def test_the_interval_predicts_a_repeat_run():
    """Mean log-ratio ± t(P-1) · s · sqrt(2/P): a repeat run's mean is as noisy as this one's,
    so the half-width (log scale) is sqrt(2) times a confidence interval's."""
    medians = [1.5, 1.8, 1.425]
    logs = [math.log(m) for m in medians]
    centre, spread = statistics.fmean(logs), statistics.stdev(logs)
    half = 4.302653 * spread * math.sqrt(2 / 3)  # t(2) at 97.5%
    low, high = between_process_interval(medians)
    assert math.log(low) == pytest.approx(centre - half, rel=1e-5)
    assert math.log(high) == pytest.approx(centre + half, rel=1e-5)
    confidence_half = 4.302653 * spread / math.sqrt(3)
    assert (math.log(high) - math.log(low)) / 2 == pytest.approx(math.sqrt(2) * confidence_half,
                                                                 rel=1e-5)


def test_speedup_groups_rounds_by_their_process():
    reference = [10.0] * 18
    variant = [10.0 / 1.4] * 6 + [10.0 / 1.6] * 6 + [10.0 / 1.5] * 6
    result = speedup(reference, variant, [0] * 6 + [1] * 6 + [2] * 6, busy_rounds=2)
    assert result.process_ratios == pytest.approx([1.4, 1.6, 1.5])
    assert result.low < 1.4 and result.high > 1.6 and result.busy_rounds == 2
    one = speedup(reference, variant)  # the same rounds read as one process: min and max only
    assert one.method == OVER_ROUNDS and (one.low, one.high) == pytest.approx((1.4, 1.6))


def test_time_batches_times_every_predictor_at_every_size_and_samples_each_slice():
    clock = FakeClock()
    models = {"a": FakeModel(clock, [0.02]), "b": FakeModel(clock, [0.01])}
    probe = QuietProbe()
    results = time_batches({k: predictor(m) for k, m in models.items()}, {1: {}, 4: {}},
                           RoundBudget(6, 2, 3, 0.05), probe, seed=5, clock=clock)
    assert [len(t) for t in results[4].seconds["a"]] == [3] * 6
    assert [len(t) for t in results[4].seconds["b"]] == [5] * 6
    assert results[1].busy["a"] == [False] * 6 and len(results[1].seeds) == 6
    assert results[1].seeds != results[4].seeds
    labels = [s.label for s in probe.samples]
    assert labels == ["before", "after"] and probe.slices == 2 * 2 * 6
    assert probe.summary().busy is False and probe.summary().busy_slices == 0


def test_pooling_keeps_each_round_with_its_process_and_busy_flag():
    one = RoundTimes({"a": [[0.010, 0.012]] * 6}, {"a": [False] * 5 + [True]}, [1] * 6)
    two = RoundTimes({"a": [[0.020]] * 6}, {"a": [False] * 6}, [2] * 6)
    stats = pool_processes([one, two], "a", 0.5, 8, 16, 2)
    assert stats.rounds == 12 and stats.calls == 18 and stats.cold_ms == pytest.approx(500)
    assert stats.rounds_process == [0] * 6 + [1] * 6
    assert stats.rounds_busy == [False] * 5 + [True] + [False] * 6
    assert stats.rounds_p50_ms == pytest.approx([11.0] * 6 + [20.0] * 6)
    assert stats.process_p50_ms == pytest.approx([11.0, 20.0])


def test_another_process_using_the_cpu_flags_the_run_busy():
    readings = iter([(0.0, 0.0, 0.0), (10.0, 19.0, 15.0), (20.0, 21.0, 16.0)])
    machine = {"now": (0.0, 0.0, 0.0)}

    def advance():
        machine["now"] = next(readings)

    advance()
    probe = LoadProbe(machine_cpu=lambda: machine["now"][1], own_cpu=lambda: machine["now"][2],
                      clock=lambda: machine["now"][0], load=lambda: 1.0, cores=2)
    advance()  # 10 s: the machine spent 19 CPU s, we 15: others used 0.4 cores
    busy = probe.sample("round 1")
    advance()  # 10 s more: 2 CPU s, 1 of them ours: 0.1 cores
    quiet = probe.sample("round 2")
    assert busy.other_cores == pytest.approx(0.4) and busy.busy
    assert quiet.other_cores == pytest.approx(0.1) and not quiet.busy and 0.1 < BUSY_OTHER_CORES
    summary = probe.summary()
    assert summary.busy and "0.40 cores" in summary.warning and len(summary.rounds) == 2


def test_a_reaped_child_process_counts_as_our_own_cpu():
    """A benchmark that measures in fresh child processes used those cores itself: were they
    another user's, every round would be flagged busy (1.7 cores on 2, the recipe benchmark)."""
    import subprocess
    import sys

    burn = "import time\nwhile time.process_time() < 0.5: pass"
    before = own_cpu_s()
    subprocess.run([sys.executable, "-c", burn], check=True)
    # The kernel reports a reaped child's time in clock ticks: 0.5 s burnt has read as 0.49...;
    # without the children's share the difference is 0.00.
    assert own_cpu_s() - before >= 0.4


def test_a_burst_during_one_variants_slice_flags_that_slice_only():
    """Others use 0.5 cores for the 0.4 s of one slice, nothing in the nine others: averaged
    over the whole 4 s round that was 0.05 cores, under the threshold."""
    state = {"clock": 0.0, "machine": 0.0}
    probe = LoadProbe(machine_cpu=lambda: state["machine"], own_cpu=lambda: 0.0,
                      clock=lambda: state["clock"], load=lambda: 0.0, cores=2)
    flags = []
    for index in range(10):
        probe.mark()
        state["clock"] += 0.4
        state["machine"] += 0.2 if index == 3 else 0.0
        flags.append(probe.slice_sample(f"slice {index}").busy)
    assert flags == [False] * 3 + [True] + [False] * 6
    summary = probe.summary()
    assert summary.busy and summary.busy_slices == 1 and summary.slices == 10
    assert summary.worst_slice.label == "slice 3" and "slice 3" in summary.warning
    assert 0.2 / 4.0 < BUSY_OTHER_CORES  # what a whole-round sample would have seen


def test_a_high_load_average_alone_flags_the_run_busy():
    probe = LoadProbe(machine_cpu=lambda: 0.0, own_cpu=lambda: 0.0, clock=lambda: 0.0,
                      load=lambda: 3.5, cores=2)
    assert probe.sample("before").busy
