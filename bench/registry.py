"""Name -> plugin registries. Adding a method, dataset source or backend is adding one module.

Plugins register themselves at import; `load_plugins()` imports every module of the plugin
packages so that nothing needs to list them.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Callable, Generic, TypeVar

from bench.errors import BenchInputError

T = TypeVar("T")

PLUGIN_PACKAGES = ("methods", "bench.datasets", "bench.backends")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = item
            return item

        return decorator

    def get(self, name: str) -> T:
        load_plugins()
        if name not in self._items:
            raise BenchInputError(unknown_name_message(self.kind, name, self.names()))
        return self._items[name]

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        load_plugins()
        return sorted(self._items.items())


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1)
    maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"unknown {kind} {name!r}{maybe}; known: {', '.join(known) or 'none'}"


_loaded = False


def load_plugins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for package_name in PLUGIN_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package_name}.{module.name}")


# The registries. Values: see bench/method.py (methods, compressions), bench/data/ (dataset
# sources) and bench/backends/__init__.py (backends).
METHODS: Registry = Registry("method")
COMPRESSIONS: Registry = Registry("compression")
DATASET_SOURCES: Registry = Registry("dataset source")
BACKENDS: Registry = Registry("backend")
