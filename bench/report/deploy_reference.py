"""What the deployment choice compares variants with: the chosen method's own uncompressed (fp32)
model of one stated seed, the seed whose validation F1 macro is the median of that method's
deployed seeds. Not the best uncompressed run of any method, which may be another method's
or a lucky seed (or, as once happened, the weakest of 8 runs), and not the chosen method's best
seed, which flatters every variant's loss by the seed's luck."""
from __future__ import annotations

from dataclasses import dataclass

from bench.record import CellRecord, DeployedVariant
from bench.report.format import num


@dataclass
class DeployReference:
    record: CellRecord  # the run whose variants are judged
    fp32: DeployedVariant  # its uncompressed model on the first backend
    why: str  # how its seed was chosen, with the figures


def validation_f1(record: CellRecord) -> float | None:
    scores = record.evaluation.validation
    return scores.score("f1_macro") if scores else None


def seed_text(record: CellRecord) -> str:
    """The run's seed: the record's, else the one its training configuration states."""
    seed = record.seed if record.seed is not None else record.config.training.get("seed")
    return f"seed {seed}" if seed is not None else f"run `{record.cell_id}`"


def median_seed(records: list[CellRecord]) -> DeployReference | None:
    """The deployed run with the median validation F1 macro (with an even count, the lower of
    the two middle ones: the conservative side), None where no run was deployed with a
    validation score."""
    deployed = [r for r in records if r.deployment and r.deployment.reference
                and validation_f1(r) is not None]
    if not deployed:
        return None
    ranked = sorted(deployed, key=lambda r: (validation_f1(r), r.seed or 0))
    chosen = ranked[(len(ranked) - 1) // 2]
    if len(ranked) == 1:
        why = (f"its only deployed run with a validation score ({seed_text(chosen)}, validation "
               f"F1 {num(validation_f1(chosen))})")
    else:
        scores = ", ".join(f"{seed_text(r)} {num(validation_f1(r))}" for r in ranked)
        why = (f"the median of its {len(ranked)} deployed seeds on validation F1 macro "
               f"({scores}{'; the lower middle one' if len(ranked) % 2 == 0 else ''})")
    return DeployReference(chosen, chosen.deployment.reference, why)
