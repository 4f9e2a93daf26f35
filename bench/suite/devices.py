"""Where a cell trains and in which precision, and whether its reporting integrations are
installed: the settings checked before any cell runs, hence free of heavy imports."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from bench.errors import BenchInputError


def cuda_available() -> bool:
    """Asked without importing torch (over a second) where no NVIDIA driver is installed, so
    that checking a suite stays fast on CPU machines."""
    if not Path("/proc/driver/nvidia").exists() and shutil.which("nvidia-smi") is None:
        return False
    import torch

    return torch.cuda.is_available()


def resolve_device(requested: str) -> str:
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    if requested == "cuda" and not cuda_available():
        raise BenchInputError("training.device = 'cuda' but no CUDA GPU is available here")
    return requested


def deployment_device(requested: str) -> str:
    """The training device where this host has it, else the CPU: a GPU-trained cell is measured
    where it will serve."""
    return "cuda" if requested in ("auto", "cuda") and cuda_available() else "cpu"


REPORTING_PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",),
                      "mlflow": ("mlflow",), "comet_ml": ("comet_ml",)}


def package_installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def check_report_to(report_to: list[str]) -> None:
    """Each `training.report_to` integration needs its package: say so before any cell runs."""
    for name in report_to:
        packages = REPORTING_PACKAGES.get(name)
        if packages is None:
            raise BenchInputError(f"training.report_to: unknown integration {name!r}; expected "
                                  f"one of: {', '.join(REPORTING_PACKAGES)}")
        if not any(package_installed(p) for p in packages):
            raise BenchInputError(f"training.report_to = {name!r} needs the {packages[0]} "
                                  f"package: pip install {packages[0]}")


def resolve_precision(requested: str, device: str) -> str:
    """auto: bf16 on GPUs that support it, else fp16 on CUDA; fp32 on CPU. bf16 on a CPU is
    opt-in, and only where the CPU runs it fast (AMX or AVX512-BF16: cpu_bf16_support); asked
    for elsewhere it is refused: emulated bf16 would time the emulation. "auto" does not choose
    bf16 on CPUs because a speed lever becomes a default only once it is shown equivalent in
    accuracy over paired seeds (benchmarks/training_recipe.py, docs/measurement.md), and that
    has not been measured on a bf16 CPU yet."""
    from bench.measure.environment import NO_FAST_BF16, cpu_bf16_support

    if device == "cuda":
        if requested != "auto":
            return requested
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if requested == "fp16":
        raise BenchInputError("training.precision = 'fp16' needs a CUDA GPU")
    if requested == "bf16" and cpu_bf16_support() is None:
        raise BenchInputError(f"training.precision = 'bf16' on CPU refused: {NO_FAST_BF16}; "
                              f"use 'fp32' or 'auto'")
    return "fp32" if requested == "auto" else requested
