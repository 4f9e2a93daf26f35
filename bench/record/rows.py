"""One flattening reader: result records -> rows with named, typed columns, one per cell or per
deployed variant. The report, the CSV, `bench compare` and the run summary read records only
through these rows (and the typed record), never by paths into the JSON."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from bench.metric_registry import METRICS
from bench.record import CellRecord, DeployedVariant, Metrics

MB = 1_000_000  # decimal megabytes, as model sizes are usually quoted
FINE_TUNED = "fine-tuned"  # the variant name of the cell's own model in the CSV


def megabytes(value: int | None) -> float | None:
    return None if value is None else value / MB


@dataclass
class CellRow:
    cell_id: str
    label: str  # the cell id, with the swept values in words
    suite: str | None
    status: str | None
    model: str | None
    method: str | None  # the suite's method entry (lora, lora-sweep, ...)
    method_kind: str | None  # the registered method it runs (lora)
    dataset: str | None
    sweep: dict = field(default_factory=dict)
    seed: int | None = None
    seed_group: str = ""
    # hyperparameters, for the trials table
    r: int | None = None
    alpha: float | None = None
    dropout: float | None = None
    bias: str | None = None
    epochs: float | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    scheduler: str | None = None
    gradient_accumulation_steps: int | None = None
    # cost
    trainable_params: int | None = None
    total_params: int | None = None
    trainable_pct: float | None = None
    # None where the cell shared its GPU with other cells (`device_shared_by`): such a time
    # measures the sharing as much as the method, so no cost column or comparison gets it
    train_runtime_s: float | None = None
    train_samples_per_s: float | None = None
    device_shared_by: int | None = None  # cells that could run at once on the cell's GPU
    train_peak_memory_mb: float | None = None
    saved_mb: float | None = None  # what the method saves (the adapter alone for PEFT)
    merged_mb: float | None = None  # the deployable model (fp32 reference file), if deployed
    wrapped_modules: list[str] | None = None
    # test scores: the two the report ranks by, with their intervals, and every registered one
    accuracy: float | None = None
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    f1_macro: float | None = None
    f1_macro_low: float | None = None
    f1_macro_high: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)  # bench/metric_registry.py
    eval_loss: float | None = None
    eval_runtime_s: float | None = None
    eval_samples_per_s: float | None = None
    eval_steps_per_s: float | None = None
    validation_accuracy: float | None = None
    validation_f1_macro: float | None = None
    before_accuracy: float | None = None
    before_f1_macro: float | None = None
    baseline_accuracy: float | None = None
    baseline_f1_macro: float | None = None
    baseline_max_length: int | None = None  # tokens the floor read; None: whole texts
    # convergence
    best_epoch: float | None = None
    epochs_run: float | None = None
    may_not_have_converged: bool | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def swept_values(self) -> tuple:
        """A sort key in the swept values' own order (r=4 before r=16), not the hash's."""
        return tuple((k, sortable(v)) for k, v in sorted(self.sweep.items()))


@dataclass
class VariantRow:
    cell_id: str
    method: str | None
    dataset: str | None
    seed_group: str
    variant: str | None
    backend: str | None
    status: str | None
    reason: str | None = None
    fell_back: bool = False
    chain: list[str] = field(default_factory=list)
    size_mb: float | None = None
    accuracy: float | None = None
    f1_macro: float | None = None
    f1_macro_low: float | None = None
    f1_macro_high: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)  # bench/metric_registry.py
    delta_f1_macro: float | None = None
    validation_f1_macro: float | None = None
    validation_accuracy: float | None = None
    latency_batch: int | None = None  # the smallest batch timed (1 by default)
    p50_ms_latency_batch: float | None = None
    p95_ms_latency_batch: float | None = None
    speedup_latency_batch: float | None = None
    speedup_latency_low: float | None = None  # 95% interval over timing processes (or rounds)
    speedup_latency_high: float | None = None
    # faster, slower, no measurable difference, inconclusive
    speedup_latency_verdict: str | None = None
    throughput_batch: int | None = None  # the largest batch timed (32 by default)
    p50_ms_throughput_batch: float | None = None
    samples_per_s_throughput_batch: float | None = None
    speedup_throughput_batch: float | None = None
    speedup_throughput_low: float | None = None
    speedup_throughput_high: float | None = None
    speedup_throughput_verdict: str | None = None
    p50_ms: dict[int, float | None] = field(default_factory=dict)  # every batch timed

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def name(self) -> str:
        return f"{self.variant} / {self.backend}"


def sortable(value) -> tuple:
    """Numbers before text, numbers by value: a mixed sweep still sorts."""
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def interval_of(metrics: Metrics | None, name: str) -> tuple[float | None, float | None]:
    bounds = metrics.interval(name) if metrics else None
    return bounds if bounds else (None, None)


def score(metrics: Metrics | None, name: str) -> float | None:
    return metrics.score(name) if metrics else None


def registered_scores(metrics: Metrics | None) -> dict[str, float | None]:
    """Every registered metric, None where the record lacks it (older records, other tasks)."""
    return {name: score(metrics, name) for name in METRICS}


def cell_row(record: CellRecord) -> CellRow:
    config, training = record.config, record.training
    test, evaluation = record.evaluation.test, record.evaluation
    params, hyper = config.method_params, config.training
    reference = record.deployment.reference if record.deployment else None
    shared = record.device_sharing
    return CellRow(
        cell_id=record.cell_id, label=record.label, suite=record.suite, status=record.status,
        model=config.model_name, method=config.method_entry, method_kind=config.method_name,
        dataset=config.dataset_name, sweep=dict(config.sweep), seed=record.seed,
        seed_group=record.group,
        r=params.get("r"), alpha=params.get("alpha"), dropout=params.get("dropout"),
        bias=params.get("bias"), epochs=hyper.get("epochs"), batch_size=hyper.get("batch_size"),
        learning_rate=hyper.get("learning_rate"), scheduler=hyper.get("scheduler"),
        gradient_accumulation_steps=hyper.get("gradient_accumulation_steps"),
        trainable_params=record.parameters.trainable if record.parameters else None,
        total_params=record.parameters.total if record.parameters else None,
        trainable_pct=record.parameters.trainable_pct if record.parameters else None,
        train_runtime_s=training.runtime_s if training and not shared else None,
        train_samples_per_s=training.samples_per_s if training and not shared else None,
        device_shared_by=shared.cells_per_device if shared else None,
        train_peak_memory_mb=megabytes(training.peak_memory_bytes) if training else None,
        saved_mb=megabytes(record.artefacts.bytes),
        merged_mb=megabytes(reference.file_bytes) if reference else None,
        wrapped_modules=record.wrapped_modules,
        accuracy=score(test, "accuracy"), f1_macro=score(test, "f1_macro"),
        scores=registered_scores(test), eval_loss=score(test, "loss"),
        eval_runtime_s=score(test, "runtime_s"), eval_samples_per_s=score(test, "samples_per_s"),
        eval_steps_per_s=score(test, "steps_per_s"),
        validation_accuracy=score(evaluation.validation, "accuracy"),
        validation_f1_macro=score(evaluation.validation, "f1_macro"),
        before_accuracy=score(evaluation.before, "accuracy"),
        before_f1_macro=score(evaluation.before, "f1_macro"),
        baseline_accuracy=score(record.baseline.test if record.baseline else None, "accuracy"),
        baseline_f1_macro=score(record.baseline.test if record.baseline else None, "f1_macro"),
        baseline_max_length=record.baseline.max_length if record.baseline else None,
        best_epoch=training.best_epoch if training else None,
        epochs_run=training.epochs_run if training else None,
        may_not_have_converged=training.may_not_have_converged if training else None,
        error=record.error.message if record.error else None,
        **dict(zip(("accuracy_low", "accuracy_high"), interval_of(test, "accuracy"))),
        **dict(zip(("f1_macro_low", "f1_macro_high"), interval_of(test, "f1_macro"))))


def variant_row(record: CellRecord, variant: DeployedVariant) -> VariantRow:
    sizes = record.deployment.batch_sizes if record.deployment else []
    small, large = (sizes[0], sizes[-1]) if sizes else (None, None)
    speedup = variant.speedup.get(large)
    small_speedup = variant.speedup.get(small)
    latency = variant.latency.get(small)
    return VariantRow(
        cell_id=record.cell_id, method=record.config.method_entry,
        dataset=record.config.dataset_name, seed_group=record.group, variant=variant.variant,
        backend=variant.backend, status=variant.status, reason=variant.reason,
        fell_back=variant.fell_back, chain=list(variant.chain),
        size_mb=megabytes(variant.file_bytes), accuracy=score(variant.metrics, "accuracy"),
        f1_macro=score(variant.metrics, "f1_macro"), scores=registered_scores(variant.metrics),
        delta_f1_macro=variant.deltas.get("f1_macro"),
        validation_f1_macro=score(variant.validation_metrics, "f1_macro"),
        validation_accuracy=score(variant.validation_metrics, "accuracy"),
        latency_batch=small, p50_ms_latency_batch=variant.p50_ms(small),
        p95_ms_latency_batch=latency.p95_ms if latency else None,
        speedup_latency_batch=small_speedup.ratio if small_speedup else None,
        speedup_latency_low=small_speedup.low if small_speedup else None,
        speedup_latency_high=small_speedup.high if small_speedup else None,
        speedup_latency_verdict=small_speedup.verdict if small_speedup else None,
        throughput_batch=large, p50_ms_throughput_batch=variant.p50_ms(large),
        samples_per_s_throughput_batch=variant.samples_per_s(large),
        speedup_throughput_batch=speedup.ratio if speedup else None,
        speedup_throughput_low=speedup.low if speedup else None,
        speedup_throughput_high=speedup.high if speedup else None,
        speedup_throughput_verdict=speedup.verdict if speedup else None,
        p50_ms={batch: variant.p50_ms(batch) for batch in sizes},
        **dict(zip(("f1_macro_low", "f1_macro_high"), interval_of(variant.metrics, "f1_macro"))))


def cell_rows(records: list[CellRecord]) -> list[CellRow]:
    return [cell_row(r) for r in records]


def variant_rows(records: list[CellRecord]) -> list[VariantRow]:
    return [variant_row(r, v) for r in records for v in r.variants]


def column_names(row_type: type) -> list[str]:
    return [f.name for f in fields(row_type)]
