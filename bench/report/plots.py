"""The report's pictures, as PNG files (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import FormatStrFormatter  # noqa: E402

from bench.record import CellRecord  # noqa: E402
from bench.report.pareto import pareto_front  # noqa: E402
from bench.record.rows import VariantRow  # noqa: E402

DPI = 110


def save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def loss_curves(record: CellRecord, path: Path) -> Path | None:
    """Training loss (every log, and its mean per epoch) and validation loss per epoch."""
    training = record.training
    if training is None or not training.log_history:
        return None
    figure, axis = plt.subplots(figsize=(6, 3.6))
    logs = training.train_loss_points()
    if logs:
        axis.plot([e for e, _ in logs], [v for _, v in logs], color="tab:blue", alpha=0.3,
                  linewidth=1, label="training loss (each log)")
    curve = training.epoch_curve()
    trained = [p for p in curve if p.train_loss is not None]
    axis.plot([p.epoch for p in trained], [p.train_loss for p in trained], "o-",
              color="tab:blue", label="training loss (mean over the epoch)")
    validated = [p for p in curve if p.validation_loss is not None]
    axis.plot([p.epoch for p in validated], [p.validation_loss for p in validated], "s-",
              color="tab:orange", label="validation loss (end of epoch)")
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.set_title(record.label, fontsize=9)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return save(figure, path)


def tradeoff(rows: list[VariantRow], cost: str, cost_label: str, title: str,
             path: Path) -> Path | None:
    """F1 macro against a cost of every deployed variant; the Pareto front drawn and named."""
    points = [(getattr(r, cost), r.f1_macro, r) for r in rows
              if r.ok and getattr(r, cost) is not None and r.f1_macro is not None]
    if len(points) < 2:
        return None
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for backend in sorted({p[2].backend for p in points}):
        mine = [p for p in points if p[2].backend == backend]
        axis.scatter([p[0] for p in mine], [p[1] for p in mine], label=backend, alpha=0.7)
    front = [points[i] for i in pareto_front([(x, y) for x, y, _ in points])]
    axis.step([p[0] for p in front], [p[1] for p in front], where="post", color="black",
              linewidth=1, label="Pareto front")
    axis.scatter([p[0] for p in front], [p[1] for p in front], s=90, facecolors="none",
                 edgecolors="black")
    for x, y, row in front:
        axis.annotate(f"{row.method}: {row.variant}/{row.backend}", (x, y), fontsize=7,
                      xytext=(4, 4), textcoords="offset points")
    axis.set_xscale("log")
    axis.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    axis.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
    axis.set_xlabel(cost_label)
    axis.set_ylabel("test F1 macro")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3, which="both")
    return save(figure, path)


def f1_against(groups: list, cost: str, cost_label: str, title: str, log_scale: bool,
               path: Path) -> Path | None:
    """One point per method (seed group) at its `cost` (a MethodGroup attribute: trainable
    parameters, training time, training memory), coloured by method entry: mean test F1, with
    its seeds' 95% interval as error bar where it was repeated."""
    points = [g for g in groups if getattr(g, cost) and g.f1.mean is not None]
    if not points:
        return None
    figure, axis = plt.subplots(figsize=(7, 4.5))
    colours = {m: f"C{i}" for i, m in enumerate(sorted({g.method for g in points}))}
    for group in points:
        error = None
        if group.f1.low is not None and group.f1.high is not None and group.f1.n > 1:
            error = [[group.f1.mean - group.f1.low], [group.f1.high - group.f1.mean]]
        x = getattr(group, cost)
        axis.errorbar([x], [group.f1.mean], yerr=error, fmt="o", capsize=4,
                      color=colours[group.method])
        label = group.short_name + (f", {group.f1.n} seeds" if group.f1.n > 1 else "")
        axis.annotate(label, (x, group.f1.mean), fontsize=7, xytext=(4, 4),
                      textcoords="offset points")
    if log_scale:
        axis.set_xscale("log")
    axis.set_xlabel(cost_label)
    axis.set_ylabel("test F1 macro")
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3, which="both")
    return save(figure, path)
