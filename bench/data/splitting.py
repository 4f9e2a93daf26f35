"""Clean rows -> row indices per split: the dataset's own splits where it has them, seeded and
stratified (where the classes allow) cuts otherwise, sizes as counts or fractions."""
from __future__ import annotations

from collections import Counter

from bench.data.types import CleanRow, input_error
from bench.specs import DatasetSpec


class Splitter:
    """Seeded, stratified (when the labels allow it) cuts of lists of row indices."""

    def __init__(self, rows: list[CleanRow], seed: int, multi_label: bool) -> None:
        self.labels = None if multi_label else [row.label for row in rows]
        self.seed = seed
        self.stratified = not multi_label

    def cut(self, indices: list[int], count: int) -> tuple[list[int], list[int]]:
        """`count` indices drawn from `indices`, and the rest."""
        from sklearn.model_selection import train_test_split  # pulls pandas: not at import

        if count == 0:
            return [], indices
        if count == len(indices):
            return indices, []
        rest, taken = train_test_split(indices, test_size=count, random_state=self.seed,
                                       stratify=self.strata(indices, count))
        return taken, rest

    def strata(self, indices: list[int], count: int) -> list[str] | None:
        if self.labels is None:
            return None
        labels = [self.labels[i] for i in indices]
        counts = Counter(labels)
        if min(counts.values()) < 2 or min(count, len(indices) - count) < len(counts):
            self.stratified = False  # too few rows per class: plain seeded shuffle
            return None
        return labels


def split_rows(spec: DatasetSpec, rows: list[CleanRow], multi_label: bool
               ) -> tuple[dict[str, list[int]], bool, bool]:
    """Row indices per split, whether the dataset's own splits were used, and whether every
    cut was stratified.

    Own splits: test/validation are kept whole (an integer size subsamples them); a missing
    one is carved from train. Otherwise test and validation are cut from all rows. Either way
    train_size then subsamples what is left for training.
    """
    pools: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        pools.setdefault(row.split or "train", []).append(i)
    predefined = any(row.split for row in rows)
    if "train" not in pools:
        raise input_error(spec, "its own splits have no train rows; set "
                                "use_predefined_splits = false to split all rows")
    splitter = Splitter(rows, spec.seed, multi_label)
    base = len(pools["train"])
    for name in ("test", "validation"):
        size = getattr(spec, f"{name}_size")
        if name in pools:
            if isinstance(size, int):
                count = count_of(spec, f"{name}_size", size, len(pools[name]))
                pools[name] = splitter.cut(pools[name], count)[0]
        else:
            count = min(count_of(spec, f"{name}_size", size, base), len(pools["train"]))
            pools[name], pools["train"] = splitter.cut(pools["train"], count)
    if not pools["train"]:
        raise input_error(spec, f"no rows left for training out of {len(rows)} after test_size = "
                                f"{spec.test_size} and validation_size = {spec.validation_size}")
    if spec.train_size is not None:
        count = count_of(spec, "train_size", spec.train_size, len(pools["train"]))
        pools["train"] = splitter.cut(pools["train"], count)[0]
    return pools, predefined, splitter.stratified


def count_of(spec: DatasetSpec, key: str, size: int | float, available: int) -> int:
    """A size as a number of rows: a count, or a fraction of `available` (at least one row)."""
    if isinstance(size, float):
        if not 0 < size < 1:
            raise input_error(spec, f"{key} = {size}: expected a count or a fraction in (0, 1)")
        return max(1, round(size * available))
    if size < 0 or size > available:
        raise input_error(spec, f"{key} = {size} but only {available} rows are available")
    return size
