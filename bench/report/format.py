"""How figures are written in the report: one place, so that every table reads alike."""
from __future__ import annotations

from typing import Any

NO_INTERVAL = "single run, no interval"


def num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def setting(value: Any) -> str:
    """A configuration value as written in a suite: 0.1, 3, 8e-05 (not 0.100000)."""
    if isinstance(value, float):
        return f"{value:g}"
    return num(value)


def signed(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    return f"{round(value, digits) + 0.0:+.{digits}f}"  # + 0.0: no "-0.0000"


def mb(value: float | None) -> str:
    """Megabytes already divided (rows carry MB)."""
    return "–" if value is None else f"{value:.1f}"


def interval(low: float | None, high: float | None, digits: int = 4) -> str:
    if low is None or high is None:
        return ""
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def params(count: int | None, pct: float | None) -> str:
    if count is None:
        return "–"
    return f"{count:,}" + (f" ({pct:.2f}%)" if pct is not None else "")


def values_label(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())
