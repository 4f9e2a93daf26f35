"""Latency measurement on a fake clock and fake callables: which calls are timed, when timing
stops, what the statistics are, the order of the interleaved rounds, the speed-up's interval
and the machine-load flag. No model and no real clock: every figure here is known exactly."""
import numpy as np
import pytest

from bench.plugins import Predictor
from bench.measure.machine_load import BUSY_OTHER_CORES, LoadProbe
from bench.measure.trackers import summarise, time_until
from bench.record.deployment import Footprint
from bench.measure.speedup import NO_DIFFERENCE, median_interval, min_rounds, speedup
from bench.stages.timing_rounds import RoundBudget, first_calls, interleaved_rounds, time_variants, warm_up


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
    rounds = interleaved_rounds({"m": model}, RoundBudget(6, 2, 2, 0.0), clock)
    assert model.calls == 2 + 6 * 2
    assert all(t == pytest.approx(0.1) for times in rounds["m"] for t in times)


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


def test_rounds_interleave_the_variants_a_b_a_b():
    clock, log = FakeClock(), []
    calls = {"A": FakeModel(clock, [0.1], "A", log), "B": FakeModel(clock, [0.1], "B", log)}
    interleaved_rounds(calls, RoundBudget(rounds=6, warmup_calls=0, min_calls=2,
                                          min_duration_s=0.0), clock)
    assert log == ["A", "A", "B", "B"] * 6


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
                               RoundBudget(rounds, 0, 3, 0.0), clock, round_done)
    return {name: summarise(t, None, 1, 8, 0) for name, t in times.items()}


DRIFT = [0.010, 0.012, 0.009, 0.015, 0.011, 0.010]  # a machine whose speed moves from round to round


def test_identical_timings_have_no_measurable_difference():
    stats = fake_rounds(FakeClock(), {"ref": DRIFT, "same": DRIFT})
    result = speedup(stats["ref"].p50_ms, stats["same"].p50_ms, stats["ref"].rounds_p50_ms,
                     stats["same"].rounds_p50_ms)
    assert result.low <= 1.0 <= result.high and result.verdict == NO_DIFFERENCE
    assert result.ratio == pytest.approx(1.0)


def test_noise_around_the_same_speed_is_no_measurable_difference():
    noisy = [d * f for d, f in zip(DRIFT, [1.03, 0.97, 1.02, 0.99, 1.04, 0.98])]
    stats = fake_rounds(FakeClock(), {"ref": DRIFT, "noisy": noisy})
    result = speedup(stats["ref"].p50_ms, stats["noisy"].p50_ms, stats["ref"].rounds_p50_ms,
                     stats["noisy"].rounds_p50_ms)
    assert result.low < 1.0 < result.high and result.verdict == NO_DIFFERENCE


def test_a_clearly_faster_variant_excludes_one_and_agrees_with_throughput():
    stats = fake_rounds(FakeClock(), {"ref": DRIFT, "fast": [d / 2 for d in DRIFT]})
    ref, fast = stats["ref"], stats["fast"]
    result = speedup(ref.p50_ms, fast.p50_ms, ref.rounds_p50_ms, fast.rounds_p50_ms)
    assert result.verdict == "faster" and result.low > 1.0 and result.ratio == pytest.approx(2.0)
    assert result.ratio == pytest.approx(fast.samples_per_s / ref.samples_per_s)
    slower = speedup(fast.p50_ms, ref.p50_ms, fast.rounds_p50_ms, ref.rounds_p50_ms)
    assert slower.verdict == "slower" and slower.high < 1.0 and not slower.far_slower
    assert speedup(10.0, 61.0, [10.0] * 6, [61.0] * 6).far_slower


def test_the_median_interval_is_the_order_statistic_interval():
    assert min_rounds() == 6
    low, high, coverage = median_interval([5, 1, 4, 2, 6, 3])
    assert (low, high) == (1, 6) and coverage == pytest.approx(1 - 2 / 64)
    low, high, coverage = median_interval(list(range(1, 10)))  # 9 rounds: drop one each side
    assert (low, high) == (2, 8) and coverage == pytest.approx(1 - 2 * 10 / 512)
    with pytest.raises(ValueError, match="at least 6"):
        median_interval([1, 2, 3, 4, 5])


def test_time_variants_times_every_predictor_at_every_batch_size():
    clock = FakeClock()
    models = {"a": FakeModel(clock, [0.02]), "b": FakeModel(clock, [0.01])}
    probe = QuietProbe()
    results = time_variants({k: predictor(m) for k, m in models.items()},
                            {1: {}, 4: {}}, {"a": {1: 0.5}}, RoundBudget(6, 2, 3, 0.05), 16,
                            probe, clock)
    assert results["a"][1].cold_ms == pytest.approx(500) and results["b"][1].cold_ms is None
    assert results["a"][4].calls == 6 * 3 and results["b"][4].calls == 6 * 5
    assert results["a"][1].p50_ms == pytest.approx(20) and results["a"][1].warmup_calls == 2
    labels = [s.label for s in probe.samples]
    assert labels[0] == "before" and labels[-1] == "after" and len(labels) == 2 + 2 * 6
    assert probe.summary().busy is False


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


def test_a_high_load_average_alone_flags_the_run_busy():
    probe = LoadProbe(machine_cpu=lambda: 0.0, own_cpu=lambda: 0.0, clock=lambda: 0.0,
                      load=lambda: 3.5, cores=2)
    assert probe.sample("before").busy
