"""Hand-written result records for the report tests: three methods on one dataset, a sweep,
one deployed cell with three variants, and a failed cell. Figures are chosen so that each
test can name the right answer."""
from __future__ import annotations

from pathlib import Path

from bench.record import SCHEMA_VERSION
from bench.record.store import write_json_atomic


def metrics(accuracy: float, f1: float, **more) -> dict:
    return {"n": 100, "accuracy": accuracy, "f1_macro": f1, "precision_macro": f1 + 0.01,
            "recall_macro": f1 - 0.01, "loss": 0.5, "runtime_s": 2.0, "samples_per_s": 50.0,
            "steps_per_s": 1.5, **more}


def log_history() -> list[dict]:
    """Logs at fractional epochs, as the Trainer writes them (0.89 and 1.01 both occur)."""
    return [{"loss": 1.0, "epoch": 0.5, "step": 5}, {"loss": 0.8, "epoch": 0.89, "step": 8},
            {"eval_loss": 0.7, "eval_f1_macro": 0.6, "epoch": 1.0, "step": 9},
            {"loss": 0.6, "epoch": 1.01, "step": 10}, {"loss": 0.4, "epoch": 1.89, "step": 17},
            {"eval_loss": 0.65, "eval_f1_macro": 0.65, "epoch": 2.0, "step": 18}]


def cell(cell_id: str, method: str, *, test_f1: float, validation_f1: float, trainable: int,
         runtime: float, sweep: dict | None = None, params: dict | None = None,
         intervals: dict | None = None, **fields) -> dict:
    return {
        "schema_version": SCHEMA_VERSION, "cell_id": cell_id, "suite": "fixture", "status": "ok",
        "error": None,
        "config": {"model": {"name": "m", "source": "tiny-bert"},
                   "dataset": {"name": "tweets", "source": "tweets", "max_length": 64},
                   "method": {"entry": cell_id.split("--")[1], "name": method,
                              "params": params or {}},
                   "training": {"learning_rate": 0.001, "epochs": 2.0, "batch_size": 32,
                                "scheduler": "linear", "gradient_accumulation_steps": 1,
                                "seed": 42},
                   "sweep": sweep or {}, "deploy": None, "compressions": {}},
        "environment": {"versions": {"torch": "2.13"}, "git": {"commit": "abc", "dirty": False},
                        "hardware": {"cpu": "Test CPU", "cpu_count": 2}},
        "device": {"type": "cpu", "torch_threads": 2},
        "task": {"label_names": ["neg", "pos"], "multi_label": False},
        "baseline": {"name": "tfidf-logreg", "test": metrics(0.70, 0.68)},
        "parameters": {"trainable": trainable, "total": 1000000,
                       "trainable_pct": trainable / 10000},
        "evaluation": {"before": metrics(0.5, 0.33),
                       "validation": metrics(validation_f1 + 0.02, validation_f1),
                       "test": metrics(test_f1 + 0.02, test_f1, intervals=intervals or {})},
        "training": {"runtime_s": runtime, "samples_per_s": 80.0, "peak_rss_bytes": 1_500_000_000,
                     "best_epoch": 2.0, "epochs": 2.0, "log_history": log_history()},
        "artefacts": {"bytes": 300_000 if method != "full" else 90_000_000},
        **fields}


def variant(name: str, backend: str, *, f1: float, p50_1: float, sps_32: float, size: int,
            speedup_32: float | dict) -> dict:
    """`speedup_32`: a bare ratio (records up to schema 1) or a ratio with its interval."""
    return {"variant": name, "chain": [] if name == "fp32" else [name], "backend": backend,
            "status": "ok", "reason": None, "backend_info": {},
            "footprint": {"file_bytes": size},
            "latency": {"1": {"p50_ms": p50_1, "p95_ms": p50_1 * 1.1,
                              "samples_per_s": 1000 / p50_1},
                        "32": {"p50_ms": 32000 / sps_32, "samples_per_s": sps_32}},
            "metrics": metrics(f1 + 0.02, f1), "deltas": {"f1_macro": f1 - 0.75},
            "speedup": {"1": 10.0 / p50_1, "32": speedup_32}, "reference": "fp32/torch",
            "compression_info": {},
            "latency_recheck": {"1": {"p50_ms": 10.5, "relative_difference": 0.05},
                                "32": {"p50_ms": 300.0, "relative_difference": -0.02}}}


DEPLOYMENT = [
    variant("fp32", "torch", f1=0.75, p50_1=10.0, sps_32=100.0, size=90_000_000, speedup_32=1.0),
    # fastest at batch 1 but 2 points of F1 lost: outside the budget
    variant("int8", "onnxruntime", f1=0.73, p50_1=2.0, sps_32=400.0, size=23_000_000,
            speedup_32=4.0),
    variant("int8", "torch", f1=0.745, p50_1=4.0, sps_32=300.0, size=59_000_000,
            speedup_32={"ratio": 3.0, "low": 2.8, "high": 3.2, "verdict": "faster"}),
]


def write_fixture(folder: Path) -> Path:
    """lora: best on validation (and the deployed cell); full: best on test, worse on
    validation; ia3: cheapest. A LoRA sweep over r = 16, 4, 8 (hash order differs)."""
    records = [
        cell("m--lora--tweets", "lora", test_f1=0.74, validation_f1=0.76, trainable=75_000,
             runtime=100.0, params={"r": 8, "alpha": 16},
             intervals={"f1_macro": [0.71, 0.77]}, deployment=DEPLOYMENT),
        cell("m--full--tweets", "full", test_f1=0.75, validation_f1=0.74, trainable=1_000_000,
             runtime=130.0),
        cell("m--ia3--tweets", "ia3", test_f1=0.70, validation_f1=0.71, trainable=17_000,
             runtime=90.0),
        cell("m--lora-sweep--tweets--aaaa", "lora", test_f1=0.71, validation_f1=0.70,
             trainable=150_000, runtime=101.0, sweep={"r": 16}, params={"r": 16, "alpha": 16}),
        cell("m--lora-sweep--tweets--bbbb", "lora", test_f1=0.69, validation_f1=0.68,
             trainable=38_000, runtime=99.0, sweep={"r": 4}, params={"r": 4, "alpha": 16}),
        cell("m--lora-sweep--tweets--cccc", "lora", test_f1=0.70, validation_f1=0.69,
             trainable=75_000, runtime=100.0, sweep={"r": 8}, params={"r": 8, "alpha": 16}),
    ]
    for record in records:
        write_json_atomic(folder / f"{record['cell_id']}.json", record)
    write_json_atomic(folder / "failed" / "m--qlora--tweets.json", {
        "schema_version": SCHEMA_VERSION, "cell_id": "m--qlora--tweets", "suite": "fixture",
        "status": "failed", "error": {"phase": "train", "type": "Crash", "message": "killed"},
        "config": {"dataset": {"name": "tweets"}, "method": {"name": "qlora"}}})
    return folder
