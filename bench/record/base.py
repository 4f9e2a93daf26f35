"""The common shape of the record's dataclasses: every field optional (an older record lacks the
newer fields, which then read as None), unknown keys kept in `extra` and written back, so that
reading and writing a record loses nothing."""
from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Callable, ClassVar, TypeVar

T = TypeVar("T", bound="Part")


class Part:
    """Base of the record's dataclasses. Subclasses are dataclasses whose fields all have
    defaults, end with `extra: dict`, and name in NESTED how to read their nested parts."""

    NESTED: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    @classmethod
    def from_dict(cls: type[T], data: dict | None) -> T | None:
        if data is None:
            return None
        names = {f.name for f in fields(cls)} - {"extra"}
        filled = {f.name for f in fields(cls) if f.default_factory is not MISSING}
        # null where a dict, list or part is expected: the empty default instead
        known = {k: v for k, v in data.items() if k in names and not (v is None and k in filled)}
        for name, read in cls.NESTED.items():
            if known.get(name) is not None:
                known[name] = read(known[name])
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})

    def to_dict(self) -> dict:
        out = {f.name: plain(getattr(self, f.name)) for f in fields(self) if f.name != "extra"}
        return {**out, **plain(getattr(self, "extra", {}))}


def plain(value: Any) -> Any:
    """JSON-ready: parts become dicts, dict keys strings (batch sizes are keys in the file)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def by_batch(read: Callable[[Any], Any]) -> Callable[[dict], dict]:
    """Batch sizes are string keys in JSON and ints in the record."""
    return lambda table: {int(k): read(v) for k, v in table.items()}


def by_name(read: Callable[[Any], Any]) -> Callable[[dict], dict]:
    return lambda table: {k: read(v) for k, v in table.items()}
