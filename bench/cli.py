"""`bench run | deploy | clean | validate | ls | report | compare` (and `python -m bench ...`)."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from rich.console import Console

from bench.cli_parser import build_parser
from bench.errors import BenchInputError, SuiteProblems, problems_of

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    from bench.executors.launch import QUIET_LIBRARIES

    for name, value in QUIET_LIBRARIES.items():  # before transformers is imported
        os.environ.setdefault(name, value)
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        return COMMANDS[args.command](args, console)
    except BenchInputError as error:
        print_problems(problems_of(error))
        return EXIT_BAD_INPUT


def print_problems(problems: list[str]) -> None:
    """One plain line per problem on stderr: no markup, which would eat "[methods.lora]"."""
    sys.stdout.flush()
    for problem in problems:
        sys.stderr.write(f"error: {problem}\n")
    sys.stderr.flush()


def check_results_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise BenchInputError(f"results folder not found: {folder}")


def readable_records(folder: Path, console: Console, verb: str):
    """The folder's records for `verb` (report, export): refused where one cell id holds two
    configurations; each file that cannot be read is named; none at all is an input error."""
    from bench.record.store import read_cell_records

    loaded = read_cell_records(folder, include_failed=True)
    if loaded.conflicts:
        raise SuiteProblems([f"{folder}: {conflict}; {verb} one folder at a time"
                             for conflict in loaded.conflicts])
    for problem in loaded.unreadable:
        console.print(f"not read: {problem}", markup=False, highlight=False, soft_wrap=True)
    if not loaded.records:
        found = (f" ({len(loaded.unreadable)} file(s) not readable, see above)"
                 if loaded.unreadable else "")
        raise BenchInputError(f"{folder}: no result records this peft-bench can read{found}")
    return loaded


def cmd_run(args, console: Console) -> int:
    from dataclasses import replace
    from functools import partial

    from bench.suite.preflight import checked_suite
    from bench.executors.runner import run_suite

    console.print("[dim]checking the suite (data, models, every key)...")
    suite, cells = checked_suite(args.suite, only=args.only)
    if args.mlflow:  # a missing package is said before the cells run, not after
        from bench.report.mlflow_export import client_for

        client_for(args.mlflow)
    if args.output:
        suite = replace(suite, output_dir=args.output)
    signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    run = run_suite
    if suite.study is not None:  # trials, the choice, then the chosen seed cells
        from bench.executors.study_run import run_study

        run = partial(run_study, only=args.only)
    if args.dry_run:
        run(suite, cells, None, force=args.force, console=console, dry_run=True)
        return 0
    summary = run(suite, cells, make_executor(args, suite), force=args.force, console=console)
    console.print(f"results in {suite.output_dir}; report: bench report {suite.output_dir} --md",
                  markup=False)
    if args.mlflow:
        export_to_mlflow(args, suite.output_dir, console)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return 1 if summary.failed else 0


def stop_like_ctrl_c(signum, frame) -> None:
    """SIGTERM (a scheduler, `kill`, a CI timeout) stops a run as Ctrl-C does: the running
    cells are stopped and the finished ones kept."""
    raise KeyboardInterrupt


def make_executor(args, suite):
    from bench.executors.processes import LocalExecutor

    if args.executor == "ray":
        from bench.executors.gpu_sharing import suite_share
        from bench.executors.ray_tasks import RayExecutor
        from bench.record import CellRecord
        from bench.record.store import load_records

        earlier = ([CellRecord.from_dict(r) for r in load_records(suite.output_dir)]
                   if suite.cells_per_gpu == "auto" and suite.output_dir.is_dir() else [])
        share = suite_share(suite.cells_per_gpu, suite.gpus_per_cell, earlier)
        if share and share.fraction < 1:
            print(f"GPU shared: {share.basis}", file=sys.stderr)
        return RayExecutor(address=args.address, num_cpus=args.workers,
                           cpus_per_cell=suite.cpus_per_cell, gpu_share=share)
    if suite.cells_per_gpu is not None:
        raise BenchInputError(f"{suite.path} [suite].cells_per_gpu: several cells on one GPU "
                              f"need the Ray executor (--executor ray)")
    return LocalExecutor(args.start_method)


def cmd_deploy(args, console: Console) -> int:
    from bench.executors.processes import LocalExecutor
    from bench.executors.redeploy import deployable_cells
    from bench.executors.runner import RunSummary, execute, prepare_store
    from bench.record.store import ResultStore

    check_results_folder(args.results)
    store = ResultStore(args.results)
    cells, problems = deployable_cells(store, args.only, args.backends)
    for problem in problems:
        console.print(f"not deployed: {problem}", markup=False, highlight=False)
    if not cells:
        raise BenchInputError(f"{args.results}: no finished cell to deploy")
    prepare_store(store)
    signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    summary = execute(store, [cell for cell, _ in cells], LocalExecutor(),
                      f"deploy {args.results}", console, RunSummary(),
                      deploy_from={cell.id: key for cell, key in cells})
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return 1 if summary.failed else 0


def cmd_clean(args, console: Console) -> int:
    from bench.record.cleanup import leftovers, remove

    check_results_folder(args.results)
    found = leftovers(args.results)
    for leftover in found:
        print(f"{leftover.path}  {leftover.bytes / 1e6:.1f} MB  ({leftover.why})")
    total = sum(leftover.bytes for leftover in found) / 1e6
    if found and args.yes:
        remove(found)
        console.print(f"removed {len(found)} item(s), {total:.1f} MB", markup=False)
    else:
        hint = "; bench clean --yes removes them" if found else ""
        console.print(f"{len(found)} item(s), {total:.1f} MB{hint}", markup=False)
    return 0


def cmd_validate(args, console: Console) -> int:
    """The cell list on stdout, one id a line; the verdict and the cost preview on lines of
    their own on stderr."""
    from bench.executors.cost_preview import preview_line
    from bench.suite.preflight import checked_suite

    suite, cells = checked_suite(args.suite, check_models=not args.skip_models)
    for cell in cells:
        sweep = f"  {cell.sweep}" if cell.sweep else ""
        print(f"{cell.id}{sweep}")
    seed_cells = [] if suite.study is None else suite.study.seed_cells_to_come()
    later = [cell.id for cell in seed_cells]
    for cell_id in later:
        print(f"{cell_id}  (the chosen trial, once the trials have run)")
    sys.stdout.flush()
    unchecked = " (models not checked)" if args.skip_models else ""
    study = f" ({len(cells)} trial(s), then {len(later)} seed cell(s))" if later else ""
    sys.stderr.write(f"{args.suite}: valid{unchecked}, {len(cells) + len(later)} cell(s)"
                     f"{study} -> {suite.output_dir}\n")
    sys.stderr.write(preview_line(cells_to_run(cells + seed_cells, suite.output_dir),
                                  suite.output_dir) + "\n")
    return 0


def cells_to_run(cells, output_dir: Path) -> list:
    """The cells `bench run` would run now: those without a result of their configuration."""
    from bench.executors.plan import plan_cells
    from bench.record.store import ResultStore

    return [plan.cell for plan in plan_cells(cells, ResultStore(output_dir), force=False)
            if plan.runs]


def cmd_ls(args, console: Console) -> int:
    from bench.models.builtin import BUILTIN_MODELS
    from bench.registry import (BACKENDS, COMPRESSIONS, DATASET_SOURCES, METHODS,
                                QUANTIZE_RECIPES)

    sections = {"methods": METHODS.names(), "compressions": COMPRESSIONS.names(),
                "quantize recipes": QUANTIZE_RECIPES.names(),
                "dataset sources": DATASET_SOURCES.names(), "backends": BACKENDS.names(),
                "built-in models": sorted(BUILTIN_MODELS)}
    for title, names in sections.items():
        print(f"{title}: {', '.join(names)}")
    return 0


def report_margin(args) -> float:
    """--margin, else the suite's [compare] equivalence_margin, else the default."""
    from bench.specs import CompareThresholds
    from bench.suite.parser import load_suite

    if args.margin is not None:
        if args.margin < 0:
            raise BenchInputError(f"--margin: expected a number >= 0, got {args.margin}")
        return args.margin
    return (load_suite(args.suite).compare if args.suite
            else CompareThresholds()).equivalence_margin


def cmd_report(args, console: Console) -> int:
    from bench.record.study import read_study
    from bench.report import build_document, render_csv, to_html, to_markdown

    check_results_folder(args.results)
    if args.mlflow:
        export_to_mlflow(args, args.results, console)
        if not (args.output or args.md or args.csv or args.html):
            return 0  # the export alone was asked for
    if args.html and not args.output:
        raise BenchInputError("bench report --html needs -o FILE (the page embeds its plots)")
    loaded = readable_records(args.results, console, "report")
    if args.csv:
        text = render_csv(loaded.records)
    else:
        plots = args.output.parent if args.output else None
        study = read_study(args.results)
        document = build_document(loaded.records, loaded.folders, plots, report_margin(args),
                                  study.selection_metric if study else "f1_macro")
        text = (to_html(document, f"peft-bench report: {args.results}", plots) if args.html
                else to_markdown(document))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        console.print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def export_to_mlflow(args, results: Path, console: Console) -> int:
    """Every record of `results` (failed ones as failed runs) to the MLflow store at
    args.mlflow (bench/report/mlflow_export.py)."""
    from bench.report.mlflow_export import export_results

    loaded = readable_records(results, console, "export")
    summary = export_results(args.mlflow, loaded, results, args.mlflow_experiment)
    console.print(summary.describe(args.mlflow), markup=False, highlight=False, soft_wrap=True)
    return 0


def cmd_compare(args, console: Console) -> int:
    from dataclasses import fields, replace

    from bench.report.compare import run_compare
    from bench.specs import CompareThresholds
    from bench.suite.parser import load_suite

    thresholds = load_suite(args.suite).compare if args.suite else CompareThresholds()
    given = {f.name: getattr(args, f.name, None) for f in fields(CompareThresholds)
             if getattr(args, f.name, None) is not None}  # the margin has no flag here
    return run_compare(args.baseline, args.new, replace(thresholds, **given), args.md, console)


COMMANDS = {"run": cmd_run, "deploy": cmd_deploy, "clean": cmd_clean, "validate": cmd_validate,
            "ls": cmd_ls, "report": cmd_report, "compare": cmd_compare}

if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
