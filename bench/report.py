"""Markdown and CSV reports, built only from result records (never from live objects)."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any, Iterable

MB = 1_000_000  # decimal megabytes, as model sizes are usually quoted


def num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def signed(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    return f"{round(value, digits) + 0.0:+.{digits}f}"  # + 0.0: no "-0.0000"


def table(headers: list[str], rows: Iterable[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [str(c).replace("|", "\\|").replace("\n", " ") for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def speedup_ratio(variant: dict, batch: str) -> float | None:
    """The speed-up at `batch`: a dict with its interval since timing rounds, a bare ratio in
    older records."""
    value = get(variant, "speedup", batch)
    return value.get("ratio") if isinstance(value, dict) else value


def get(record: dict, *path: str, default: Any = None) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def label(record: dict) -> str:
    sweep = get(record, "config", "sweep") or {}
    extra = ", ".join(f"{k}={v}" for k, v in sweep.items())
    return f"{record['cell_id']}" + (f" ({extra})" if extra else "")


def mb(value: float | None) -> str:
    return "–" if value is None else f"{value / MB:.1f}"


# ---------------------------------------------------------------- summary


def summary_table(records: list[dict]) -> str:
    headers = ["cell", "method", "dataset", "trainable params", "train s", "train samples/s",
               "peak RSS MB", "test acc", "test F1 macro", "F1 before", "TF-IDF F1",
               "Δ F1 vs TF-IDF", "saved MB"]
    rows = []
    for r in records:
        f1 = get(r, "evaluation", "test", "f1_macro")
        floor = get(r, "baseline", "test", "f1_macro")
        rows.append([
            label(r), get(r, "config", "method", "name"), get(r, "config", "dataset", "name"),
            f"{num(get(r, 'parameters', 'trainable'))} ({num(get(r, 'parameters', 'trainable_pct'), 2)}%)",
            num(get(r, "training", "runtime_s"), 1), num(get(r, "training", "samples_per_s"), 1),
            mb(get(r, "training", "peak_rss_bytes")), num(get(r, "evaluation", "test", "accuracy")),
            num(f1), num(get(r, "evaluation", "before", "f1_macro")), num(floor),
            signed(f1 - floor if f1 is not None and floor is not None else None),
            mb(get(r, "artefacts", "bytes"))])
    return table(headers, rows)


def failed_table(records: list[dict]) -> str:
    rows = [[r["cell_id"], get(r, "error", "phase"), get(r, "error", "type"),
             get(r, "error", "message")] for r in records]
    return table(["cell", "phase", "error", "reason"], rows)


# ---------------------------------------------------------------- per cell


def configuration_table(r: dict) -> str:
    model = get(r, "config", "model") or {}
    dataset = get(r, "config", "dataset") or {}
    data = r.get("data") or {}
    rows = [["model", f"{model.get('name')} ({model.get('source')})"
             + (" **random weights: speed/memory figures only**" if model.get("random_init") else "")],
            ["method", get(r, "config", "method", "name")]]
    rows += [[f"method.{k}", v] for k, v in (get(r, "config", "method", "params") or {}).items()]
    rows += [["trainable / total parameters",
              f"{num(get(r, 'parameters', 'trainable'))} / {num(get(r, 'parameters', 'total'))} "
              f"({num(get(r, 'parameters', 'trainable_pct'), 3)}%)"],
             ["dataset", f"{dataset.get('name')} ({dataset.get('source')})"],
             ["split sizes (train / validation / test)", "{} / {} / {}".format(
                 *[num(get(data, "sizes", s)) for s in ("train", "validation", "test")])],
             ["max length (tokens)", dataset.get("max_length")],
             ["device", f"{get(r, 'device', 'type')} ({get(r, 'device', 'name') or get(r, 'environment', 'hardware', 'cpu')}), "
                        f"{get(r, 'device', 'torch_threads')} threads"],
             ["git commit", f"{(get(r, 'environment', 'git', 'commit') or '?')[:10]}"
                            + (" (dirty)" if get(r, "environment", "git", "dirty") else "")]]
    if data.get("notes"):
        rows.append(["data notes", data["notes"]])
    return table(["setting", "value"], rows)


TRAINING_KEYS = ("learning_rate", "epochs", "batch_size", "gradient_accumulation_steps",
                 "weight_decay", "scheduler", "warmup_ratio", "warmup_steps", "precision",
                 "padding", "sampling", "keep_best", "metric_for_best", "seed")


def training_table(r: dict) -> str:
    training = get(r, "config", "training") or {}
    report = r.get("training") or {}
    rows = [[k, training.get(k)] for k in TRAINING_KEYS if k in training]
    rows += [["train runtime (s)", num(report.get("runtime_s"), 1)],
             ["train samples/s (eval excluded)", num(report.get("samples_per_s"), 1)],
             ["train tokens/s (real tokens, eval excluded)", num(report.get("tokens_per_s"), 0)],
             ["achieved TFLOP/s (estimate) / MFU", compute_text(report.get("compute"))],
             ["optimizer steps", num(report.get("steps"))],
             ["best epoch", num(report.get("best_epoch"), 1)],
             ["peak RSS of the cell (MB)", mb(report.get("peak_rss_bytes"))]]
    if report.get("cuda_max_allocated_bytes") is not None:
        rows += [["CUDA max allocated / reserved (MB)", f"{mb(report['cuda_max_allocated_bytes'])} / "
                                                         f"{mb(report['cuda_max_reserved_bytes'])}"]]
    return table(["training argument", "value"], rows)


def compute_text(compute: dict | None) -> str:
    if not compute:
        return "–"
    mfu = compute.get("mfu")
    return (f"{num(compute['achieved_tflops'], 3)} / "
            + (f"{100 * mfu:.1f}% of {num(compute['peak_tflops'], 0)}" if mfu is not None
               else "– (no known peak for this device and precision)"))


METRIC_COLUMNS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_micro",
                  "f1_weighted", "roc_auc", "loss")


def metrics_table(r: dict) -> str:
    rows = []
    candidates = [("TF-IDF + LR baseline (test)", get(r, "baseline", "test")),
                  ("before fine-tuning (test)", get(r, "evaluation", "before")),
                  ("after fine-tuning (validation)", get(r, "evaluation", "validation")),
                  ("after fine-tuning (test)", get(r, "evaluation", "test"))]
    for name, metrics in candidates:
        if metrics:
            rows.append([name] + [num(metrics.get(k)) for k in METRIC_COLUMNS]
                        + [num(metrics.get("samples_per_s"), 1)])
    return table(["model"] + list(METRIC_COLUMNS) + ["eval samples/s"], rows)


def per_class_table(r: dict) -> str:
    per_class = get(r, "evaluation", "test", "per_class") or {}
    rows = [[name, num(m["precision"]), num(m["recall"]), num(m["f1"]), num(m["support"])]
            for name, m in per_class.items()]
    return table(["class", "precision", "recall", "F1", "support"], rows)


def confusion_table(r: dict) -> str:
    matrix = get(r, "evaluation", "test", "confusion_matrix")
    names = get(r, "task", "label_names") or []
    if not matrix:
        return ""
    return table(["true \\ predicted"] + names,
                 [[names[i]] + [num(v) for v in row] for i, row in enumerate(matrix)])


def curve_table(r: dict) -> str:
    """Training loss and validation scores per epoch (the full per-step log is in the JSON)."""
    history = get(r, "training", "log_history") or []
    epochs: dict[float, dict] = defaultdict(dict)
    for entry in history:
        epoch = round(entry.get("epoch", 0), 2)
        if "loss" in entry:
            epochs[epoch]["train loss"] = entry["loss"]
        if "eval_loss" in entry:
            epochs[epoch]["eval loss"] = entry["eval_loss"]
            epochs[epoch]["eval F1 macro"] = entry.get("eval_f1_macro")
    rows = [[num(e, 2), num(v.get("train loss")), num(v.get("eval loss")),
             num(v.get("eval F1 macro"))] for e, v in sorted(epochs.items()) if "eval loss" in v]
    return table(["epoch", "last train loss", "validation loss", "validation F1 macro"], rows) if rows else ""


def examples_table(r: dict) -> str:
    rows = []
    for example in r.get("examples") or []:
        text = example["text"]
        text = text if len(text) <= 120 else text[:117] + "..."
        ok = "✓" if example["label"] == example["predicted"] else "✗"
        rows.append([text, example["label"], example["predicted"], num(example["score"], 3), ok])
    return table(["text", "label", "predicted", "score", ""], rows) if rows else ""


def deployment_table(r: dict) -> str:
    variants = r.get("deployment") or []
    if not variants:
        return ""
    batch_sizes = sorted({int(b) for v in variants for b in (v.get("latency") or {})})
    throughput = throughput_batch(variants)
    latency_batch = str(min(batch_sizes)) if batch_sizes else None
    headers = ["variant", "backend", "status", "size MB", f"p50 ms (b={latency_batch})",
               f"p95 ms (b={latency_batch})", f"p50 ms (b={throughput})",
               f"samples/s (b={throughput})", f"speed-up (b={throughput})", "accuracy", "F1 macro",
               "Δ F1", "note"]
    rows = []
    for v in variants:
        lat = v.get("latency") or {}
        small, big = lat.get(latency_batch) or {}, lat.get(throughput) or {}
        note = v.get("reason") or ""
        if get(v, "backend_info", "fell_back"):
            note = (note + " " if note else "") + "fell back to CPU"
        rows.append([v.get("variant"), v.get("backend"), v.get("status"),
                     mb(get(v, "footprint", "file_bytes")), num(small.get("p50_ms"), 2),
                     num(small.get("p95_ms"), 2), num(big.get("p50_ms"), 1),
                     num(big.get("samples_per_s"), 1),
                     num(speedup_ratio(v, throughput), 2),
                     num(get(v, "metrics", "accuracy")), num(get(v, "metrics", "f1_macro")),
                     signed(get(v, "deltas", "f1_macro")), note])
    return (table(headers, rows) + best_variant_line(variants, throughput)
            + training_note(variants) + recheck_line(variants))


def training_note(variants: list[dict]) -> str:
    """Compressions that train further (pruning recovery, QAT) change F1 by that training too."""
    epochs = {}
    for v in variants:
        info = v.get("compression_info") or {}
        if get(info, "prune", "recovery_epochs"):
            epochs["prune"] = f"prune: {num(info['prune']['recovery_epochs'], 1)} recovery epoch(s)"
        if get(info, "qat", "epochs"):
            epochs["qat"] = f"qat: {num(info['qat']['epochs'], 1)} fake-quantized epoch(s)"
    if not epochs:
        return ""
    return (f"\nFurther training after the fine-tuned model ({'; '.join(epochs.values())}) is part "
            "of those variants' Δ F1.\n")


def recheck_line(variants: list[dict]) -> str:
    """How much the reference's p50 moved when timed again at the end of the stage."""
    reference = next((v for v in variants if v.get("latency_recheck")), None)
    if reference is None:
        return ""
    moves = ", ".join(f"{num(100 * r['relative_difference'], 1)}% at batch {size}"
                      for size, r in sorted(reference["latency_recheck"].items(),
                                            key=lambda item: int(item[0])))
    return (f"\nTiming stability: {reference['variant']} on {reference['backend']}, timed again "
            f"at the end of the stage, moved its p50 by {moves}.\n")


def within_one_point(variants: list[dict], batch: str | None) -> list[dict]:
    """Variants that ran, were timed at `batch` and lost at most 1 point of F1 macro."""
    return [v for v in variants if v.get("status") == "ok"
            and (get(v, "deltas", "f1_macro") or 0) >= -0.01 and get(v, "latency", batch, "p50_ms")]


def throughput_batch(variants: list[dict]) -> str | None:
    sizes = [int(b) for v in variants for b in (v.get("latency") or {})]
    return str(max(sizes)) if sizes else None


def best_variant_line(variants: list[dict], batch: str | None) -> str:
    """The fastest variant within 1 point of F1 of the uncompressed model."""
    ok = within_one_point(variants, batch)
    if not ok:
        return ""
    best = min(ok, key=lambda v: v["latency"][batch]["p50_ms"])
    return (f"\nBest within 1 point of F1: **{best['variant']} on {best['backend']}**, "
            f"{num(speedup_ratio(best, batch), 2)}x at batch {batch}, "
            f"{mb(get(best, 'footprint', 'file_bytes'))} MB, Δ F1 {signed(get(best, 'deltas', 'f1_macro'))}.\n")


def compression_summary_table(records: list[dict]) -> str:
    """Per deployed cell: the reference, and the fastest and the smallest variant within 1
    point of F1 macro of it (speed at the throughput batch)."""
    rows = []
    for r in records:
        variants = r.get("deployment") or []
        batch = throughput_batch(variants)
        reference = next((v for v in variants
                          if v.get("chain") == [] and v.get("status") == "ok"), None)
        ok = within_one_point(variants, batch)
        if reference is None or not ok:
            continue
        fastest = min(ok, key=lambda v: v["latency"][batch]["p50_ms"])
        smallest = min(ok, key=lambda v: get(v, "footprint", "file_bytes") or float("inf"))
        rows.append([label(r), f"{reference['backend']}, {variant_size(reference)} MB, "
                               f"{num(get(reference, 'latency', batch, 'p50_ms'), 1)} ms",
                     f"{variant_name_on(fastest)}: {variant_gain(fastest, batch)}",
                     f"{variant_name_on(smallest)}: {variant_size(smallest)} MB, "
                     f"{variant_gain(smallest, batch)}"])
    if not rows:
        return ""
    return table(["cell", "fp32 reference (size, p50 at the throughput batch)",
                  "fastest within 1 pt F1", "smallest within 1 pt F1"], rows)


def variant_name_on(variant: dict) -> str:
    return f"{variant['variant']} / {variant['backend']}"


def variant_size(variant: dict) -> str:
    return mb(get(variant, "footprint", "file_bytes"))


def variant_gain(variant: dict, batch: str) -> str:
    return (f"{num(speedup_ratio(variant, batch), 2)}x, "
            f"Δ F1 {signed(get(variant, 'deltas', 'f1_macro'))}")


def cell_section(r: dict) -> str:
    parts = [f"## {label(r)}\n", "### Configuration\n", configuration_table(r),
             "\n### Training arguments\n", training_table(r), "\n### Metrics\n", metrics_table(r)]
    for title, body in (("Per-class report (test)", per_class_table(r)),
                        ("Confusion matrix (test)", confusion_table(r)),
                        ("Training curve", curve_table(r)),
                        ("Inference examples (test)", examples_table(r)),
                        ("Compression and deployment (test split)", deployment_table(r))):
        if body.strip():
            parts += [f"\n### {title}\n", body]
    return "\n".join(parts)


def environment_line(records: list[dict]) -> str:
    r = records[0]
    versions = get(r, "environment", "versions") or {}
    libs = ", ".join(f"{k} {versions[k]}" for k in ("torch", "transformers", "peft", "onnxruntime")
                     if k in versions)
    hw = get(r, "environment", "hardware") or {}
    busy = [x["cell_id"] for x in records if get(x, "device", "gpu_check", "idle") is False]
    warning = (f"\n**Warning:** the GPU was not idle when {len(busy)} cell(s) started "
               f"({', '.join(busy)}): their speed and memory figures may be off.\n" if busy else "")
    return (f"Hardware: {hw.get('gpu') or hw.get('cpu')} ({hw.get('cpu_count')} cores), "
            f"{get(r, 'device', 'torch_threads')} torch threads. Libraries: {libs}.\n" + warning)


def render_markdown(records: list[dict]) -> str:
    ok = [r for r in records if r.get("status") == "ok"]
    failed = [r for r in records if r.get("status") != "ok"]
    suites = sorted({r.get("suite", "?") for r in records})
    parts = [f"# peft-bench report: {', '.join(suites)}\n",
             f"{len(ok)} finished cell(s), {len(failed)} failed.\n"]
    if ok:
        parts += [environment_line(ok), "\n## Summary\n", summary_table(ok)]
        compression = compression_summary_table(ok)
        if compression:
            parts += ["\n## Compression trade-offs\n", compression]
    if failed:
        parts += ["\n## Failed cells\n", failed_table(failed)]
    parts += ["\n" + cell_section(r) for r in ok]
    return "\n".join(parts)


CSV_COLUMNS = ("cell_id", "status", "model", "method", "dataset", "sweep", "variant", "backend",
               "trainable_params", "total_params", "train_runtime_s", "train_samples_per_s",
               "peak_rss_mb", "accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_micro",
               "f1_weighted", "roc_auc", "baseline_f1_macro", "before_f1_macro", "size_mb",
               "p50_ms_small_batch", "p50_ms_large_batch", "samples_per_s_large_batch", "error")


def render_csv(records: list[dict]) -> str:
    """One row per cell (variant 'fine-tuned') and one per deployment variant x backend."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in records:
        common = {"cell_id": r["cell_id"], "status": r.get("status"),
                  "model": get(r, "config", "model", "name"),
                  "method": get(r, "config", "method", "name"),
                  "dataset": get(r, "config", "dataset", "name"),
                  "sweep": ";".join(f"{k}={v}" for k, v in (get(r, "config", "sweep") or {}).items()),
                  "trainable_params": get(r, "parameters", "trainable"),
                  "total_params": get(r, "parameters", "total"),
                  "baseline_f1_macro": get(r, "baseline", "test", "f1_macro"),
                  "before_f1_macro": get(r, "evaluation", "before", "f1_macro")}
        test = get(r, "evaluation", "test") or {}
        size = get(r, "artefacts", "bytes")
        writer.writerow({**common, "variant": "fine-tuned", "backend": "torch",
                         "train_runtime_s": get(r, "training", "runtime_s"),
                         "train_samples_per_s": get(r, "training", "samples_per_s"),
                         "peak_rss_mb": (get(r, "training", "peak_rss_bytes") or 0) / MB or None,
                         "size_mb": size / MB if size else None,
                         "error": get(r, "error", "message"),
                         **{k: test.get(k) for k in METRIC_COLUMNS if k in CSV_COLUMNS}})
        for v in r.get("deployment") or []:
            lat = v.get("latency") or {}
            sizes = sorted(lat, key=int)
            small, big = (lat[sizes[0]], lat[sizes[-1]]) if sizes else ({}, {})
            writer.writerow({**common, "variant": v.get("variant"), "backend": v.get("backend"),
                             "status": v.get("status"), "error": v.get("reason"),
                             "size_mb": (get(v, "footprint", "file_bytes") or 0) / MB or None,
                             "p50_ms_small_batch": small.get("p50_ms"),
                             "p50_ms_large_batch": big.get("p50_ms"),
                             "samples_per_s_large_batch": big.get("samples_per_s"),
                             **{k: get(v, "metrics", k) for k in METRIC_COLUMNS if k in CSV_COLUMNS}})
    return out.getvalue()
