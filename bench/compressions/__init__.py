"""Compression plugins (listed in bench/registry.py COMPRESSIONS and QUANTIZE_RECIPES): structured pruning, dynamic int8, quantization-aware training."""
