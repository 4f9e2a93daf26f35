"""`bench run ... --mlflow URI` and `bench report DIR --mlflow URI`: the results of a folder as
MLflow runs, where teams already compare their fine-tuning runs.

One parent run per suite (holding the report, its plots and the verdicts) and one nested run
per cell (bench/report/tracker_fields.py says what it holds). Exporting again is idempotent:
a cell's run is found by its identity tag (cell id + config_hash + deploy_hash), so the same
cell of the same configuration updates its run, never adds a second; a metric is logged again
only when its value changed, so its history does not grow on each export. A changed
configuration is a new run beside the old one, as a rerun keeps the old result in superseded/.

mlflow is an optional extra (`pip install peft-bench[mlflow]`): imported here only.
"""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bench.errors import BenchInputError
from bench.record import CellRecord
from bench.record.store import LoadedRecords
from bench.report.document import Document, Heading, Text, to_markdown
from bench.report.tracker_fields import TAG, tracked_cell

DEFAULT_EXPERIMENT = "peft-bench"
BATCH = 100  # MLflow takes at most 100 params (and 1,000 metrics) per log_batch call


@dataclass
class ExportSummary:
    experiment_id: str = ""
    parents: dict[str, str] = field(default_factory=dict)  # suite -> run id
    created: list[str] = field(default_factory=list)  # cell ids
    updated: list[str] = field(default_factory=list)

    def describe(self, uri: str) -> str:
        return (f"MLflow {uri}: {len(self.created)} cell run(s) created, {len(self.updated)} "
                f"updated, under {len(self.parents)} suite run(s) (experiment "
                f"{self.experiment_id})")


def client_for(uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as error:
        raise BenchInputError("--mlflow needs the mlflow package: pip install "
                              "'peft-bench[mlflow]' (or pip install mlflow)") from error
    return MlflowClient(tracking_uri=uri)


def artifact_root(uri: str, experiment: str) -> str | None:
    """Beside the database for a local sqlite store (MLflow's default, ./mlruns of whatever
    folder the command ran in, scatters them); a server chooses its own."""
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite" or not parsed.path:
        return None
    database = Path(uri.split("sqlite:///", 1)[1]).resolve()
    return (database.parent / "mlartifacts" / experiment).as_uri()


def experiment_id(client, uri: str, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_root(uri, name))


def find_run(client, experiment: str, tags: dict[str, str]):
    query = " and ".join(f"tags.`{key}` = '{value}'" for key, value in tags.items())
    runs = client.search_runs([experiment], filter_string=query, max_results=2)
    return runs[0] if runs else None


def export_results(uri: str, loaded: LoadedRecords, results: Path,
                   experiment: str = DEFAULT_EXPERIMENT) -> ExportSummary:
    """Every record of `loaded` (read from `results`) as runs of `experiment` at `uri`."""
    client = client_for(uri)
    summary = ExportSummary(experiment_id=experiment_id(client, uri, experiment))
    by_suite: dict[str, list[CellRecord]] = {}
    for record in loaded.records:
        by_suite.setdefault(record.suite or results.name, []).append(record)
    for suite, records in by_suite.items():
        parent = suite_run(client, summary.experiment_id, suite, results)
        summary.parents[suite] = parent
        for record in records:
            created = export_cell(client, summary.experiment_id, parent, record,
                                  loaded.folders.get(record.cell_id, results))
            (summary.created if created else summary.updated).append(record.cell_id)
        log_report(client, parent, records, loaded.folders)
        client.set_terminated(parent, "FINISHED")
    return summary


def suite_run(client, experiment: str, suite: str, results: Path) -> str:
    tags = {TAG + "role": "suite", TAG + "suite": suite}
    found = find_run(client, experiment, tags)
    if found is not None:
        return found.info.run_id
    run = client.create_run(experiment, run_name=suite, tags={
        **tags, TAG + "results": str(results.resolve())})
    return run.info.run_id


def export_cell(client, experiment: str, parent: str, record: CellRecord, folder: Path) -> bool:
    """The cell's run, created or brought up to date; True when created."""
    from mlflow.entities import Metric, Param, RunTag

    cell = tracked_cell(record)
    found = find_run(client, experiment, {TAG + "identity": cell.identity})
    if found is None:
        run_id = client.create_run(experiment, run_name=cell.cell_id, tags={
            "mlflow.parentRunId": parent, TAG + "identity": cell.identity}).info.run_id
        logged_params, logged_metrics = {}, {}
    else:
        run_id = found.info.run_id
        logged_params, logged_metrics = found.data.params, found.data.metrics
    now = int(time.time() * 1000)
    params = [Param(k, v) for k, v in cell.params.items() if k not in logged_params]
    metrics = [Metric(k, v, now, 0) for k, v in cell.metrics.items()
               if logged_metrics.get(k) != v]
    if found is None:  # a curve is logged once: its steps would repeat on every export
        metrics += [Metric(name, value, now, step) for name, points in cell.curves.items()
                    for step, value in points]
    tags = [RunTag(k, v) for k, v in {**cell.tags, "mlflow.parentRunId": parent}.items()]
    for start in range(0, max(len(params), len(metrics), len(tags)), BATCH):
        client.log_batch(run_id, metrics=metrics[start:start + BATCH],
                         params=params[start:start + BATCH], tags=tags[start:start + BATCH])
    log_record_files(client, run_id, record, folder)
    client.set_terminated(run_id, "FINISHED" if cell.ok else "FAILED")
    return found is None


def log_record_files(client, run_id: str, record: CellRecord, folder: Path) -> None:
    """The record as read (typed, written back as JSON) and its per-example predictions."""
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as scratch:
        path = Path(scratch) / f"{record.cell_id}.json"
        path.write_text(json.dumps(record.to_dict(), indent=2, default=str) + "\n")
        client.log_artifact(run_id, str(path), "record")
    predictions = folder / record.predictions_file if record.predictions_file else None
    if predictions is not None and predictions.is_file():
        client.log_artifact(run_id, str(predictions), "record")


def log_report(client, run_id: str, records: list[CellRecord],
               folders: dict[str, Path]) -> None:
    """The suite's report (Markdown and HTML, with its plots) and its verdicts on the parent."""
    from bench.report import build_document, to_html

    with tempfile.TemporaryDirectory(prefix="bench-mlflow-report-") as scratch:
        folder = Path(scratch)
        document = build_document(records, folders, folder)
        (folder / "REPORT.md").write_text(to_markdown(document))
        (folder / "REPORT.html").write_text(to_html(document, "peft-bench report", folder))
        (folder / "verdicts.md").write_text(to_markdown(verdicts_of(document)))
        client.log_artifacts(run_id, str(folder), "report")


def verdicts_of(document: Document) -> Document:
    """The report's answer section (best method, paired verdicts against it, deployment
    choice) and every paired-verdicts table: what a reader of the parent run looks for."""
    out, in_answer, take_next = Document(), False, False
    for block in document.blocks:
        if isinstance(block, Heading) and block.level <= 2:
            in_answer = block.text == "The answer"
        is_verdict_title = isinstance(block, Text) and "verdict" in block.text.lower()
        dataset_heading = isinstance(block, Heading) and block.level == 3
        if in_answer or is_verdict_title or take_next or dataset_heading:
            out.add(block)
        take_next = is_verdict_title
    return out
