"""The command line's grammar: `bench` and its sub-commands with their arguments (what each
command does is in bench/cli.py)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

Commands = Any  # argparse's sub-parsers action (a private class)

DESCRIPTION = ("`bench run | deploy | clean | validate | ls | report | compare` (and "
               "`python -m bench ...`).")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (add_run, add_deploy, add_clean, add_validate, add_ls, add_report, add_compare):
        add(commands)
    return parser


def add_run(commands: Commands) -> None:
    run = commands.add_parser("run", help="run every unfinished cell of a suite")
    run.add_argument("suite", type=Path)
    run.add_argument("-o", "--output", type=Path,
                     help="results folder (default: the suite's [suite] output, else "
                          "runs/<suite name>); e.g. results/classification to regenerate the "
                          "committed evidence")
    run.add_argument("--force", action="store_true", help="rerun finished cells too")
    run.add_argument("--dry-run", action="store_true",
                     help="say which cells would run and why (new, configuration changed, "
                          "deployment or host changed), and run nothing")
    run.add_argument("--only", action="append", metavar="TEXT",
                     help="run only cells whose id contains TEXT (repeatable)")
    run.add_argument("--executor", choices=["local", "ray"], default="local")
    run.add_argument("--start-method", choices=["forkserver", "spawn"],
                     help="local cells: forked from a server that imported the libraries once "
                          "(default on Linux) or spawned as fresh interpreters (default "
                          "elsewhere)")
    run.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    run.add_argument("--workers", type=int, help="local Ray: number of CPUs to offer")
    add_mlflow_arguments(run, "once the run ends, log every cell of the results folder")


def add_deploy(commands: Commands) -> None:
    deploy = commands.add_parser(
        "deploy", help="run the deployment stage of finished cells again on this host, from "
                       "their saved training results (no training)")
    deploy.add_argument("results", type=Path, help="a results folder of `bench run`")
    deploy.add_argument("--backends", type=lambda text: text.split(","), metavar="A,B",
                        help="deploy to these backends instead of the suite's (a cell its suite "
                             "did not deploy gets its fp32 model on them)")
    deploy.add_argument("--only", action="append", metavar="TEXT",
                        help="deploy only cells whose id contains TEXT (repeatable)")


def add_clean(commands: Commands) -> None:
    clean = commands.add_parser(
        "clean", help="list (and with --yes remove) superseded results and the stage files no "
                      "current result uses")
    clean.add_argument("results", type=Path)
    clean.add_argument("--yes", action="store_true", help="remove them")


def add_validate(commands: Commands) -> None:
    validate = commands.add_parser(
        "validate", help="check a suite as `bench run` does before it starts (data, models, "
                         "every key and value), without running anything")
    validate.add_argument("suite", type=Path)
    validate.add_argument("--skip-models", action="store_true",
                          help="do not check model sources and adapter target modules (those "
                               "checks import torch and transformers: seconds)")


def add_ls(commands: Commands) -> None:
    commands.add_parser("ls", help="list registered methods, compressions, dataset sources, "
                                   "backends and built-in models")


def add_report(commands: Commands) -> None:
    report = commands.add_parser("report", help="tables from the result files of a run")
    report.add_argument("results", type=Path)
    fmt = report.add_mutually_exclusive_group()
    fmt.add_argument("--md", action="store_true", help="Markdown (default)")
    fmt.add_argument("--csv", action="store_true", help="one CSV row per cell and per variant")
    fmt.add_argument("--html", action="store_true",
                     help="one self-contained page (plots embedded, tables sortable); needs -o")
    report.add_argument("--margin", type=float,
                        help="equivalence / non-inferiority margin in macro-F1 (default: the "
                             "suite's [compare] equivalence_margin, else 0.02)")
    report.add_argument("--suite", type=Path,
                        help="take the margin from this suite's [compare] table")
    report.add_argument("-o", "--output", type=Path,
                        help="write to this file, not stdout; Markdown and HTML then get their "
                             "plots (PNG files in plots/ beside the file)")
    add_mlflow_arguments(report, "log every cell of the folder")


def add_compare(commands: Commands) -> None:
    compare = commands.add_parser(
        "compare", help="differences per cell between two result folders; exit 1 on regression")
    compare.add_argument("baseline", type=Path)
    compare.add_argument("new", type=Path)
    compare.add_argument("--suite", type=Path,
                         help="take the thresholds from this suite's [compare] table")
    compare.add_argument("--max-f1-drop", type=float,
                         help="largest allowed drop of test F1 macro (absolute, default 0.01)")
    compare.add_argument("--max-accuracy-drop", type=float, help="absolute, default 0.01")
    compare.add_argument("--max-latency-increase", type=float,
                         help="largest allowed relative increase of p50 latency (default 0.15)")
    compare.add_argument("--max-size-increase", type=float, help="relative, default 0.05")
    compare.add_argument("--md", action="store_true", help="print the table as Markdown")


def add_mlflow_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--mlflow", metavar="URI",
                        help=f"{what} as an MLflow run, nested under one run per suite that "
                             "holds the report (e.g. sqlite:///mlflow.db or http://host:5000); "
                             "the same cell and configuration update their run on a rerun")
    parser.add_argument("--mlflow-experiment", metavar="NAME", default="peft-bench",
                        help="MLflow experiment (default: peft-bench)")
