"""Were two runs timed on the same hardware? Speed figures are only comparable when they were.

Two hosts of the same machine kind can differ in the instruction sets they offer (AVX-512 on
one, AVX2 only on the other), and fp32 and int8 speed differ with them while accuracy stays the
same: a latency "regression" between such hosts says nothing about the code. What counts: the
CPU model, the instruction sets that speed depends on, the threads the timed runtimes were
given, the GPU. Accuracy stays comparable across hardware.
"""
from __future__ import annotations

from typing import Any


def cpu_model(environment: dict) -> str | None:
    return (environment.get("cpu") or {}).get("model") or \
        (environment.get("hardware") or {}).get("cpu")


def speed_flags(environment: dict) -> dict[str, Any] | None:
    """Instruction-set flags (None for records written before they were recorded)."""
    return (environment.get("cpu") or {}).get("flags")


def threads(environment: dict) -> int | None:
    """The timed runtimes' threads: `threads` where the caller knows them (a deployment's),
    else torch's threads when the record was started."""
    return environment.get("threads") or (environment.get("hardware") or {}).get("torch_threads")


def gpu(environment: dict) -> str | None:
    return (environment.get("hardware") or {}).get("gpu")


def hardware_key(environment: dict) -> str:
    """One line naming the hardware, for tables and for grouping runs that can be compared."""
    flags = speed_flags(environment)
    sets = ("instruction sets not recorded" if flags is None else
            ", ".join(name for name, present in flags.items() if present) or "no AVX2")
    return (f"{cpu_model(environment) or 'unknown CPU'} ({sets}); {threads(environment)} "
            f"threads; GPU: {gpu(environment) or 'none'}")


def hardware_difference(env_a: dict, env_b: dict) -> str | None:
    """What differs between two runs' hardware for timing purposes, in words (a is the first,
    e.g. the baseline); None when nothing does."""
    differences = []
    if cpu_model(env_a) != cpu_model(env_b):
        differences.append(f"CPU {cpu_model(env_a)!r} vs {cpu_model(env_b)!r}")
    flags_a, flags_b = speed_flags(env_a), speed_flags(env_b)
    if flags_a is None or flags_b is None:
        missing = ("either run" if flags_a is None and flags_b is None
                   else "the first run" if flags_a is None else "the second run")
        differences.append(f"CPU instruction sets not recorded in {missing}")
    else:
        changed = [f"{name} {yes_no(flags_a.get(name))} vs {yes_no(flags_b.get(name))}"
                   for name in sorted(flags_a.keys() | flags_b.keys())
                   if bool(flags_a.get(name)) != bool(flags_b.get(name))]
        if changed:
            differences.append("instruction sets: " + ", ".join(changed))
    if threads(env_a) != threads(env_b):
        differences.append(f"threads {threads(env_a)} vs {threads(env_b)}")
    if gpu(env_a) != gpu(env_b):
        differences.append(f"GPU {gpu(env_a) or 'none'} vs {gpu(env_b) or 'none'}")
    return "; ".join(differences) or None


def yes_no(flag: bool | None) -> str:
    return "yes" if flag else "no"
