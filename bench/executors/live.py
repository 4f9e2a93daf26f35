"""The live display of a run: one bar for the suite (cells done of those to run) and one for
the running cell's phase (training steps, evaluation batches, deployment variants done of
the total), each with an ETA.

The cell's ETA is the rest of its current phase at the phase's own pace, or, once a cell of
this run has finished, the mean cell time less the time already spent, whichever is longer;
the suite's ETA adds the mean cell time for each cell still waiting.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text


@dataclass
class RunClock:
    """What the ETAs are computed from; `now` is time.monotonic()."""

    cells_total: int
    finished_s: list[float] = field(default_factory=list)
    cell_start: float | None = None
    phase: str = ""
    phase_start: float = 0.0
    done: int = 0
    total: int | None = None

    def start_cell(self, now: float) -> None:
        self.cell_start = now
        self.start_phase("starting", now)

    def start_phase(self, phase: str, now: float) -> None:
        """A new phase restarts the count; "deploy: int8 on torch" after "deploy: fp32 on
        torch" is the same phase (deployment), whose variants keep counting."""
        if phase.split(":")[0] != self.phase.split(":")[0]:
            self.phase_start, self.done, self.total = now, 0, None
        self.phase = phase

    def advance(self, done: int, total: int, now: float) -> None:
        if done == 0 or self.total != total:
            self.phase_start = now
        self.done, self.total = done, total

    def finish_cell(self, now: float) -> None:
        if self.cell_start is not None:
            self.finished_s.append(now - self.cell_start)
        self.cell_start = None

    def phase_left(self, now: float) -> float | None:
        if not self.total or not self.done:
            return None
        return (now - self.phase_start) / self.done * (self.total - self.done)

    def cell_left(self, now: float) -> float | None:
        phase = self.phase_left(now)
        if not self.finished_s or self.cell_start is None:
            return phase
        typical = sum(self.finished_s) / len(self.finished_s) - (now - self.cell_start)
        return max(typical, phase or 0.0)

    def suite_left(self, now: float) -> float | None:
        waiting = self.cells_total - len(self.finished_s) - (self.cell_start is not None)
        current = self.cell_left(now) if self.cell_start is not None else 0.0
        if current is None or (waiting and not self.finished_s):
            return None
        mean = sum(self.finished_s) / len(self.finished_s) if self.finished_s else 0.0
        return current + waiting * mean


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class EtaColumn(ProgressColumn):
    """Renders `task.fields["eta"]()` (seconds or None) at each refresh."""

    def render(self, task) -> Text:
        estimate = task.fields.get("eta")
        return Text(f"eta {duration(estimate() if estimate else None)}",
                    style="progress.remaining")


class CountColumn(ProgressColumn):
    """"12/40 steps"; nothing while the phase has no count."""

    def render(self, task) -> Text:
        if task.total is None:
            return Text("")
        unit = task.fields.get("unit", "")
        return Text(f"{int(task.completed)}/{int(task.total)} {unit}".rstrip(),
                    style="progress.download")


class LiveProgress:
    """Context manager around rich's Progress, fed by the cells' events."""

    def __init__(self, console: Console, title: str, cells_total: int) -> None:
        self.clock = RunClock(cells_total)
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 CountColumn(), TimeElapsedColumn(), EtaColumn(),
                                 console=console, transient=False)
        self.suite = self.progress.add_task(title, total=cells_total, unit="cells",
                                            eta=lambda: self.clock.suite_left(time.monotonic()))
        self.cell = self.progress.add_task("", total=None, visible=False,
                                           eta=lambda: self.clock.cell_left(time.monotonic()))
        self.cell_id = ""

    def __enter__(self) -> "LiveProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.update(self.cell, visible=False)
        self.progress.__exit__(*exc)

    def on_event(self, cell_id: str, event: dict) -> None:
        now = time.monotonic()
        kind = event.get("event")
        if kind == "start":
            self.cell_id = cell_id
            self.clock.start_cell(now)
            self.progress.reset(self.cell, total=None, visible=True, unit="")
        elif kind == "phase":
            same_phase = event["phase"].split(":")[0] == self.clock.phase.split(":")[0]
            self.clock.start_phase(event["phase"], now)
            if not same_phase:
                self.progress.reset(self.cell, total=None, unit="")
        elif kind == "progress":
            self.clock.advance(event["done"], event["total"], now)
            self.progress.update(self.cell, total=event["total"], completed=event["done"],
                                 unit=event.get("unit", ""))
        self.progress.update(self.cell, description=f"{self.cell_id}: {self.clock.phase}")

    def cell_finished(self, ok: bool, line: str) -> None:
        """Print "ok <line>" or "failed <line>" above the bars (`line` as plain text)."""
        self.clock.finish_cell(time.monotonic())
        self.progress.advance(self.suite)
        self.progress.update(self.cell, visible=False)
        status = "[green]ok[/]" if ok else "[red]failed[/]"
        self.progress.console.print(f"{status} {escape(line)}")
