"""Progress when stderr is a log, not a terminal: lines at a cell's start, at each phase change,
every minute of training with an ETA; and a summary table whose cell ids stay whole."""
import io

from rich.console import Console

from bench.executors.log_progress import LogProgress
from bench.executors.runner import RunSummary, print_summary

CELL = "tiny-bert--lora-with-a-long-entry-name--tweets--3f2a9c1d--seed1"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def log_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80, force_terminal=False), out


def test_a_log_gets_a_line_per_start_phase_minute_and_end():
    console, out = log_console()
    clock = FakeClock()
    with LogProgress(console, "smoke", cells_total=2, now=clock) as log:
        log.on_event(CELL, {"event": "start"})
        clock.t = 5
        log.on_event(CELL, {"event": "phase", "phase": "train"})
        for step in range(0, 401):  # a progress event every 0.5 s: 200 s of training
            clock.t = 5 + step * 0.5
            log.on_event(CELL, {"event": "progress", "done": step, "total": 400,
                                "unit": "steps"})
        log.on_event(CELL, {"event": "phase", "phase": "evaluate"})
        log.on_event(CELL, {"event": "phase", "phase": "deploy: fp32 on torch"})
        log.on_event(CELL, {"event": "phase", "phase": "deploy: int8 on torch"})  # same phase
        clock.t = 300
        log.cell_finished(True, CELL)
    lines = out.getvalue().splitlines()
    assert lines[0] == "smoke: 2 cell(s) to run"
    assert lines[1].startswith(f"cell 1/2 started: {CELL}")
    assert lines[2] == f"{CELL}: train (cell at 0:05; 'starting' took 0:05)"
    minutes = [line for line in lines if "/400 steps" in line]
    # one a minute over 200 s of training, never one per event
    assert [line.split("train ")[1].split(" ")[0] for line in minutes] == [
        "120/400", "240/400", "360/400"]
    assert "phase eta 2:20" in minutes[0]  # 120 steps in 60 s: 280 more take 140 s
    assert sum("deploy" in line for line in lines) == 1
    assert "evaluate (cell at 3:25; 'train' took 3:20)" in out.getvalue()
    assert lines[-1].startswith(f"ok {CELL} (cell 5:00; 1/2 done, suite eta 5:00)")
    assert len(lines) == 9
    assert all(len(line) < 200 for line in lines)


def test_a_long_deployment_says_its_sub_step_once_a_minute():
    """The timing processes report rounds as sub-steps of "deploy", with the variant counter
    already full: a line a minute names the latest, none for the sub-steps in between."""
    console, out = log_console()
    clock = FakeClock()
    with LogProgress(console, "suite", cells_total=1, now=clock) as log:
        log.on_event(CELL, {"event": "start"})
        log.on_event(CELL, {"event": "phase", "phase": "deploy: fp32 on torch"})
        for second in range(1, 181):  # a timing round every 10 s for 3 minutes
            clock.t = second
            if second % 10 == 0:
                log.on_event(CELL, {"event": "phase", "phase": f"deploy: timing batch 1: "
                                                           f"round {second // 10}/18"})
    lines = [line for line in out.getvalue().splitlines() if "timing batch" in line]
    assert lines == [f"{CELL}: deploy: timing batch 1: round {n}/18 (cell at {t}, phase deploy "
                     f"for {t})" for n, t in ((6, "1:00"), (12, "2:00"), (18, "3:00"))]


def test_the_summary_keeps_cell_ids_whole_in_a_log():
    console, out = log_console()
    record = {"schema_version": 2, "cell_id": CELL, "status": "failed",
              "error": {"phase": "train", "message": "loss became NaN at step 3"}}
    print_summary(RunSummary(records=[record], wall_time_s=12), console)
    text = out.getvalue()
    assert CELL in text  # on one line, not folded into three
    assert "loss became NaN at step 3" in text
    assert "0 ok, 1 failed, 0 skipped in 12 s" in text
