"""Per-cell detail, after the answer and the dataset tables: configuration, training, scores,
per-class report, confusion matrix, training curve, examples, deployed variants."""
from __future__ import annotations

from bench.metric_registry import shown
from bench.record import CellRecord, Metrics
from bench.report.document import Block, Heading, Image, Table, Text
from bench.report.format import mb, num, setting, signed
from bench.report.tables import noise_note
from bench.record.rows import megabytes

TRAINING_KEYS = ("learning_rate", "epochs", "batch_size", "gradient_accumulation_steps",
                 "weight_decay", "scheduler", "warmup_ratio", "warmup_steps", "precision",
                 "padding", "sampling", "keep_best", "metric_for_best", "seed")
METRIC_COLUMNS = (*(m.name for m in shown()), "loss")


def configuration_table(r: CellRecord) -> Table:
    config, model = r.config, r.config.model
    rows = [["model", f"{model.get('name')} ({model.get('source')})"
             + (" **random weights: speed/memory figures only**" if model.get("random_init")
                else "")], ["method", config.method_name]]
    rows += [[f"method.{k}", v] for k, v in config.method_params.items()]
    if r.wrapped_modules:
        rows.append(["modules wrapped", ", ".join(r.wrapped_modules)])
    p = r.parameters
    if p:
        rows.append(["trainable / total parameters", f"{num(p.trainable)} / {num(p.total)} "
                                                     f"({num(p.trainable_pct, 3)}%)"])
    sizes = r.data.get("sizes") or {}
    rows += [["dataset", f"{config.dataset_name} ({config.dataset.get('source')})"],
             ["split sizes (train / validation / test)",
              " / ".join(num(sizes.get(s)) for s in ("train", "validation", "test"))],
             ["max length (tokens)", config.dataset.get("max_length")],
             ["seed", num(r.seed if r.seed is not None else config.training.get("seed"))]]
    rows.append(["configuration key", r.config_hash or "unknown (written before configuration "
                                                       "keys were recorded)"])
    if r.deploy_hash:
        rows.append(["deployment key", r.deploy_hash])
    git = r.environment.git if r.environment else {}
    rows.append(["git commit", f"{(git.get('commit') or '?')[:10]}"
                               + (" (dirty)" if git.get("dirty") else "")])
    if r.data.get("notes"):
        rows.append(["data notes", r.data["notes"]])
    return Table(["setting", "value"], [[k, setting(v)] for k, v in rows])


def training_table(r: CellRecord) -> Table:
    hyper, t = r.config.training, r.training
    rows = [[k, setting(hyper[k])] for k in TRAINING_KEYS if k in hyper]
    if t:
        if r.device_sharing:
            rows.append(["GPU shared", f"with up to {r.device_sharing.cells_per_device} cells at "
                                       f"once ({r.device_sharing.basis}): the times below are "
                                       f"not the method's cost"])
        rows += [["train runtime (s)", num(t.runtime_s, 1)],
                 ["train samples/s (eval excluded)", num(t.samples_per_s, 1)],
                 ["train tokens/s (real tokens, eval excluded)", num(t.tokens_per_s, 0)],
                 ["optimizer steps", num(t.steps)],
                 ["best epoch / epochs run",
                  f"{num(t.best_epoch, 1)} / {num(t.epochs_run or t.epochs, 1)}"],
                 ["may not have converged", num(t.may_not_have_converged)],
                 ["peak RSS of the cell (MB)", mb(megabytes(t.peak_rss_bytes))]]
        if t.cuda_max_allocated_bytes is not None:
            rows.append(["CUDA max allocated / reserved (MB)",
                         f"{mb(megabytes(t.cuda_max_allocated_bytes))} / "
                         f"{mb(megabytes(t.cuda_max_reserved_bytes))}"])
    return Table(["training argument", "value"], rows)


def metrics_table(r: CellRecord) -> Table:
    candidates: list[tuple[str, Metrics | None]] = [
        ("TF-IDF + LR baseline (test)", r.baseline.test if r.baseline else None),
        ("before fine-tuning (test)", r.evaluation.before),
        ("after fine-tuning (validation)", r.evaluation.validation),
        ("after fine-tuning (test)", r.evaluation.test)]
    rows = [[name] + [num(m.score(k)) for k in METRIC_COLUMNS] + [num(m.samples_per_s, 1)]
            for name, m in candidates if m]
    return Table(["model", *METRIC_COLUMNS, "eval samples/s"], rows)


def per_class_table(r: CellRecord) -> Table | None:
    test = r.evaluation.test
    if not test or not test.per_class:
        return None
    return Table(["class", "precision", "recall", "F1", "support"],
                 [[name, num(c.precision), num(c.recall), num(c.f1), num(c.support)]
                  for name, c in test.per_class.items()])


def confusion_table(r: CellRecord) -> Table | None:
    test, names = r.evaluation.test, r.task.label_names
    if not test or not test.confusion_matrix or len(names) != len(test.confusion_matrix):
        return None
    return Table(["true \\ predicted", *names],
                 [[names[i], *map(num, row)] for i, row in enumerate(test.confusion_matrix)])


def curve_table(r: CellRecord) -> Table | None:
    curve = r.training.epoch_curve() if r.training else []
    if not curve:
        return None
    return Table(["epoch", "mean train loss", "validation loss", "validation F1 macro"],
                 [[str(p.epoch), num(p.train_loss), num(p.validation_loss),
                   num(p.validation_f1_macro)] for p in curve])


def examples_table(r: CellRecord) -> Table | None:
    rows = []
    for example in r.examples:
        text = example.text if len(example.text) <= 120 else example.text[:117] + "..."
        ok = "✓" if example.label == example.predicted else "✗"
        rows.append([text, example.label, example.predicted, num(example.score, 3), ok])
    return Table(["text", "label", "predicted", "score", ""], rows) if rows else None


def deployment_table(r: CellRecord) -> Table | None:
    if not r.variants:
        return None
    sizes = r.deployment.batch_sizes
    small, large = (sizes[0], sizes[-1]) if sizes else (None, None)
    rows = []
    for v in r.variants:
        note = v.reason or ""
        if v.fell_back:
            note = (note + " " if note else "") + "fell back to CPU"
        if v.slow_warning:
            note = (note + " " if note else "") + v.slow_warning
        latency = v.latency.get(small)
        speedup = v.speedup.get(large)
        rows.append([v.variant, v.backend, v.status, mb(megabytes(v.file_bytes)),
                     num(v.p50_ms(small), 2), num(latency.p95_ms if latency else None, 2),
                     num(v.p50_ms(large), 1), num(v.samples_per_s(large), 1),
                     num(speedup.ratio if speedup else None, 2),
                     num(v.metrics.score("accuracy") if v.metrics else None),
                     num(v.metrics.score("f1_macro") if v.metrics else None),
                     signed(v.deltas.get("f1_macro")), note])
    return Table(["variant", "backend", "status", "size MB", f"p50 ms (b={small})",
                  f"p95 ms (b={small})", f"p50 ms (b={large})", f"samples/s (b={large})",
                  f"speed-up (b={large})", "accuracy", "F1 macro", "Δ F1", "note"], rows,
                 note=noise_note([r]))


def cell_blocks(r: CellRecord, loss_plot: str | None) -> list[Block]:
    blocks: list[Block] = [Heading(3, r.label), Text("**Configuration**"),
                           configuration_table(r), Text("**Training**"), training_table(r),
                           Text("**Scores**"), metrics_table(r)]
    for title, table in (("Per-class report (test)", per_class_table(r)),
                         ("Confusion matrix (test)", confusion_table(r)),
                         ("Training curve", curve_table(r))):
        if table:
            blocks += [Text(f"**{title}**"), table]
    if loss_plot:
        blocks.append(Image(loss_plot, f"training and validation loss of {r.cell_id}"))
    for title, table in (("Inference examples (test)", examples_table(r)),
                         ("Compression and deployment (test split)", deployment_table(r))):
        if table:
            blocks += [Text(f"**{title}**"), table]
    return blocks
