"""The whole report as one document: the answer first, then the tables per dataset, the failed
cells, and the per-cell detail in an appendix. Plots are written when a folder is given.

Where every method of a dataset has a method-level verdict (3 seeds or more), the run-level
paired verdicts (one row per pair of methods and seed: 390 for 13 methods x 5 seeds) move to an
appendix: one run against one run calls two seeds of the same method different, so beside the
method-level comparisons they are detail, not a verdict."""
from __future__ import annotations

from pathlib import Path

from bench.record import CellRecord
from bench.report.answer import answer_blocks
from bench.report.appendix import cell_blocks
from bench.report.document import Document, Heading, Image, Table, Text
from bench.report.format import num
from bench.report.groups import group_cells
from bench.report.method_set import comparisons_table, every_method_judged, judged
from bench.report.study_section import split_trials, study_blocks
from bench.report.tables import (before_after_table, deployment_summary_table,
                                 evaluation_table, floor_text, sizes_table, summary_table,
                                 trials_tables)
from bench.report.verdicts import verdicts_block
from bench.record.rows import cell_rows, variant_rows

PLOTS = "plots"  # folder of the PNG files, beside the report
PAIRED_VERDICTS = "**Paired verdicts** (test split, every pair of methods)"
RUN_LEVEL_MOVED = ("**Paired verdicts of single runs** (one row per seed pair) are in the "
                   "appendix: every method here has 3 seeds or more, and the method-level "
                   "comparisons above are the verdicts on methods.")
RUN_LEVEL_APPENDIX = ("One run against one run, per seed pair, for each dataset whose methods "
                      "all have a method-level verdict. Seed-to-seed noise reads as a "
                      "difference here: two seeds of the same method are often called "
                      "different, so no row is a verdict on a method.")


def datasets_of(records: list[CellRecord]) -> dict[str, list[CellRecord]]:
    """Cells by dataset, the dataset with the most cells first: the one the suite compares
    methods on, whose answer should be on the first screen."""
    out: dict[str, list[CellRecord]] = {}
    for record in records:
        out.setdefault(record.config.dataset_name or "?", []).append(record)
    return dict(sorted(out.items(), key=lambda item: (-len(item[1]), item[0])))


class Plotter:
    """Writes PNGs into `folder` (None: no plots) and hands back their relative names."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        if folder is not None:
            from bench.report import plots

            self.plots = plots

    def draw(self, name: str, function: str, *args) -> str | None:
        if self.folder is None:
            return None
        path = getattr(self.plots, function)(*args, self.folder / PLOTS / f"{name}.png")
        return f"{PLOTS}/{name}.png" if path else None


def header(records: list[CellRecord], ok: list[CellRecord]) -> list:
    suites = sorted({r.suite for r in records if r.suite}) or ["?"]
    blocks = [Heading(1, f"peft-bench report: {', '.join(suites)}"),
              Text(f"{len(ok)} finished cell(s), {len(records) - len(ok)} failed.")]
    if ok and ok[0].environment:
        versions = ok[0].environment.versions
        libraries = ", ".join(f"{k} {versions[k]}" for k in
                              ("torch", "transformers", "peft", "onnxruntime") if k in versions)
        blocks.append(Text(f"Hardware: {ok[0].environment.describe_hardware()}, "
                           f"torch threads: {ok[0].device.torch_threads}. "
                           f"Libraries: {libraries}."))
    busy = [r.cell_id for r in ok if (r.device.gpu_check or {}).get("idle") is False]
    if busy:
        blocks.append(Text(f"**Warning:** the GPU was not idle when {len(busy)} cell(s) started "
                           f"({', '.join(busy)}): their speed and memory figures may be off."))
    shared = [r for r in ok if r.device_sharing]
    if shared:
        most = max(r.device_sharing.cells_per_device or 0 for r in shared)
        blocks.append(Text(
            f"**Shared GPU:** {len(shared)} cell(s) ran with up to {most} cells on one GPU at "
            f"once ({', '.join(r.cell_id for r in shared)}): their training time and "
            f"throughput measure the sharing as much as the method, so every cost column, plot "
            f"and comparison leaves them out (–); their scores stand. Their deployment ran "
            f"beside other cells too: `bench deploy` measures it again alone."))
    return blocks


def build_document(records: list[CellRecord], folders: dict[str, Path],
                   plot_folder: Path | None = None, margin: float = 0.02,
                   study_metric: str = "f1_macro") -> Document:
    """`folders`: cell id -> the folder of its result file (where its predictions lie);
    `margin`: of equivalence and non-inferiority, in macro-F1 (docs/statistics.md);
    `study_metric`: what a [study] chose its trials on (study.json's `selection_metric`)."""
    trials, records = split_trials(records)  # validation only: their own section
    ok = [r for r in records if r.ok]
    failed = [r for r in records if not r.ok]
    plotter = Plotter(plot_folder)
    document = Document(header(records, ok))
    by_dataset = datasets_of(ok)
    if by_dataset:
        document.add(Heading(2, "The answer"))
    sections = []
    for dataset, members in by_dataset.items():
        groups, variants = group_cells(members), variant_rows(members)
        document.add(*answer_blocks(dataset, groups, variants, folders, margin))
        latency = plotter.draw(f"{dataset}-f1-vs-latency", "tradeoff", variants,
                               "p50_ms_latency_batch", "p50 latency at the smallest batch (ms)",
                               f"{dataset}: F1 against latency", )
        if latency:
            document.add(Image(latency, f"{dataset}: F1 macro against latency, Pareto front"))
        sections.append((dataset, members, groups, variants))
    if sections:
        document.add(Heading(2, "Results by dataset"))
    run_level: list[tuple[str, Table | Text]] = []
    for dataset, members, groups, variants in sections:
        rows = cell_rows(members)
        document.add(Heading(3, dataset), Text(floor_text(rows)), summary_table(groups))
        judgement = judged(groups, folders, margin)
        methods = comparisons_table(judgement)
        if methods is not None:
            document.add(Text("**Method-level comparisons** (test split, seeds and examples, "
                              "against the validation best)"), methods)
        verdicts = verdicts_block(groups, folders)
        if verdicts is not None and every_method_judged(judgement):
            run_level.append((dataset, verdicts))
            document.add(Text(RUN_LEVEL_MOVED))
        elif verdicts is not None:
            document.add(Text(PAIRED_VERDICTS), verdicts)
        document.add(Text("**Before and after fine-tuning** (test split)"),
                     before_after_table(rows))
        for method, table in trials_tables(cell_rows([m for m in members
                                                      if m.config.study is None])):
            document.add(Text(f"**Trials of {method}** (ordered by the swept values)"), table)
        document.add(Text("**Evaluation of the fine-tuned models** (test split)"),
                     evaluation_table(rows), Text("**Sizes and wrapped modules**"),
                     sizes_table(rows))
        if variants:
            document.add(Text("**Deployed variants** (test split)"),
                         deployment_summary_table(variants, [m for m in members if m.variants]))
        for name, function, args, alt in (
                ("f1-vs-size", "tradeoff", (variants, "size_mb", "file size (MB)",
                                            f"{dataset}: F1 against file size"),
                 "F1 macro against file size, Pareto front"),
                ("f1-vs-params", "f1_against",
                 (groups, "trainable_params", "trainable parameters",
                  f"{dataset}: F1 against trainable parameters", True),
                 "F1 macro against trainable parameters"),
                ("f1-vs-train-time", "f1_against",
                 (groups, "train_runtime_s", "training time (s, per-epoch validation included)",
                  f"{dataset}: F1 against training time", False),
                 "F1 macro against training time"),
                ("f1-vs-train-memory", "f1_against",
                 (groups, "train_peak_memory_mb",
                  "training peak memory (MB; on CPU the process peak RSS)",
                  f"{dataset}: F1 against training peak memory", False),
                 "F1 macro against training peak memory")):
            image = plotter.draw(f"{dataset}-{name}", function, *args)
            if image:
                document.add(Image(image, f"{dataset}: {alt}"))
    if trials:
        document.add(*study_blocks(trials, study_metric))
    if failed:
        document.add(Heading(2, "Failed cells"), Table(
            ["cell", "phase", "error", "reason"],
            [[r.cell_id, *(map(num, [r.error.phase, r.error.type, r.error.message]) if r.error
                           else ["–"] * 3)] for r in failed]))
    if run_level:
        document.add(Heading(2, "Appendix: run-level paired verdicts"), Text(RUN_LEVEL_APPENDIX))
        for dataset, verdicts in run_level:
            document.add(Text(f"{PAIRED_VERDICTS}, {dataset}"), verdicts)
    if ok:
        document.add(Heading(2, "Appendix: per-cell detail"))
    for record in ok:
        document.add(*cell_blocks(record, plotter.draw(f"{record.cell_id}-loss", "loss_curves",
                                                       record)))
    return document



