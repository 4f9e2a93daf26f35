#!/usr/bin/env bash
# Creates .venv and installs peft-bench with everything it needs (CPU build of torch).
# Usage: ./setup.sh            (add EXTRAS=ray for the Ray executor)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: a bare "torch" would pull a CUDA build of several GB.
.venv/bin/python -m pip install -q -c constraints.txt torch
extras="dev${EXTRAS:+,$EXTRAS}"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[${extras}]"
echo "peft-bench installed in .venv"
