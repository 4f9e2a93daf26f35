"""`bench validate` catches what `bench run` would fail on, before anything runs: every problem
of a suite at once, one plain line each naming the file, the table and the key, exit 2; and
`bench run` refuses the same suite the same way."""
from pathlib import Path

import pytest

from bench.cli import main

VALID = """
[suite]
name = "v"
[defaults.training]
learning_rate = 1e-3
epochs = 1
batch_size = 8
[models.m]
source = "tiny-bert"
[datasets.d]
source = "csv"
path = "data.csv"
test_size = 0.25
[methods.full]
[methods.lora]
r = 4
target_modules = ["query", "value"]
[deploy]
backends = ["torch"]
variants = [["int8"]]
[compressions.prune]
ffn_ratio = 0.5
"""


def write_data(folder: Path, labels: tuple[str, ...] = ("good", "bad"), rows: int = 24) -> None:
    lines = ["text,label"] + [f"text number {i},{labels[i % len(labels)]}" for i in range(rows)]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")


def validate(folder: Path, text: str, capsys) -> tuple[int, list[str], str]:
    """Exit status, the error lines and stdout of `bench validate` on `text`."""
    path = folder / "suite.toml"
    path.write_text(text)
    status = main(["validate", str(path)])
    captured = capsys.readouterr()
    return status, [line for line in captured.err.splitlines() if line.strip()], captured.out


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    return tmp_path


def test_a_valid_suite_lists_its_cells_and_says_so_on_a_line_of_its_own(folder, capsys):
    status, err, out = validate(folder, VALID, capsys)
    assert status == 0, err
    assert out.splitlines() == ["m--full--d", "m--lora--d"]
    verdict, preview = err  # the verdict, then the cost preview (bench/executors/cost_preview.py)
    assert verdict == f"{folder / 'suite.toml'}: valid, 2 cell(s) -> runs/v"
    assert preview.startswith("2 cell(s) to run, projected about ")


# Each: a change to VALID, and what its one error line must say (besides the file).
BROKEN = {
    "negative learning rate": (("learning_rate = 1e-3", "learning_rate = -1e-3"),
                               "[defaults.training].learning_rate: expected > 0, got -0.001"),
    "batch size 0": (("batch_size = 8", "batch_size = 0"),
                     "[defaults.training].batch_size: expected >= 1, got 0"),
    "zero epochs": (("epochs = 1", "epochs = 0"), "[defaults.training].epochs: expected > 0"),
    "not a number": (("epochs = 1", "epochs = nan"), "[defaults.training].epochs: expected > 0"),
    "a loss as the best-epoch metric": (
        ("batch_size = 8", "batch_size = 8\nmetric_for_best = 'loss'"),
        "[defaults.training].metric_for_best: expected a score"),
    "LoRA r = 0": (("r = 4", "r = 0"), "[methods.lora].r: expected >= 1, got 0"),
    "dropout 1.5": (("r = 4", "r = 4\ndropout = 1.5"),
                    "[methods.lora].dropout: expected a number in [0, 1), got 1.5"),
    "target module that matches nothing": (
        ('["query", "value"]', '["query", "qkv_proj"]'),
        "[methods.lora].target_modules: 'qkv_proj' match(es) no layer"),
    "unknown backend": (('backends = ["torch"]', 'backends = ["torch", "tensorrt"]'),
                        "[deploy].backends: unknown backend 'tensorrt'"),
    "pruning ratio 1.5": (("ffn_ratio = 0.5", "ffn_ratio = 1.5"),
                          "[compressions.prune].ffn_ratio: expected a number in [0, 1), got 1.5"),
    "test split of 0 rows": (("test_size = 0.25", "test_size = 0"),
                             "[datasets.d].test_size: expected a count >= 1 or a fraction"),
    "missing data file": (('path = "data.csv"', 'path = "nowhere.csv"'),
                          "[datasets.d]: data file not found"),
    "missing column": (('path = "data.csv"', 'path = "data.csv"\ntext_column = "body"'),
                       "[datasets.d]: column 'body'"),
    "model folder that does not exist": (('source = "tiny-bert"', 'source = "./no-model"'),
                                         "[models.m]:"),
    "unknown key": (("r = 4", "r = 4\nrank = 8"), "[methods.lora]: unknown key 'rank'"),
    "unknown compression": (('[["int8"]]', '[["int9"]]'), "[deploy].variants: unknown compression"),
    "quantizing step not last": (('[["int8"]]', '[["int8", "prune"]]'),
                                 "'int8' quantizes, so it must end its chain"),
}


@pytest.mark.parametrize("change, expected", BROKEN.values(), ids=BROKEN.keys())
def test_each_broken_suite_class_is_one_line_naming_file_table_and_key(folder, capsys, change,
                                                                        expected):
    assert change[0] in VALID
    status, err, _ = validate(folder, VALID.replace(change[0], change[1], 1), capsys)
    assert status == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {folder / 'suite.toml'}") and expected in err[0], err[0]


@pytest.mark.parametrize("labels, rows, expected", [
    (("good",), 24, "needs at least 2 classes; found 1"),
    (("good", "bad"), 0, "[datasets.d]:"),
])
def test_data_that_cannot_train_a_classifier(folder, capsys, labels, rows, expected):
    write_data(folder, labels, rows)
    status, err, _ = validate(folder, VALID, capsys)
    assert status == 2 and len(err) == 1 and expected in err[0], err


def test_every_problem_is_listed_at_once(folder, capsys):
    text = VALID
    for change, _ in (BROKEN[name] for name in ("negative learning rate", "LoRA r = 0",
                                                "unknown backend", "pruning ratio 1.5",
                                                "missing column")):
        text = text.replace(*change, 1)
    status, err, _ = validate(folder, text + "[methods.x]\nmethod = 'lorra'\n", capsys)
    assert status == 2
    assert len(err) == 6, err
    for table in ("[defaults.training]", "[methods.lora]", "[deploy]", "[compressions.prune]",
                  "[datasets.d]", "[methods.x]"):  # rich markup would have eaten these
        assert sum(table in line for line in err) == 1, (table, err)
    assert any("[methods.x].method: unknown method 'lorra' (did you mean 'lora'?)" in e
               for e in err)


def test_run_refuses_the_same_suite_before_any_cell_starts(folder, capsys):
    path = folder / "suite.toml"
    path.write_text(VALID.replace("batch_size = 8", "batch_size = 0").replace(
        'backends = ["torch"]', 'backends = ["tensorrt"]'))
    assert main(["validate", str(path)]) == 2
    from_validate = capsys.readouterr().err
    assert main(["run", str(path)]) == 2
    from_run = capsys.readouterr().err
    assert [l for l in from_run.splitlines() if l.startswith("error:")] == \
        from_validate.splitlines()
    assert len(from_validate.splitlines()) == 2
    assert not (folder / "runs").exists()


def test_a_declared_but_broken_entry_is_not_reported_again_where_it_is_used(folder, capsys):
    status, err, _ = validate(folder, VALID.replace("r = 4", "r = -4") + """
[[matrix]]
methods = ["lora", "full"]
""", capsys)
    assert status == 2 and len(err) == 1 and "[methods.lora].r" in err[0]


def test_sweep_values_are_checked_where_they_are_written(folder, capsys):
    sweep = "sweep = { r = [4, 0], learning_rate = [1e-3, -1.0] }"
    status, err, _ = validate(folder, VALID.replace("r = 4", sweep), capsys)
    assert status == 2 and len(err) == 2, err
    assert "[methods.lora].sweep.r: expected >= 1, got 0" in err[0]
    assert "[methods.lora].sweep.learning_rate: expected > 0, got -1.0" in err[1]
