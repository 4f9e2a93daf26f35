"""What a cell process tells its runner: `@@bench {json}` lines on stdout (phase, progress,
done) that bench/executors/processes.py reads; everything else the libraries print goes to the
cell's log."""
from __future__ import annotations

import json
import time

EVENT_PREFIX = "@@bench "


def emit(event: str, **fields) -> None:
    print(EVENT_PREFIX + json.dumps({"event": event, **fields}), flush=True)


class Progress:
    """`progress` events (done of total, in `unit`) for the phase that runs, at most a few per
    second: the runner turns them into a bar with an ETA."""

    def __init__(self, unit: str, every_s: float = 0.5) -> None:
        self.unit, self.every_s, self._last = unit, every_s, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - self._last >= self.every_s:
            self._last = now
            emit("progress", done=done, total=total, unit=self.unit)


def counted(batches, total: int, progress: Progress):
    """`batches`, reporting each one done."""
    progress(0, total)
    for done, batch in enumerate(batches, start=1):
        yield batch
        progress(done, total)


class Phases:
    """Times each phase of the cell and tells the runner which one is running."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.current = "start"
        self._start = time.perf_counter()

    def enter(self, name: str) -> None:
        self._close()
        self.current = name
        emit("phase", phase=name)

    def _close(self) -> None:
        now = time.perf_counter()
        self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self._start
        self._start = now

    def finish(self) -> dict[str, float]:
        """The seconds of every phase until now, the running one included (it may go on)."""
        self._close()
        return {k: round(v, 3) for k, v in self.seconds.items()}
