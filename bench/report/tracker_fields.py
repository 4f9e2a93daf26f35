"""What an experiment tracker gets of one cell: its flattened configuration (params), its
figures (metrics: test and validation scores with their intervals, training cost, each
deployed variant's latency, throughput, size and F1), its labels (tags) and its identity.

Read only through the typed record and bench/record/rows.py, and free of any tracker import,
so that the mapping is tested without one and a second tracker (W&B) could reuse it.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from bench.record import CellRecord
from bench.record.rows import CellRow, VariantRow, cell_row, variant_row

TAG = "peft_bench."  # the prefix of this project's own tags
MAX_PARAM_VALUE = 6000  # MLflow's limit on a param value's length


@dataclass
class TrackedCell:
    """One cell as a tracker run: `identity` names the run, so that exporting the same cell
    of the same configuration again finds it instead of adding a duplicate."""

    cell_id: str
    identity: str
    ok: bool
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # name -> (step, v)
    tags: dict[str, str] = field(default_factory=dict)


def identity_of(record: CellRecord) -> str:
    """The cell id with the keys of what produced it (config_hash, deploy_hash). A record
    written before the keys existed is named by a hash of its recorded configuration."""
    config = record.config_hash or "config-" + hashlib.sha256(
        json.dumps(record.config.to_dict(), sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return "--".join(filter(None, [record.cell_id, config, record.deploy_hash]))


def metric_name(name: str) -> str:
    """MLflow allows letters, digits, "_", "-", ".", " ", ":" and "/" in names; a variant
    such as "prune+int8" becomes "prune_int8"."""
    return re.sub(r"[^/\w.\- :]", "_", name)


def flatten(value, prefix: str = "") -> dict[str, str]:
    """Nested configuration -> {"training.learning_rate": "0.001", ...}; lists stay whole (as
    JSON), so that a swept list is one comparable param."""
    if isinstance(value, dict) and value:
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if not prefix:
        return {}
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return {metric_name(prefix): text[:MAX_PARAM_VALUE]}


def numbers(prefix: str, values: dict[str, float | int | bool | None]) -> dict[str, float]:
    """The values that are numbers (None: not measured, left out), under `prefix`."""
    return {metric_name(f"{prefix}{name}"): float(value) for name, value in values.items()
            if isinstance(value, (int, float)) and value is not None}


def cell_metrics(record: CellRecord, row: CellRow) -> dict[str, float]:
    validation = record.evaluation.validation
    out = numbers("test.", {**row.scores, "loss": row.eval_loss,
                            "accuracy_low": row.accuracy_low, "accuracy_high": row.accuracy_high,
                            "f1_macro_low": row.f1_macro_low,
                            "f1_macro_high": row.f1_macro_high})
    out |= numbers("validation.", dict(validation.scores) if validation else {})
    out |= numbers("before.", {"accuracy": row.before_accuracy, "f1_macro": row.before_f1_macro})
    out |= numbers("floor.", {"accuracy": row.baseline_accuracy,
                              "f1_macro": row.baseline_f1_macro})
    out |= numbers("training.", {
        "runtime_s": row.train_runtime_s, "samples_per_s": row.train_samples_per_s,
        "peak_memory_mb": row.train_peak_memory_mb, "trainable_params": row.trainable_params,
        "total_params": row.total_params, "trainable_pct": row.trainable_pct,
        "saved_mb": row.saved_mb, "best_epoch": row.best_epoch, "epochs_run": row.epochs_run,
        "may_not_have_converged": row.may_not_have_converged})
    for variant in record.variants:
        out |= variant_metrics(variant_row(record, variant))
    return out


def variant_metrics(row: VariantRow) -> dict[str, float]:
    """deploy.<variant>.<backend>.*: what choosing that variant costs and gives."""
    small, large = row.latency_batch, row.throughput_batch
    values: dict[str, float | None] = {
        "size_mb": row.size_mb, "accuracy": row.accuracy, "f1_macro": row.f1_macro,
        "f1_macro_low": row.f1_macro_low, "f1_macro_high": row.f1_macro_high,
        "delta_f1_macro": row.delta_f1_macro, "validation_f1_macro": row.validation_f1_macro,
        f"p95_ms_b{small}": row.p95_ms_latency_batch,
        f"samples_per_s_b{large}": row.samples_per_s_throughput_batch,
        f"speedup_b{small}": row.speedup_latency_batch,
        f"speedup_b{small}_low": row.speedup_latency_low,
        f"speedup_b{small}_high": row.speedup_latency_high,
        f"speedup_b{large}": row.speedup_throughput_batch,
        f"speedup_b{large}_low": row.speedup_throughput_low,
        f"speedup_b{large}_high": row.speedup_throughput_high,
        **{f"p50_ms_b{batch}": p50 for batch, p50 in row.p50_ms.items()}}
    return numbers(f"deploy.{row.variant}.{row.backend}.", values)


def curves(record: CellRecord) -> dict[str, list[tuple[int, float]]]:
    """Per-epoch training loss and validation scores, stepped by epoch: the learning curve a
    tracker draws."""
    out: dict[str, list[tuple[int, float]]] = {}
    for point in record.training.epoch_curve() if record.training else []:
        for name in ("train_loss", "validation_loss", "validation_f1_macro",
                     "validation_accuracy"):
            value = getattr(point, name)
            if value is not None:
                out.setdefault(f"epoch.{name}", []).append((int(point.epoch), float(value)))
    return out


def cell_tags(record: CellRecord, row: CellRow, identity: str) -> dict[str, str]:
    environment = record.environment
    git = environment.git if environment else {}
    seed = record.seed if record.seed is not None else record.config.training.get("seed")
    tags = {"identity": identity, "cell_id": record.cell_id, "suite": record.suite,
            "status": record.status, "seed": seed, "seed_group": record.group,
            "model": row.model, "method": row.method, "method_kind": row.method_kind,
            "dataset": row.dataset, "config_hash": record.config_hash,
            "deploy_hash": record.deploy_hash, "finished_at": record.finished_at,
            "hardware": environment.describe_hardware() if environment else None,
            "deployment_hardware": (record.deployment_environment.describe_hardware()
                                    if record.deployment_environment else None),
            "git_commit": git.get("commit"), "git_dirty": git.get("dirty"),
            "error": record.error.message if record.error else None}
    out = {TAG + key: str(value) for key, value in tags.items() if value is not None}
    if git.get("commit"):
        out["mlflow.source.git.commit"] = str(git["commit"])
    return out


def tracked_cell(record: CellRecord) -> TrackedCell:
    row = cell_row(record)
    identity = identity_of(record)
    return TrackedCell(cell_id=record.cell_id, identity=identity, ok=record.ok,
                       params=flatten(record.config.to_dict()),
                       metrics=cell_metrics(record, row), curves=curves(record),
                       tags=cell_tags(record, row, identity))
