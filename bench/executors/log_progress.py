"""Progress as plain lines, for a run whose stderr is a log (CI, nohup, a Ray worker's log):
rich's bars only redraw a terminal, so without this a 30-minute cell says nothing until it ends.

A line when a cell starts, one per change of phase (train, evaluate, deploy...) with the time
the previous phase took, and while a phase counts its work (training steps, evaluation
batches, deployment variants) one every `every_s` seconds with done/total and the ETAs of
bench/executors/live.py's RunClock. Deployment's sub-steps ("deploy: int8 on torch", "deploy:
timing batch 32: round 3/10 (process 2/3)") are the same phase: no line of their own, but when
one arrives and nothing was said for `every_s`, a line names it (the timing processes count
rounds, not variants, and a 40-minute timing phase said nothing otherwise).
"""
from __future__ import annotations

import time
from typing import Callable

from rich.console import Console

from bench.executors.live import RunClock, duration


def top_phase(phase: str) -> str:
    return phase.split(":")[0]


class LogProgress:
    """The same interface as LiveProgress (context manager, on_event, cell_finished), writing
    one plain line per event worth a line; `now` is injectable for tests."""

    def __init__(self, console: Console, title: str, cells_total: int, every_s: float = 60.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.console, self.title, self.every_s, self.now = console, title, every_s, now
        self.clock = RunClock(cells_total)
        self.cell_id = ""
        self.started = 0
        self.phase_started = 0.0
        self.last_line = 0.0

    def __enter__(self) -> "LogProgress":
        self.say(f"{self.title}: {self.clock.cells_total} cell(s) to run")
        return self

    def __exit__(self, *exc) -> None:
        return None

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def on_event(self, cell_id: str, event: dict) -> None:
        now = self.now()
        kind = event.get("event")
        if kind == "start":
            self.cell_id, self.started = cell_id, self.started + 1
            self.clock.start_cell(now)
            self.phase_started = self.last_line = now
            self.say(f"cell {self.started}/{self.clock.cells_total} started: {cell_id}"
                     f" (suite eta {duration(self.clock.suite_left(now))})")
        elif kind == "phase":
            previous = self.clock.phase
            self.clock.start_phase(event["phase"], now)
            if top_phase(event["phase"]) != top_phase(previous):
                took = (f"; '{previous}' took {duration(now - self.phase_started)}" if previous
                        else "")
                self.phase_started = self.last_line = now
                self.say(f"{cell_id}: {event['phase']} (cell at {self.elapsed(now)}{took})")
            elif now - self.last_line >= self.every_s:
                self.last_line = now
                self.say(f"{cell_id}: {event['phase']} (cell at {self.elapsed(now)}, phase "
                         f"{top_phase(event['phase'])} for {duration(now - self.phase_started)})")
        elif kind == "progress":
            self.clock.advance(event["done"], event["total"], now)
            if now - self.last_line >= self.every_s and event["done"] < event["total"]:
                self.last_line = now
                unit = event.get("unit", "")
                self.say(f"{cell_id}: {self.clock.phase} {event['done']}/{event['total']} "
                         f"{unit}".rstrip()
                         + f", cell at {self.elapsed(now)}, phase eta "
                           f"{duration(self.clock.phase_left(now))}, cell eta "
                           f"{duration(self.clock.cell_left(now))}")

    def elapsed(self, now: float) -> str:
        start = self.clock.cell_start
        return duration(None if start is None else now - start)

    def cell_finished(self, ok: bool, line: str) -> None:
        """"ok <line>" or "failed <line>", as the live display prints them, with the times."""
        now = self.now()
        took = self.elapsed(now)
        self.clock.finish_cell(now)
        left = self.clock.suite_left(now) if len(self.clock.finished_s) < self.clock.cells_total \
            else 0.0
        self.say(f"{'ok' if ok else 'failed'} {line} (cell {took}; "
                 f"{len(self.clock.finished_s)}/{self.clock.cells_total} done, suite eta "
                 f"{duration(left)})")
