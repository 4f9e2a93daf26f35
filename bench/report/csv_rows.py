"""The CSV: one row per cell (variant "fine-tuned") and one per deployed variant x backend,
with the flattening reader's column names; the score columns are the registry's shown metrics
(bench/metric_registry.py)."""
from __future__ import annotations

import csv
import io

from bench.metric_registry import shown
from bench.record import CellRecord
from bench.record.rows import FINE_TUNED, CellRow, VariantRow, cell_row, variant_row

CELL_COLUMNS = ("cell_id", "status", "model", "method", "method_kind", "dataset", "seed",
                "seed_group", "trainable_params", "total_params", "train_runtime_s",
                "train_samples_per_s", "device_shared_by", "train_peak_memory_mb", "best_epoch",
                "may_not_have_converged", "baseline_f1_macro", "before_f1_macro",
                "validation_f1_macro")
INTERVAL_COLUMNS = {"f1_macro": ("f1_macro_low", "f1_macro_high")}  # after the score's column
SCORE_COLUMNS = tuple(column for m in shown()
                      for column in (m.name, *INTERVAL_COLUMNS.get(m.name, ())))
VARIANT_COLUMNS = ("variant", "backend", "size_mb", "merged_mb", "delta_f1_macro",
                   "latency_batch", "p50_ms_latency_batch", "throughput_batch",
                   "p50_ms_throughput_batch", "samples_per_s_throughput_batch",
                   "speedup_throughput_batch", "speedup_throughput_low",
                   "speedup_throughput_high", "speedup_throughput_verdict", "error")
COLUMNS = (*CELL_COLUMNS[:6], "sweep", *CELL_COLUMNS[6:], *VARIANT_COLUMNS[:2], *SCORE_COLUMNS,
           *VARIANT_COLUMNS[2:])


def score_values(row: CellRow | VariantRow) -> dict:
    intervals = {c: getattr(row, c) for columns in INTERVAL_COLUMNS.values() for c in columns}
    return {**{m.name: row.scores.get(m.name) for m in shown()}, **intervals}


def render_csv(records: list[CellRecord]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for record in records:
        cell = cell_row(record)
        common = {name: getattr(cell, name) for name in CELL_COLUMNS}
        common["sweep"] = ";".join(f"{k}={v}" for k, v in cell.sweep.items())
        writer.writerow({**common, "variant": FINE_TUNED, "backend": "torch",
                         "size_mb": cell.saved_mb, "merged_mb": cell.merged_mb,
                         "error": cell.error, **score_values(cell)})
        for variant in record.variants:
            row = variant_row(record, variant)
            writer.writerow({**common, "status": row.status, "error": row.reason,
                             **{k: getattr(row, k) for k in VARIANT_COLUMNS
                                if k not in ("merged_mb", "error")},
                             **score_values(row)})
    return out.getvalue()
