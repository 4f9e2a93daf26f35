"""Progress you can read: each phase's own count (training steps, evaluation batches,
deployment variants) and ETAs for the cell and the suite."""
import io

import pytest
from rich.console import Console

from bench.stages.deployment import deploy_progress
from bench.executors.live import LiveProgress, RunClock, duration
from bench.models.loading import load_classifier, load_tokenizer
from bench.specs import DeploySpec, ModelSpec, TrainingConfig
from toy import TASK, trainer


def test_the_cell_eta_is_the_rest_of_its_phase_at_the_phase_pace():
    clock = RunClock(cells_total=3)
    clock.start_cell(now=0)
    clock.start_phase("train", now=10)
    clock.advance(0, 100, now=10)
    clock.advance(25, 100, now=20)  # 25 steps in 10 s: 75 steps left, 30 s
    assert clock.phase_left(now=20) == pytest.approx(30)
    assert clock.cell_left(now=20) == pytest.approx(30)
    assert clock.suite_left(now=20) is None  # no finished cell yet to size the waiting ones


def test_the_suite_eta_counts_the_waiting_cells_at_the_mean_cell_time():
    clock = RunClock(cells_total=3)
    clock.start_cell(now=0)
    clock.finish_cell(now=100)
    clock.start_cell(now=100)
    clock.start_phase("train", now=100)
    clock.advance(1, 10, now=101)  # fast phase: 9 s left, but a cell took 100 s
    assert clock.cell_left(now=110) == pytest.approx(90)
    assert clock.suite_left(now=110) == pytest.approx(90 + 100)


def test_deployment_keeps_counting_variants_across_its_phase_texts():
    clock = RunClock(cells_total=1)
    clock.start_cell(now=0)
    clock.start_phase("deploy: fp32 on torch", now=1)
    clock.advance(0, 4, now=1)
    clock.start_phase("deploy: compress prune", now=2)
    assert (clock.done, clock.total) == (0, 4)
    clock.start_phase("evaluate", now=3)
    assert (clock.done, clock.total) == (0, None)


def test_deploy_progress_counts_each_variant_run(capsys):
    report = deploy_progress(DeploySpec(variants=[["int8"]], backends=["torch", "onnxruntime"]))
    for text in ("fp32 on torch", "fp32 on onnxruntime", "compress int8", "int8 on torch",
                 "timing batch 1: round 1/6", "timing batch 1: round 2/6"):
        report(text)
    events = [line for line in capsys.readouterr().out.splitlines() if '"progress"' in line]
    assert [e.split('"done": ')[1].split(",")[0] for e in events] == ["0", "1", "2", "4"]
    assert all('"total": 4' in e for e in events)


def test_the_display_shows_the_phase_count_and_etas():
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=False)
    with LiveProgress(console, "suite", cells_total=2) as live:
        live.on_event("m--lora--d", {"event": "start"})
        live.on_event("m--lora--d", {"event": "phase", "phase": "train"})
        live.on_event("m--lora--d", {"event": "progress", "done": 3, "total": 12,
                                     "unit": "steps"})
        screen = io.StringIO()
        Console(file=screen, width=160).print(live.progress.get_renderable())
        live.cell_finished(False, "m--lora--d: [methods.lora] went wrong")
    shown = screen.getvalue()
    assert "m--lora--d: train" in shown and "3/12 steps" in shown
    assert "0/2 cells" in shown and shown.count("eta") == 2
    assert "failed m--lora--d: [methods.lora] went wrong" in out.getvalue()  # not markup
    assert duration(3725) == "1:02:05" and duration(None) == "?"


def test_training_reports_its_steps_from_zero_to_the_total():
    spec = ModelSpec(name="tiny", source="tiny-bert")
    tokenizer = load_tokenizer(spec)
    seen = []
    cell = trainer(tokenizer, TrainingConfig(epochs=1, batch_size=16, eval_each_epoch=False))
    cell.progress = lambda done, total: seen.append((done, total))
    cell.train(load_classifier(spec, TASK))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
