"""Is the CPU quiet while we time? On a machine of few cores another process's work lengthens
every timed call; figures taken like that are flagged, not silently ranked.

What other processes use is read as the machine's busy CPU time (/proc/stat through psutil)
minus this process's own CPU time (its reaped children's included) over the same interval, in
cores (1.0 = one core fully used).
That stays right while we run our own timed calls, unlike the load average, which counts our
own threads too: the load average is recorded, and only flags a machine with clearly more
runnable threads than cores.

Each variant's slice of a round is sampled on its own (mark before its timed calls, sample
after): a burst of a few hundred milliseconds flags the variant it hit, instead of being
averaged over a whole round of ten variants.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

import psutil

from bench.record.timing import LoadSample, MachineLoad

BUSY_OTHER_CORES = 0.2  # other processes using a fifth of a core on average: not quiet
BUSY_LOAD_PER_CORE = 1.5  # 1-minute load average above this many per logical core
QUIET_CHECK_S = 1.0  # the idle look taken before and after the timed rounds


def machine_busy_cpu_s() -> float:
    """CPU seconds spent not idle since boot, every core summed; time stolen by the hypervisor
    counts as busy (another guest had our core). Linux already counts guest time in user time."""
    times = psutil.cpu_times()
    not_busy = ("idle", "iowait", "guest", "guest_nice")
    return sum(times) - sum(getattr(times, name, 0.0) for name in not_busy)


def own_cpu_s() -> float:
    """This process and the child processes it has waited for: a benchmark that runs each
    measurement in a fresh child (benchmarks/_recipe_speed.py, ray_speedup.py) used its own
    cores there, and counting them as another user's flagged every one of its rounds busy. A
    child counts once reaped, so the child of a measurement must end inside its interval."""
    times = psutil.Process().cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def load_average_1min() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


@dataclass
class LoadProbe:
    """Samples other processes' CPU use over consecutive intervals; the readers are arguments
    so that tests can drive it."""

    machine_cpu: Callable[[], float] = machine_busy_cpu_s
    own_cpu: Callable[[], float] = own_cpu_s
    clock: Callable[[], float] = time.monotonic
    load: Callable[[], float | None] = load_average_1min
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    samples: list[LoadSample] = field(default_factory=list)  # before, after
    slices: int = 0
    busy_slices: int = 0
    worst_slice: LoadSample | None = None

    def __post_init__(self) -> None:
        self.mark()

    def mark(self) -> None:
        """Start a new interval here."""
        self._start = (self.clock(), self.machine_cpu(), self.own_cpu())

    def sample(self, label: str, keep: bool = True) -> LoadSample:
        """Other processes' CPU use since the last mark (or sample); starts the next interval.
        `keep`: add it to `samples`."""
        now, machine, own = self.clock(), self.machine_cpu(), self.own_cpu()
        start, machine_before, own_before = self._start
        seconds = max(now - start, 1e-9)
        other = max(0.0, (machine - machine_before) - (own - own_before)) / seconds
        load = self.load()
        busy = other > BUSY_OTHER_CORES or (load is not None
                                            and load > BUSY_LOAD_PER_CORE * self.cores)
        self._start = (now, machine, own)
        result = LoadSample(label, round(seconds, 3), round(other, 3), load, busy)
        if keep:
            self.samples.append(result)
        return result

    def slice_sample(self, label: str) -> LoadSample:
        """Other processes' CPU use during one variant's slice (since the last mark): counted,
        and the worst one kept, rather than stored one by one."""
        result = self.sample(label, keep=False)
        self.slices += 1
        self.busy_slices += bool(result.busy)
        if self.worst_slice is None or result.other_cores > self.worst_slice.other_cores:
            self.worst_slice = result
        return result

    def quiet_check(self, label: str, seconds: float = QUIET_CHECK_S,
                    sleep: Callable[[float], None] = time.sleep) -> LoadSample:
        """Sit idle for `seconds` and see who else used the CPU meanwhile."""
        self.mark()
        sleep(seconds)
        return self.sample(label)

    def summary(self) -> MachineLoad:
        """The record's `machine_load`: before, after, the slices, and one busy flag."""
        by_label = {s.label: s for s in self.samples}
        return with_warning(MachineLoad(
            before=by_label.get("before"), after=by_label.get("after"),
            rounds=[s for s in self.samples if s.label not in ("before", "after")],
            slices=self.slices, busy_slices=self.busy_slices, worst_slice=self.worst_slice,
            busy=any(s.busy for s in self.samples) or self.busy_slices > 0,
            busy_other_cores=BUSY_OTHER_CORES, busy_load_per_core=BUSY_LOAD_PER_CORE,
            logical_cores=self.cores))


def with_warning(load: MachineLoad) -> MachineLoad:
    """`load` with its warning set when it is busy, naming the worst sample."""
    if load.busy:
        seen = [s for s in (load.before, load.after, load.worst_slice, *load.rounds) if s]
        worst = max(seen, key=lambda s: s.other_cores)
        load.warning = (f"the CPU was not quiet while timing (other processes used up to "
                        f"{worst.other_cores:.2f} cores, {worst.label}): latency figures of "
                        "this run may be off")
    return load


def combined(loads: list[MachineLoad]) -> MachineLoad:
    """One machine load over several timing processes: the first one's before, the last
    one's after, their slices summed; busy when any was."""
    worst = max((load.worst_slice for load in loads if load.worst_slice),
                key=lambda s: s.other_cores, default=None)
    return with_warning(MachineLoad(
        before=loads[0].before, after=loads[-1].after,
        rounds=[s for load in loads for s in load.rounds],
        slices=sum(load.slices or 0 for load in loads),
        busy_slices=sum(load.busy_slices or 0 for load in loads), worst_slice=worst,
        busy=any(load.busy for load in loads), busy_other_cores=BUSY_OTHER_CORES,
        busy_load_per_core=BUSY_LOAD_PER_CORE, logical_cores=loads[0].logical_cores))
