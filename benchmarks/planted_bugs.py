"""Do the tests catch regressions? Plants deliberate bugs, one at a time, in a temporary copy
of the repository and runs the README's test command there for each.

    python benchmarks/planted_bugs.py                      # every bug, the whole test command
    python benchmarks/planted_bugs.py --list
    python benchmarks/planted_bugs.py --only percentile-off-by-one --only non-atomic-write
    python benchmarks/planted_bugs.py --pytest-args "tests/test_store_atomic.py"   # a quick check

Each bug is an exact-string replacement in one file. The code moves: a bug whose target string
is no longer in the file is reported as "target not found" and left out of the count (edit its
entry below), never counted as caught. The clean copy is tested first: when it fails, every
bug would look caught, so the run stops. A bug is caught when the test command fails (exit
status not 0) within the time limit; a run past the limit is reported apart ("timed out").

The copy holds the files git tracks plus untracked, not-ignored ones (the work tree as it
is); tests import from the copy (PYTHONPATH) and share this checkout's cache of tiny models
and tokenized data (PEFT_BENCH_CACHE), which holds no code.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST_COMMAND = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class Bug:
    name: str
    path: str  # relative to the repository root
    old: str  # must occur exactly once
    new: str
    why: str  # what a user would see


BUGS = [
    Bug("labels-not-sorted-with-rows", "bench/stages/training.py",
        "result = evaluate(TorchPredictor(model, device), batches, labels_of(rows), data.task,",
        "result = evaluate(TorchPredictor(model, device), batches, labels_of(tokenized[split]), "
        "data.task,",
        "rows are scored in length order against labels in file order"),
    Bug("percentile-off-by-one", "bench/measure/trackers.py",
        "position = (len(sorted_values) - 1) * q / 100",
        "position = len(sorted_values) * q / 100",
        "p50/p95/p99 read one sample too high"),
    Bug("warm-up-counted", "bench/stages/timing_rounds.py",
        "        warm_up(calls, budget.warmup_calls)\n",
        "        warm_up(calls, 0)\n",
        "the warm-up calls are timed as the first round's calls"),
    Bug("non-atomic-write", "bench/atomic.py",
        'fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")',
        "fd, tmp = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), str(path)",
        "results written in place: an interrupted write leaves half a file"),
    Bug("threshold-inclusive", "bench/report/compare.py",
        "return worse_by > self.limit + EPSILON",
        "return worse_by >= self.limit - EPSILON",
        "a change of exactly the allowed threshold counted as a regression"),
    Bug("threshold-sign", "bench/report/compare.py",
        "worse_by = (old - new) if self.higher_is_better else (new - old)",
        "worse_by = (new - old) if self.higher_is_better else (old - new)",
        "improvements reported as regressions and regressions passed"),
    Bug("argmax-wrong-axis", "bench/stages/evaluate.py",
        "    preds = probs.argmax(axis=1)\n",
        "    preds = probs.argmax(axis=0)\n",
        "the argmax taken over examples instead of classes"),
    Bug("confusion-matrix-transposed", "bench/stages/evaluate.py",
        "skm.confusion_matrix(labels, preds, labels=classes)",
        "skm.confusion_matrix(preds, labels, labels=classes)",
        "confusion matrix rows are predictions, not true labels"),
    Bug("f1-weighted-is-macro", "bench/stages/evaluate.py",
        "labels, preds, labels=classes, average=average, zero_division=0)",
        'labels, preds, labels=classes, average="macro" if average == "weighted" else average, '
        "zero_division=0)",
        "weighted precision/recall/F1 computed as macro"),
    Bug("is-done-inverted", "bench/record/store.py",
        "return path.is_file() and unreadable_reason(path) is None",
        "return not (path.is_file() and unreadable_reason(path) is None)",
        "finished cells rerun and unfinished ones skipped"),
    Bug("corrupt-result-counts-as-done", "bench/record/store.py",
        "return path.is_file() and unreadable_reason(path) is None",
        "return path.is_file()",
        "a truncated result file counts as a finished cell"),
    Bug("speed-up-inverted", "bench/measure/speedup.py",
        "ratio = reference_p50_ms / variant_p50_ms",
        "ratio = variant_p50_ms / reference_p50_ms",
        "a faster variant shown as slower"),
]


@dataclass
class Outcome:
    bug: str
    verdict: str  # caught | missed | target not found | timed out
    seconds: float
    detail: str


def copy_repo(destination: Path) -> None:
    """The work tree as it is: tracked files and untracked, not-ignored ones."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def plant(copy: Path, bug: Bug) -> str | None:
    """Apply `bug` in `copy`; the reason it could not be applied, or None."""
    path = copy / bug.path
    if not path.is_file():
        return f"{bug.path} does not exist"
    text = path.read_text()
    count = text.count(bug.old)
    if count != 1:
        return f"target string found {count} times in {bug.path} (expected once)"
    path.write_text(text.replace(bug.old, bug.new))
    return None


def run_tests(copy: Path, pytest_args: list[str], timeout: float) -> tuple[int | None, str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "HF_HUB_OFFLINE": "1",
           "PEFT_BENCH_CACHE": os.environ.get("PEFT_BENCH_CACHE",
                                              str(REPO / ".cache" / "peft-bench"))}
    process = subprocess.Popen([*TEST_COMMAND, *pytest_args], cwd=copy, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # pytest and the cell processes it started
        process.communicate()
        return None, ""
    failures = [l for l in output.splitlines() if l.startswith(("FAILED", "ERROR"))]
    last = output.strip().splitlines()[-1:] or [""]
    return process.returncode, (failures or last)[0][:200]


def try_bug(bug: Bug | None, pytest_args: list[str], timeout: float) -> Outcome:
    name = bug.name if bug else "(no bug)"
    with tempfile.TemporaryDirectory(prefix="planted-") as scratch:
        copy = Path(scratch)
        copy_repo(copy)
        if bug:
            problem = plant(copy, bug)
            if problem:
                return Outcome(name, "target not found", 0.0, problem)
        start = time.perf_counter()
        status, detail = run_tests(copy, pytest_args, timeout)
        seconds = time.perf_counter() - start
    if status is None:
        return Outcome(name, "timed out", seconds, f"past {timeout:.0f} s")
    return Outcome(name, "caught" if status != 0 else "missed", seconds, detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the bugs and exit")
    parser.add_argument("--only", action="append", metavar="NAME", help="plant only these")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments (quoted)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per test run")
    parser.add_argument("--skip-clean-run", action="store_true",
                        help="do not test the unchanged copy first")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this file")
    args = parser.parse_args(argv)
    if args.list:
        for bug in BUGS:
            print(f"{bug.name:32} {bug.path:20} {bug.why}")
        return 0
    unknown = set(args.only or []) - {b.name for b in BUGS}
    if unknown:
        print(f"error: --only: unknown bug(s) {', '.join(sorted(unknown))}; see --list",
              file=sys.stderr)
        return 2
    bugs = [b for b in BUGS if not args.only or b.name in args.only]
    pytest_args = shlex.split(args.pytest_args)
    if not args.skip_clean_run:
        clean = try_bug(None, pytest_args, args.timeout)
        print(f"clean copy: {'passes' if clean.verdict == 'missed' else clean.verdict} "
              f"({clean.seconds:.0f} s) {clean.detail}", flush=True)
        if clean.verdict != "missed":
            print("error: the unchanged copy does not pass its tests; nothing to measure",
                  file=sys.stderr)
            return 1
    outcomes = []
    for bug in bugs:
        outcome = try_bug(bug, pytest_args, args.timeout)
        outcomes.append(outcome)
        print(f"{outcome.verdict:>16}  {bug.name:32} {outcome.seconds:6.0f} s  {outcome.detail}",
              flush=True)
    planted = [o for o in outcomes if o.verdict != "target not found"]
    caught = sum(o.verdict == "caught" for o in planted)
    print(f"caught {caught} of {len(planted)} planted bugs"
          + (f" ({len(outcomes) - len(planted)} target(s) not found)"
             if len(planted) < len(outcomes) else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "test_command": " ".join(["python", *TEST_COMMAND[1:], *pytest_args]),
            "caught": caught, "planted": len(planted),
            "outcomes": [{**asdict(o), **asdict(next(b for b in BUGS if b.name == o.bug))}
                         for o in outcomes]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
