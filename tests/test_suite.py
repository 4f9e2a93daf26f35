"""Suite files -> cells: merging, sweeps, exclusions, stable ids, and errors that name the key."""
from pathlib import Path

import pytest

from bench.suite.cell import cell_from_json, cell_to_json
from bench.cli import main
from bench.errors import BenchInputError
from bench.suite.parser import load_suite

REPO = Path(__file__).resolve().parent.parent

BASE = """
[suite]
name = "t"
[defaults.training]
learning_rate = 1e-4
epochs = 3
[models.m]
source = "tiny-bert"
[datasets.d]
source = "tweets"
training = { epochs = 2 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def test_shipped_suites_are_valid():
    for path in sorted((REPO / "suites").glob("*.toml")):
        suite = load_suite(path)
        assert suite.cells, path
        assert len({c.id for c in suite.cells}) == len(suite.cells)


def test_every_shipped_cell_crosses_the_process_boundary_unchanged():
    """The JSON the runner hands the cell process rebuilds the same typed cell: each spec and
    each plugin's Params of its own class."""
    for path in sorted((REPO / "suites").glob("*.toml")):
        for cell in load_suite(path).cells:
            again = cell_from_json(cell_to_json(cell))
            assert again == cell, cell.id
            assert type(again.method_params) is type(cell.method_params)
            assert all(type(again.compressions[name]) is type(params)
                       for name, params in cell.compressions.items())


def test_smoke_suite_cells_and_ids():
    suite = load_suite(REPO / "suites" / "smoke.toml")
    ids = [c.id for c in suite.cells]
    assert ids == ["tiny-bert--full--tweets", "tiny-bert--lora--tweets", "tiny-bert--ia3--tweets",
                   "tiny-bert--qlora--tweets", "tiny-gpt2--lora--tweets"]
    assert suite.output_dir == Path("runs/smoke")
    lora = suite.cells[1]
    assert lora.method_params.r == 4 and lora.method_params.alpha == 8
    assert lora.dataset.train_size == 96  # from [defaults.dataset]


def test_merge_order_defaults_dataset_method_sweep(tmp_path):
    suite = load_suite(write(tmp_path, BASE + """
[methods.lora]
training = { learning_rate = 5e-4 }
sweep = { epochs = [1, 4] }
"""))
    assert [c.training.epochs for c in suite.cells] == [1, 4]
    assert all(c.training.learning_rate == 5e-4 for c in suite.cells)
    plain = load_suite(write(tmp_path, BASE + "[methods.full]\n")).cells[0]
    assert plain.training.epochs == 2 and plain.training.learning_rate == 1e-4


def test_sweep_expands_product_with_stable_distinct_ids(tmp_path):
    text = BASE + """
[methods.lora-sweep]
method = "lora"
sweep = { r = [4, 8], alpha = [8, 16, 32] }
"""
    cells = load_suite(write(tmp_path, text)).cells
    assert len(cells) == 6
    assert len({c.id for c in cells}) == 6
    assert all(c.id.startswith("m--lora-sweep--d--") for c in cells)
    assert {(c.method_params.r, c.method_params.alpha) for c in cells} == {
        (r, a) for r in (4, 8) for a in (8, 16, 32)}
    again = load_suite(write(tmp_path, text)).cells
    assert [c.id for c in again] == [c.id for c in cells]


def test_matrices_and_exclusions(tmp_path):
    suite = load_suite(write(tmp_path, BASE + """
[models.m2]
source = "tiny-gpt2"
[methods.full]
[methods.lora]
[[matrix]]
exclude = [{ model = "m2", method = "full" }]
"""))
    assert sorted(c.id for c in suite.cells) == ["m--full--d", "m--lora--d", "m2--lora--d"]


def test_a_matrix_can_opt_out_of_deployment(tmp_path):
    suite = load_suite(write(tmp_path, BASE + """
[deploy]
variants = [["int8"]]
[methods.full]
[methods.lora]
[[matrix]]
methods = ["full"]
[[matrix]]
methods = ["lora"]
deploy = false
"""))
    deploy = {c.id: c.deploy for c in suite.cells}
    assert deploy["m--full--d"].variants == [["int8"]]
    assert deploy["m--lora--d"] is None


def test_a_random_search_gives_stable_trial_cells_with_their_values(tmp_path):
    text = BASE + """
[methods.search]
method = "lora"
[methods.search.sweep]
search = "random"
trials = 5
search_seed = 3
r = [4, 8]
learning_rate = { log_uniform = [1e-4, 1e-2] }
dropout = { uniform = [0.0, 0.3] }
"""
    cells = load_suite(write(tmp_path, text)).cells
    assert len(cells) == 5 and len({c.id for c in cells}) == 5
    for cell in cells:
        assert cell.method_params.r == cell.sweep["r"] in (4, 8)
        assert cell.training.learning_rate == cell.sweep["learning_rate"]
        assert 1e-4 <= cell.sweep["learning_rate"] <= 1e-2
        assert cell.method_params.dropout == cell.sweep["dropout"]
    more = load_suite(write(tmp_path, text.replace("trials = 5", "trials = 7"))).cells
    assert [c.id for c in more[:5]] == [c.id for c in cells]  # more trials keep the first ones


@pytest.mark.parametrize("extra, expected", [
    ("[methods.lora]\nrank = 8\n", "unknown key 'rank'"),
    ("[methods.lora]\ntraining = { learnig_rate = 1 }\n", "did you mean 'learning_rate'"),
    ("[methods.x]\nmethod = 'lorra'\n", "unknown method 'lorra' (did you mean 'lora'?)"),
    ("[methods.lora]\nr = 'eight'\n", "[methods.lora].r: expected an integer"),
    ("[methods.lora]\nsweep = { r = 4 }\n", "sweep.r: expected a non-empty list"),
    ("[methods.lora]\nsweep = { search = 'random', trials = 2, r = { uniform = [4, 16] } }\n",
     "sweep.r: a distribution draws real numbers and r takes an integer"),
    ("[methods.lora]\nsweep = { search = 'random', trials = 2, dropout = { uniform = [0, 1.5] } }\n",
     "[methods.lora].sweep.dropout: expected a number in [0, 1), got 1.5"),
    ("[methods.lora]\nsweep = { search = 'random', trials = 2, lr = [1e-3] }\n",
     "sweep: unknown key 'lr'"),
    ("[methods.lora]\n[matrix]\nmodels = ['bert']\n", "unknown model 'bert'"),
    ("[methods.lora]\n[trainig]\n", "unknown key 'trainig'"),
    ("[methods.lora]\n[matrix]\ndeploy = 'no'\n", "deploy: expected true or false"),
    ("[methods.lora]\n[defaults.training.extra]\n", "unknown key 'extra'"),
])
def test_bad_suites_name_file_and_key(tmp_path, extra, expected):
    path = write(tmp_path, BASE + extra)
    with pytest.raises(BenchInputError) as error:
        load_suite(path)
    assert expected in str(error.value)
    assert str(path) in str(error.value)


def test_validate_command_exit_codes(tmp_path, capsys):
    assert main(["validate", str(REPO / "suites" / "smoke.toml")]) == 0
    assert "tiny-bert--lora--tweets" in capsys.readouterr().out
    broken = write(tmp_path, "[suite\nname=")
    assert main(["validate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "Traceback" not in err
    assert main(["validate", str(tmp_path / "missing.toml")]) == 2
