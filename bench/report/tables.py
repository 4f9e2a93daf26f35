"""The per-dataset tables: summary, before/after, sweep trials, evaluation speed, sizes and
wrapped modules, deployment trade-offs with their noise band."""
from __future__ import annotations

from bench.measure.speedup import OVER_PROCESSES
from bench.record import CellRecord
from bench.report.document import Table
from bench.report.format import mb, num, params, setting, signed, values_label
from bench.report.groups import MethodGroup
from bench.record.rows import CellRow, VariantRow

TRIAL_PARAMETERS = {"r": "r", "alpha": "alpha", "dropout": "dropout", "bias": "bias",
                    "epochs": "epochs", "batch_size": "batch size",
                    "learning_rate": "learning rate", "scheduler": "scheduler",
                    "gradient_accumulation_steps": "grad. accumulation"}


def converged_mark(row: CellRow) -> str:
    return "⚠ best epoch = last" if row.may_not_have_converged else ""


def summary_table(groups: list[MethodGroup]) -> Table:
    rows = []
    for g in groups:
        floor = g.first.baseline_f1_macro
        rows.append([g.method, g.name, params(g.trainable_params, g.first.trainable_pct),
                     num(g.train_runtime_s, 1), num(g.train_peak_memory_mb, 0),
                     g.accuracy.text(), g.f1.text(),
                     signed(g.f1.mean - floor if g.f1.mean is not None and floor is not None
                            else None),
                     "⚠ best epoch = last" if g.may_not_have_converged else ""])
    return Table(["method", "cell", "trainable params", "train s", "train peak MB", "test accuracy",
                  "test F1 macro", "Δ F1 vs TF-IDF", "convergence"], rows)


def floor_text(rows: list[CellRow]) -> str:
    """The floor once per dataset (every cell reads the same split), and how much of each text
    it read."""
    floors = {(r.baseline_accuracy, r.baseline_f1_macro) for r in rows
              if r.baseline_f1_macro is not None}
    reads = {r.baseline_max_length for r in rows if r.baseline_f1_macro is not None}
    if not floors:
        return "No TF-IDF floor was computed for this dataset."
    accuracy, f1 = sorted(floors, key=lambda f: f[1])[0]
    same = ("" if len(floors) == 1
            else f" (cells disagree: {len(floors)} different floors; lowest shown)")
    read = ("" if reads == {None} else
            f" It reads the first {'/'.join(str(n) for n in sorted(reads - {None}))} tokens of "
            "each text, as the model does.")
    return (f"Floor, TF-IDF + logistic regression on the same split: test accuracy "
            f"{num(accuracy)}, F1 macro {num(f1)}{same}.{read}")


def before_after_table(rows: list[CellRow]) -> Table:
    return Table(["cell", "accuracy before", "F1 before", "accuracy after", "F1 after",
                  "training s"],
                 [[r.label, num(r.before_accuracy), num(r.before_f1_macro), num(r.accuracy),
                   num(r.f1_macro), num(r.train_runtime_s, 1)] for r in rows])


def trials_tables(rows: list[CellRow]) -> list[tuple[str, Table]]:
    """One table per swept method entry, rows in the order of the swept values."""
    out = []
    for method in sorted({r.method for r in rows if r.sweep}):
        trials = sorted((r for r in rows if r.method == method and r.sweep),
                        key=CellRow.swept_values)
        out.append((method, Table(
            ["trial", *TRIAL_PARAMETERS.values(), "accuracy", "F1 macro", "precision macro",
             "recall macro"],
            [[values_label(t.sweep), *[setting(getattr(t, p)) for p in TRIAL_PARAMETERS],
              num(t.accuracy), num(t.f1_macro), num(t.scores.get("precision_macro")),
              num(t.scores.get("recall_macro"))]
             for t in trials])))
    return out


def evaluation_table(rows: list[CellRow]) -> Table:
    return Table(["cell", "test loss", "eval runtime s", "eval samples/s", "eval steps/s"],
                 [[r.label, num(r.eval_loss), num(r.eval_runtime_s, 2),
                   num(r.eval_samples_per_s, 1), num(r.eval_steps_per_s, 2)] for r in rows])


def sizes_table(rows: list[CellRow]) -> Table:
    return Table(["cell", "trainable params", "saved MB (adapter alone for PEFT)",
                  "merged model MB (deployable fp32)", "modules the method wraps"],
                 [[r.label, params(r.trainable_params, r.trainable_pct), mb(r.saved_mb),
                   mb(r.merged_mb), wrapped_text(r.wrapped_modules)] for r in rows],
                 note="Merged size: the fp32 reference file of the deployment stage; – where "
                      "the cell was not deployed.")


def wrapped_text(modules: list[str] | None) -> str:
    if modules is None:
        return "– (not recorded)"
    return ", ".join(modules) if modules else "none: every weight trains"


def noise_note(records: list[CellRecord]) -> str:
    """How far the timings can be trusted, and on which hardware they were taken: the spread
    of the reference's per-round medians (interleaved rounds) and what the speed-up's interval
    and verdict mean, or, in records without rounds, how far its p50 moved when timed again at
    the end of the stage."""
    spreads, moves, busy = [], [], False
    for record in records:
        reference = record.deployment.reference if record.deployment else None
        if reference:
            spreads += [(max(s.rounds_p50_ms) - min(s.rounds_p50_ms)) / s.p50_ms
                        for s in reference.latency.values() if s.rounds_p50_ms and s.p50_ms]
            moves += [abs(r.get("relative_difference", 0.0))
                      for r in reference.latency_recheck.values()]
        busy = busy or bool(record.deployment_timing and record.deployment_timing.busy)
    if spreads:
        band = (f"Noise band: the fp32 reference's per-round medians spread over up to "
                f"{100 * max(spreads):.1f}% of its p50; {interval_wording(records)}")
    elif moves:
        band = (f"Noise band: the fp32 reference, timed again at the end of its stage, moved "
                f"its p50 by up to {100 * max(moves):.1f}%; smaller differences are not "
                "differences.")
    else:
        band = "Noise band: not measured (no repeated timing in these records)."
    environment = records[0].environment if records else None
    hardware = environment.describe_hardware() if environment else "unknown hardware"
    threads = records[0].device.torch_threads if records else None
    warning = " **The machine was busy while timing: figures may be off.**" if busy else ""
    plural = "" if threads == 1 else "s"
    return f"{band} Measured on {hardware}, {num(threads)} thread{plural}.{warning}"


def interval_wording(records: list[CellRecord]) -> str:
    """What a speed-up's interval covers and what its verdict means, for these records (older
    ones: one process, "no measurable difference" whenever the interval holds 1.0)."""
    timings = [r.deployment_timing for r in records if r.deployment_timing]
    processes = sorted({t.timing_processes for t in timings if t.timing_processes})
    bands = sorted({t.equivalence_band for t in timings if t.equivalence_band is not None})
    if not processes or not bands:
        return ("speed-ups carry a 95% interval over the rounds of one process, and one whose "
                "interval holds 1.0 is no measurable difference.")
    counts = "/".join(str(p) for p in processes)
    within = "/".join(f"±{100 * b:g}%" for b in bands)
    methods = {s.method for r in records if r.deployment for v in r.deployment.variants
               for s in v.speedup.values()}
    covers = ("a repeat run's speed-up (a prediction interval)" if OVER_PROCESSES in methods
              else "their mean")
    return (f"speed-ups are the median per-round ratio over {counts} fresh timing process(es), "
            f"with a 95% interval over the processes for {covers} (over rounds where there "
            "is one); "
            f"\"no measurable difference\" means the interval lies within {within} of 1.0, and "
            "one that holds 1.0 but reaches beyond that is \"inconclusive\".")


def deployment_summary_table(variants: list[VariantRow], records: list[CellRecord]) -> Table:
    """Every deployed variant of the dataset, grouped by cell."""
    rows = [[v.method, v.variant, v.backend, v.status, mb(v.size_mb),
             num(v.p50_ms_latency_batch, 2),
             speedup_text(v.speedup_latency_batch, v.speedup_latency_low,
                          v.speedup_latency_high, v.speedup_latency_verdict),
             num(v.samples_per_s_throughput_batch, 1),
             speedup_text(v.speedup_throughput_batch, v.speedup_throughput_low,
                          v.speedup_throughput_high, v.speedup_throughput_verdict),
             num(v.f1_macro), signed(v.delta_f1_macro)] for v in variants]
    small = next((v.latency_batch for v in variants if v.latency_batch), "?")
    large = next((v.throughput_batch for v in variants if v.throughput_batch), "?")
    return Table(["method", "variant", "backend", "status", "file MB", f"p50 ms (b={small})",
                  f"speed-up (b={small})", f"samples/s (b={large})", f"speed-up (b={large})",
                  "test F1", "Δ F1"], rows, note=noise_note(records))


def speedup_text(ratio: float | None, low: float | None, high: float | None,
                 verdict: str | None) -> str:
    """"3.46x", or with its interval (over timing processes) and what it allows to say."""
    if ratio is None:
        return "–"
    if low is None or high is None:
        return f"{ratio:.2f}x"
    return f"{ratio:.2f}x [{low:.2f}, {high:.2f}] {verdict or ''}".strip()
