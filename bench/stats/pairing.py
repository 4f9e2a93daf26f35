"""Paired verdicts between two result records of the same cell (two runs, e.g. `bench
compare`): only where both kept per-example predictions of the same test examples."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.record.predictions import find_predictions
from bench.stats.bootstrap import PairedVerdict, paired_verdict

PAIRED_METRICS = ("accuracy", "f1_macro")


def paired_verdicts(old: dict, new: dict, old_folder: Path, new_folder: Path
                    ) -> dict[str, dict[str, PairedVerdict]]:
    """{prediction key ("test", "deploy/<variant>/<backend>/test"): {metric: verdict of new
    against old}}; empty when the records were not scored on the same test examples (another
    dataset spec, other labels in the same rows) or either lacks its predictions file."""
    if (old.get("config") or {}).get("dataset") != (new.get("config") or {}).get("dataset"):
        return {}
    before, after = find_predictions(old, old_folder), find_predictions(new, new_folder)
    if before is None or after is None:
        return {}
    verdicts = {}
    for key in sorted(before.keys() & after.keys()):
        if not key.endswith("test") or not np.array_equal(before[key].labels, after[key].labels):
            continue
        labels, num_classes = after[key].labels, after[key].probs.shape[1]
        verdicts[key] = {metric: paired_verdict(labels, after[key].probs, before[key].probs,
                                                metric, num_classes=num_classes)
                         for metric in PAIRED_METRICS}
    return verdicts
