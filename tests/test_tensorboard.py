"""`report_to = ["tensorboard"]`: the Trainer's event files land in the cell's own folder of the
run (artefacts/<cell id>/<training key>/training-logs/) and hold its loss curve."""
from pathlib import Path

import pytest

from bench.cli import main

pytest.importorskip("tensorboard", reason="the tensorboard extra (part of dev) is not installed")


def test_each_cell_writes_its_event_files_under_the_run_folder(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "tb.toml"
    suite.write_text("""
[suite]
name = "tb"
[defaults.training]
epochs = 1
batch_size = 16
logging_steps = 1
report_to = ["tensorboard"]
[defaults.dataset]
train_size = 48
validation_size = 16
test_size = 16
max_length = 32
[models.tiny-bert]
source = "tiny-bert"
[datasets.tweets]
source = "tweets"
[methods.lora]
r = 4
""")
    assert main(["run", str(suite)]) == 0
    artefacts = tmp_path / "runs" / "tb" / "artefacts"
    for cell in ("tiny-bert--lora--tweets",):  # one cell: each costs a process start
        events = sorted((artefacts / cell).glob("*/training-logs/**/events.out.tfevents.*"))
        assert len(events) == 1, f"{cell}: {events}"
        accumulator = EventAccumulator(str(events[0].parent)).Reload()
        losses = accumulator.Scalars("train/loss")
        assert len(losses) == 3 and all(point.value > 0 for point in losses)  # 48 / 16 steps
