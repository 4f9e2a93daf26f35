"""The interfaces every plugin implements: fine-tuning methods, compressions, quantize recipes,
inference backends and dataset sources. bench/registry.py lists the plugins by name.

This module is light on purpose: it imports no torch, transformers, peft or ONNX Runtime
(only for type checking), and neither may a plugin module of any family at import time
(docs/plugins.md lists the heavy libraries; tests/test_registry.py checks every plugin).
Listing plugins and validating a suite read plugin names and `Params` classes only; a plugin
imports its heavy libraries inside the functions that use them.

- A fine-tuning method is a `FineTuneMethod` subclass (its `Params` dataclass holds the suite
  keys) that builds, saves, reloads and merges a model.
- A compression is a `Compression` subclass: it changes the fp32 model in PyTorch
  (`transform`: pruning, QAT training) and/or quantizes it, which happens in each backend's
  own runtime through a quantize recipe registered per (compression, backend) pair.
- A backend is a `Backend` subclass that turns a PyTorch model into a `Predictor`.
- A dataset source is a function (`DatasetSource`) that reads labelled text into `RawData`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    import numpy as np
    import torch
    import torch.nn as nn

    from bench.record.deployment import Footprint
    from bench.specs import DatasetSpec, ModelSpec
    from bench.task import TaskInfo

Batch = dict[str, "np.ndarray"]  # a tokenized batch: input_ids, attention_mask[, token_type_ids]


@dataclass
class RawData:
    """What a source read, row by row, before any cleaning."""

    texts: list
    labels: list  # str/int per row, or a list of them per row (multi-label); None: unlabelled
    text_pairs: list | None = None
    splits: list[str] | None = None  # "train"/"validation"/"test" per row: the dataset's own
    notes: str = ""  # provenance and licence, shown in reports
    label_names: list[str] | None = None  # the source's own class order (e.g. hf ClassLabel)
    confidence: list[float] | None = None  # annotator agreement per row, for spec.min_confidence


# A dataset source reads its data and does nothing else: bench/data cleans, deduplicates and
# splits every source the same way.
DatasetSource = Callable[["DatasetSpec", Path], RawData]


@dataclass
class NoParams:
    """For plugins without parameters of their own (full fine-tuning)."""


class FineTuneMethod(ABC):
    """How to turn a pretrained model into something `transformers.Trainer` can fine-tune."""

    name: ClassVar[str]
    Params: ClassVar[type] = NoParams
    # False: `merge_for_deployment` cannot fold what was trained into plain weights (virtual
    # tokens of prompt and prefix tuning) and returns the PeftModel itself, in eval mode and
    # fp32; deployment records say so ("merged": false)
    merges: ClassVar[bool] = True
    # What a suite's [study] searches for this method unless the suite says otherwise (the
    # `sweep` syntax, bench/suite/study.py): the rates adapters train well at on MiniLM
    # (suites/tuning.toml and an earlier random search on the movie snippets chose 4e-3 to
    # 2.7e-2 for them)
    study_space: ClassVar[dict] = {"learning_rate": {"log_uniform": [3e-4, 3e-2]}}

    def check_available(self, device: str) -> None:
        """Raise BenchInputError when this method cannot run here (e.g. a missing package)."""

    def training_callbacks(self, model: nn.Module, total_steps: int) -> list:
        """transformers TrainerCallbacks the training of `model` needs (AdaLoRA reallocates its
        ranks after each optimizer step); `total_steps` is the number of optimizer steps."""
        return []

    def model_problems(self, params: Any, module_names: list[str],
                       module_types: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """(key, what is wrong) for parameters that do not fit the model, whose module names
        (from a weightless skeleton) are given, with their class names where known (e.g.
        "Linear", GPT-2's "Conv1D"): checked before any cell runs."""
        return []

    @abstractmethod
    def build(self, model_spec: ModelSpec, task: TaskInfo, params: Any, device: str) -> nn.Module:
        """Load the base model for `task` and prepare it for training on `device`."""

    @abstractmethod
    def save(self, model: nn.Module, directory: Path) -> None:
        """Save what was trained (adapter + trained head, or the whole model) to `directory`."""

    @abstractmethod
    def load(self, model_spec: ModelSpec, task: TaskInfo, params: Any, directory: Path,
             device: str) -> nn.Module:
        """Reload what `save` wrote, ready for inference."""

    @abstractmethod
    def merge_for_deployment(self, model: nn.Module) -> nn.Module:
        """A plain fp32 transformers model with the adapter folded in (may change `model`:
        call `save` first); where the method does not `merge`, the fp32 model as trained."""


class Trainer(Protocol):
    """What a compression may ask of the cell's training (bench/stages/trainer.py CellTrainer)."""

    def train_more(self, model: nn.Module, epochs: float, learning_rate: float) -> nn.Module:
        """`epochs` more epochs on the cell's train split at `learning_rate`, no early stop."""


@dataclass(frozen=True)
class ExtraTraining:
    """Epochs of the cell's training that a compression step adds on top of compressing
    (pruning recovery, QAT). The deployment stage gives the same training to the uncompressed
    model (its control, bench/stages/controls.py), so that the report can tell what the
    compression did from what the extra training did."""

    epochs: float
    learning_rate: float

    def run(self, model: nn.Module, trainer: Trainer) -> nn.Module:
        """Every weight trained (a merged adapter model comes back frozen), no early stop."""
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        return trainer.train_more(model.train(), self.epochs, learning_rate=self.learning_rate)


@dataclass
class CompressionContext:
    trainer: Trainer | None  # the cell's training, None where not available
    example: dict[str, torch.Tensor]  # a real input batch on the model's device, for tracing
    device: str
    progress: Callable[[str], None] = lambda text: None


class Compression(ABC):
    """A config class (`Params`) plus the code of one compression step (chain semantics: see
    bench.stages.variants)."""

    name: ClassVar[str]
    Params: ClassVar[type] = NoParams
    changes_model: ClassVar[bool] = False  # has a PyTorch `transform`
    quantizes: ClassVar[bool] = False  # has quantize recipes: must end its chain
    # the number format a quantizing step leaves the model in (recorded per variant); a chain
    # without one runs in fp32
    precision: ClassVar[str] = "fp32"

    def check(self, params: Any, device: str, can_finetune: bool) -> None:
        """Raise VariantSkipped when this step cannot run here, before any work is done."""

    def host_problem(self, device: str) -> str | None:
        """Why this step can never run on this host's `device` (None: it can): a suite asking
        for it is refused before anything runs, rather than measuring something else."""
        return None

    def transform(self, model: nn.Module, params: Any,
                  context: CompressionContext) -> tuple[nn.Module, dict]:
        """Change this private fp32 copy of the model in PyTorch (only called when
        `changes_model`); return the model and what to record about the step."""
        return model, {}

    def extra_training(self, params: Any) -> ExtraTraining | None:
        """The training this step adds to compressing, None where it adds none. A step that
        trains must train through this (`ExtraTraining.run`): its control gets the same."""
        return None


QuantizeFunction = TypeVar("QuantizeFunction")


@dataclass
class QuantizeStep(Generic[QuantizeFunction]):
    """A quantizing step that a backend runs in its own runtime. `apply`'s type belongs to the
    backend (its `prepare` says which): torch takes `nn.Module -> nn.Module`, the ONNX file
    backends take `(fp32 .onnx path, int8 .onnx path) -> None`."""

    compression: str  # the compression that asked for it
    apply: QuantizeFunction
    info: dict[str, Any] = field(default_factory=dict)  # recorded in the variant's record


# The step types of the shipped backends (a new backend may define its own beside its code):
ModuleQuantizer = Callable[["nn.Module"], "nn.Module"]  # torch: quantize a module
OnnxFileQuantizer = Callable[[Path, Path], None]  # ONNX Runtime: (fp32 .onnx, int8 .onnx)


class QuantizeRecipe(Protocol):
    """How one compression quantizes on one backend (registered per "compression/backend"
    pair). Raises VariantSkipped when it cannot run on `device`."""

    def __call__(self, params: Any, device: str) -> QuantizeStep: ...


@dataclass
class Predictor:
    """A prepared model and what was really run."""

    predict: Callable[[Batch], np.ndarray]
    info: dict[str, Any]  # providers, device, dtype, threads, library versions, exporter...
    footprint: Footprint  # file_bytes: what would be shipped
    synchronize: Callable[[], None] | None = None  # wait for asynchronous device work
    onnx_max_abs_diff: float | None = None  # exported graph vs PyTorch on real inputs
    cuda_memory_visible: bool = False  # torch's allocator sees this predictor's memory
    artefact: Path | None = None  # what Backend.load reads back in a fresh timing process

    def __call__(self, batch: Batch) -> np.ndarray:
        return self.predict(batch)

    @property
    def file_bytes(self) -> int | None:
        return self.footprint.file_bytes


class Backend(ABC):
    """An inference runtime. bench/stages/variants.py creates one instance per deployment run, so an
    instance may cache work for that run only (an ONNX export shared by fp32 and int8)."""

    name: ClassVar[str]

    def check(self, device: str) -> None:
        """Raise VariantSkipped (with the reason) when this backend cannot run on `device`."""

    @abstractmethod
    def prepare(self, model: nn.Module, examples: list[Batch], workdir: Path, device: str,
                threads: int, quantize: QuantizeStep | None = None) -> Predictor:
        """Build a predictor for fp32 `model` (never changed), quantized when `quantize` is
        given (a step from a recipe registered for this backend).

        `examples` are real input batches: the first one traces exports, all of them check
        an exported graph against PyTorch. Files go under `workdir`; set the predictor's
        `artefact` to the one `load` reads back.
        """

    def load(self, artefact: Path, device: str, threads: int) -> Predictor:
        """A predictor on the `artefact` a `prepare` of this backend wrote, built in a fresh
        process: the timing processes (bench/stages/timing_process.py) time these, so only
        calling it (and `synchronize`) matters; `info` and `footprint` may stay empty."""
        raise NotImplementedError(f"backend {self.name} cannot load its artefact back "
                                  "(Backend.load), so it cannot be timed in a fresh process")
