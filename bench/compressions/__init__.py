"""Compression plugins, one module each, listed in bench/registry.py COMPRESSIONS (with their
quantize recipes in QUANTIZE_RECIPES): structured pruning, dynamic int8, quantization-aware
training."""
