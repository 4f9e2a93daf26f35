"""`seeds` in a suite: one cell per seed, the most specific declaration wins, and bad lists
are bad input naming the table."""
from pathlib import Path

import pytest

from bench.errors import BenchInputError
from bench.suite.parser import load_suite

SUITE = """
[suite]
name = "t"
seeds = [1, 2]
[models.m]
source = "tiny-bert"
[datasets.d]
source = "tweets"
seed = 7
[methods.full]
[methods.lora]
seeds = [5, 6, 7]
[methods.ia3]
sweep = { learning_rate = [1e-3, 1e-2] }
[[matrix]]
methods = ["full", "lora"]
[[matrix]]
methods = ["ia3"]
seeds = [3]
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return load_suite(path)


def test_each_seed_is_a_cell_and_the_most_specific_list_wins(tmp_path):
    cells = {c.id: c for c in load(tmp_path, SUITE).cells}
    ia3 = sorted(i for i in cells if "ia3" in i)
    assert sorted(i for i in cells if "ia3" not in i) == [
        "m--full--d--seed1", "m--full--d--seed2",
        "m--lora--d--seed5", "m--lora--d--seed6", "m--lora--d--seed7"]
    assert len(ia3) == 2 and all(i.endswith("--seed3") for i in ia3)  # matrix beats suite
    lora = cells["m--lora--d--seed6"]
    assert lora.training.seed == 6 and lora.seed_group == "m--lora--d"
    assert lora.dataset.seed == 7  # the split stays: every seed scores the same test set
    assert not hasattr(lora.method_params, "seeds")


def test_without_seeds_the_cell_is_its_own_group(tmp_path):
    text = SUITE.replace("seeds = [1, 2]\n", "").replace("seeds = [5, 6, 7]\n", "")
    cells = {c.id: c for c in load(tmp_path, text).cells}
    assert cells["m--full--d"].seed_group == "m--full--d"
    assert cells["m--full--d"].training.seed == 42


@pytest.mark.parametrize("seeds", ["[]", "[1, 1]", "['a']", "3"])
def test_bad_seed_lists_name_the_table(tmp_path, seeds):
    with pytest.raises(BenchInputError, match=r"\[methods.lora\].seeds: expected a non-empty"):
        load(tmp_path, SUITE.replace("seeds = [5, 6, 7]", f"seeds = {seeds}"))


def test_early_stopping_needs_per_epoch_validation(tmp_path):
    text = SUITE.replace("[methods.full]", "[methods.full]\ntraining = { early_stopping_patience"
                         " = 2, eval_each_epoch = false }")
    with pytest.raises(BenchInputError, match="early_stopping_patience = 2 needs"):
        load(tmp_path, text)
