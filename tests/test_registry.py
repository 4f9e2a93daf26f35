"""The registry lists every plugin; each line points at the right thing; every plugin of every
family loads (names, `Params`) without importing a heavy library."""
import inspect
import pkgutil
import subprocess
import sys

import pytest

from bench.plugins import Backend, Compression, FineTuneMethod
from bench.registry import (BACKENDS, COMPRESSIONS, DATASET_SOURCES, METHODS, QUANTIZE_RECIPES,
                            Registry)

CLASS_REGISTRIES = [(METHODS, FineTuneMethod), (COMPRESSIONS, Compression), (BACKENDS, Backend)]
PLUGIN_PACKAGES = {"bench.methods": [METHODS], "bench.compressions": [COMPRESSIONS, QUANTIZE_RECIPES],
                   "bench.datasets": [DATASET_SOURCES], "bench.backends": [BACKENDS]}


@pytest.mark.parametrize("registry, base", CLASS_REGISTRIES, ids=lambda r: getattr(r, "kind", ""))
def test_each_entry_is_a_plugin_class_with_its_registered_name(registry: Registry, base: type):
    for name in registry.names():
        plugin = registry.get(name)
        assert inspect.isclass(plugin) and issubclass(plugin, base), name
        assert plugin.name == name


def test_each_quantize_recipe_belongs_to_a_quantizing_compression_and_a_backend():
    for key in QUANTIZE_RECIPES.names():
        compression, backend = key.split("/")
        assert COMPRESSIONS.get(compression).quantizes, key
        assert backend in BACKENDS, key
        assert callable(QUANTIZE_RECIPES.get(key))
    for name in DATASET_SOURCES.names():
        assert callable(DATASET_SOURCES.get(name))


@pytest.mark.parametrize("package", sorted(PLUGIN_PACKAGES))
def test_every_plugin_module_is_listed(package: str):
    """A plugin module that no registry line names would be silently unavailable."""
    listed = {registry.location(name).split(":")[0]
              for registry in PLUGIN_PACKAGES[package] for name in registry.names()}
    path = __import__(package, fromlist=["_"]).__path__
    modules = {f"{package}.{m.name}" for m in pkgutil.iter_modules(path) if not m.name.startswith("_")}
    assert modules <= listed, f"not in bench/registry.py: {sorted(modules - listed)}"


HEAVY = ("torch", "transformers", "peft", "onnxruntime", "openvino", "nncf", "torchao", "pandas",
         "pyarrow")


def test_names_and_params_load_without_the_heavy_libraries():
    """What `bench ls` and the suite checks need must stay cheap: no plugin module of any family
    may import torch (or another heavy library, or what pulls one in) at import time."""
    script = f"""
import sys
from bench import registry
families = [r for r in vars(registry).values() if isinstance(r, registry.Registry)]
for family in families:
    for name in family.names():
        plugin = family.get(name)
        if hasattr(plugin, "Params"):
            plugin.Params()
print(",".join(sorted(f.kind for f in families)))
print(",".join(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    kinds, heavy = result.stdout.split("\n")[:2]
    assert kinds.split(",") == ["backend", "compression", "dataset source", "method",
                              "quantize recipe"]
    assert heavy == ""


def test_an_unknown_name_suggests_the_nearest():
    with pytest.raises(Exception, match=r"unknown method 'lroa' \(did you mean 'lora'\?\)"):
        METHODS.get("lroa")
