"""The learning rate of each method entry of a tuning run, chosen on validation.

    python benchmarks/choose_rates.py runs/tuning

For each method entry (cells that differ by their sweep values), prints every candidate's
validation accuracy and macro-F1, best epoch / epochs run and convergence flag, the test
figures for reference, and the choice: the highest validation macro-F1 (then accuracy)
(bench/stats/selection.py), flagged when its best epoch was its last. The suite that uses the rate
runs the same budget, so the best score at that budget is the choice; leaving out the cells
that may not have converged would prefer runs that stopped early because they never left the
majority class (seen on the movie snippets). Test scores never take part in the choice.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path


def main(argv: list[str]) -> int:
    from bench.stats.selection import Candidate, select_best
    from bench.record.store import load_records

    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    entries: dict[str, list[Candidate]] = defaultdict(list)
    for record in load_records(Path(argv[0])):
        evaluation, training = record.get("evaluation") or {}, record.get("training") or {}
        sweep = ", ".join(f"{k}={v}" for k, v in sorted((record["config"]["sweep"] or {}).items()))
        entries[record["config"]["method"]["entry"]].append(Candidate(
            sweep or record["cell_id"], evaluation.get("validation") or {},
            evaluation.get("test") or {}, {"training": training}))
    for entry, candidates in sorted(entries.items()):
        print(f"{entry}:")
        for c in candidates:
            t = c.extra["training"]
            flag = " (may not have converged)" if t.get("may_not_have_converged") else ""
            print(f"  {c.name:28s} val acc {c.validation.get('accuracy', 0):.4f} "
                  f"F1 {c.validation.get('f1_macro', 0):.4f} | best epoch {t.get('best_epoch')} "
                  f"of {t.get('epochs_run')}{flag} | test F1 {c.test.get('f1_macro', 0):.4f}")
        choice = select_best(candidates).chosen
        short = choice and choice.extra["training"].get("may_not_have_converged")
        print(f"  -> {choice.name if choice else 'none scored'}"
              + ("  (best epoch = last: a larger budget may help it)" if short else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
