"""peft-bench: fine-tuning methods x compressions x inference backends, measured honestly."""
import logging

__version__ = "0.1.0"

# Import-time warnings of optional kernels that peft-bench never uses (torchao's CUDA-only
# extensions, bitsandbytes' hub-downloaded CPU kernel, a torch.compile deprecation inside
# torchao): they would greet every command with a screen of noise that needs no action.
for _name in ("torchao", "bitsandbytes.backends.cpu.ops", "torch.utils._pytree"):
    logging.getLogger(_name).setLevel(logging.ERROR)
