"""Fine-tuning method plugins, one module each, listed in bench/registry.py METHODS."""
