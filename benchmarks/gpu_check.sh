#!/usr/bin/env bash
# One GPU check from a fresh copy of the repository on a CUDA machine with no network:
# install what the machine's Python lacks from wheels carried beside the copy, run the GPU
# tests, run suites/gpu.toml, write its report, and pack everything into one folder.
#
# Usage: benchmarks/gpu_check.sh WHEEL_DIR [OUT_DIR]
#   WHEEL_DIR  wheels for the machine's Python (pip download --no-deps --only-binary=:all:
#              --python-version X.Y ...). A wheel too large to carry in one piece may travel
#              split (`split -b 40M NAME.whl NAME.whl.part-`) with NAME.whl.sha256 beside it:
#              the parts are joined and checked here.
#   OUT_DIR    where the logs and gpu-results.tgz go (default: gpu-check-out)
# Environment: GPU_SUITE (default suites/gpu.toml), SUITE_TIMEOUT_S (default 330), TESTS_TIMEOUT_S (default 150),
#   RECIPE_TIMEOUT_S (default 0: skipped; else the training levers on CUDA, torch.compile and
#   eager attention against SDPA, `training_recipe.py speed`, 3 rounds, into OUT_DIR),
#   PEFT_BENCH_SOURCE_COMMIT (the commit the copy was taken from, when it is not a git
#   checkout: recorded in every result file).
# The ONNX Runtime CUDA provider is not checked when the machine has the CPU build of
# onnxruntime (onnxruntime-gpu is too large to carry): the records then say which providers
# really ran.
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=${1:?usage: benchmarks/gpu_check.sh WHEEL_DIR [OUT_DIR]}
OUT_DIR=${2:-gpu-check-out}
SUITE=${GPU_SUITE:-suites/gpu.toml}
SITE=${PEFT_BENCH_SITE:-/tmp/peft-bench-site}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT_DIR"
started=$(date +%s)
step() { echo "== $(( $(date +%s) - started )) s: $*" | tee -a "$OUT_DIR/steps.log"; }

step "join split wheels"
for first in "$WHEELS"/*.whl.part-aa; do
  [ -e "$first" ] || continue
  wheel=${first%.part-aa}
  cat "$wheel".part-* > "$wheel"
  (cd "$(dirname "$wheel")" && sha256sum -c "$(basename "$wheel").sha256") || exit 1
  rm -f "$wheel".part-*
done

step "install carried wheels into $SITE"
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" "$WHEELS"/*.whl || exit 1
export PYTHONPATH="$SITE:$PWD"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export XDG_CACHE_HOME="$PWD/.cache" PEFT_BENCH_CACHE="$PWD/.cache/peft-bench"

step "environment"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,utilization.gpu --format=csv
  "$PYTHON" - <<'EOF'
import importlib.metadata as md, platform
import torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda)
for name in ("transformers", "peft", "accelerate", "datasets", "bitsandbytes", "torchao",
             "torch-pruning", "onnxruntime", "onnxruntime-gpu", "onnx", "scikit-learn"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "not installed")
import onnxruntime
print("onnxruntime providers available:", onnxruntime.get_available_providers())
EOF
} > "$OUT_DIR/environment.txt" 2>&1
cat "$OUT_DIR/environment.txt"

step "GPU tests (pytest -m gpu)"
timeout "${TESTS_TIMEOUT_S:-150}" "$PYTHON" -m pytest -q -m gpu -p no:cacheprovider \
  tests/test_gpu.py > "$OUT_DIR/gpu-tests.log" 2>&1
echo "pytest exit status $?" >> "$OUT_DIR/gpu-tests.log"
tail -n 30 "$OUT_DIR/gpu-tests.log"

step "$SUITE"
# SIGTERM at the time limit stops the run like Ctrl-C: finished cells are kept.
timeout "${SUITE_TIMEOUT_S:-330}" "$PYTHON" -m bench run "$SUITE" --force \
  > "$OUT_DIR/suite.log" 2>&1
echo "bench run exit status $?" >> "$OUT_DIR/suite.log"
tail -n 40 "$OUT_DIR/suite.log"

if [ "${RECIPE_TIMEOUT_S:-0}" -gt 0 ]; then
  step "training levers on CUDA (training_recipe.py speed)"
  timeout "$RECIPE_TIMEOUT_S" "$PYTHON" benchmarks/training_recipe.py \
    --out "$OUT_DIR/training_levers_cuda.json" speed --compile --attention eager \
    --rounds 3 --warmup-steps 8 > "$OUT_DIR/training_levers.log" 2>&1
  echo "training_recipe.py exit status $?" >> "$OUT_DIR/training_levers.log"
  tail -n 12 "$OUT_DIR/training_levers.log"
fi

step "report"
results=$("$PYTHON" -c "from bench.suite.parser import load_suite; print(load_suite('$SUITE').output_dir)")
"$PYTHON" -m bench report "$results" --md -o "$results/REPORT.md" > "$OUT_DIR/report.log" 2>&1
tar czf "$OUT_DIR/gpu-results.tgz" --exclude=artefacts "$results"
step "done"
