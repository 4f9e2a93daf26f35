"""peft-bench: fine-tuning methods x compressions x inference backends, measured honestly."""

__version__ = "0.1.0"
