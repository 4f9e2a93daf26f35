"""The floor of every table: TF-IDF (word 1-2 grams) + logistic regression on the same split,
with its regularisation chosen on the validation split so that the floor is a fair one.

It depends on the split alone (and on what it reads, below), never on the cell's training seed
or method: it is fitted once per split and read back by every other cell of that split
(`cached_tfidf_baseline`), with its per-example validation and test predictions beside it.

Fair also in what it reads: given the cell's tokenizer and max_length, every text is cut where
the model's truncation cuts it (the floor must not read the rest of a long article that the
model never sees); the whole-text floor is kept beside it when any text was cut."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline

from bench.data import dataset_fingerprint
from bench.record.metrics import Metrics
from bench.record.predictions import SplitPredictions, save_predictions, sidecar_path
from bench.stages.evaluate import compute_metrics
from bench.task import TaskInfo
from bench.paths import cache_dir
from bench.stats.bootstrap import intervals_of
from bench.record.store import write_json_atomic

C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
# The floor's own seed, the same for every cell: its lbfgs solver does not draw random numbers
# (tests/test_metrics_store.py checks that another seed fits the same floor), so cells trained
# with other seeds share one floor.
FLOOR_SEED = 42


def join_pairs(split) -> list[str]:
    if split.text_pairs is None:
        return split.texts
    return [f"{a} [SEP] {b}" for a, b in zip(split.texts, split.text_pairs)]


def fit(split, task: TaskInfo, c: float, seed: int) -> Pipeline:
    classifier = LogisticRegression(max_iter=2000, C=c, random_state=seed)
    if task.multi_label:
        classifier = OneVsRestClassifier(classifier)
    pipeline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), classifier)
    return pipeline.fit(join_pairs(split), np.asarray(split.labels))


def probabilities(pipeline: Pipeline, split) -> np.ndarray:
    return np.clip(pipeline.predict_proba(join_pairs(split)), 1e-7, 1 - 1e-7)


def score(pipeline: Pipeline, split, task: TaskInfo, intervals: bool = False) -> Metrics:
    probs = probabilities(pipeline, split)
    # the metric code takes logits: log-probabilities (softmax tasks), log-odds (sigmoid ones)
    logits = np.log(probs / (1 - probs)) if task.multi_label else np.log(probs)
    metrics = compute_metrics(logits, np.asarray(split.labels), task)
    if intervals:
        metrics.intervals = intervals_of(np.asarray(split.labels), probs,
                                         num_classes=task.num_labels)
    return metrics


def tfidf_baseline(data, seed: int = FLOOR_SEED, predictions: dict | None = None) -> dict:
    """Choose C on data.validation (macro-F1), refit nothing, score on data.test; the chosen
    pipeline's per-example test and validation predictions go to `predictions` if given."""
    task: TaskInfo = data.task
    start = time.perf_counter()
    best_c, best_f1, best = C_GRID[0], -1.0, None
    for c in C_GRID if len(data.validation.texts) else (4.0,):
        pipeline = fit(data.train, task, c, seed)
        f1 = (score(pipeline, data.validation, task).score("f1_macro")
              if len(data.validation.texts) else 0.0)
        if f1 > best_f1:
            best_c, best_f1, best = c, f1, pipeline
    metrics = score(best, data.test, task, intervals=True)
    if predictions is not None:
        predictions.update({name: SplitPredictions(np.asarray(split.labels),
                                                   probabilities(best, split))
                            for name, split in (("test", data.test),
                                                ("validation", data.validation)) if split.texts})
    return {"name": "tfidf-logreg", "C": best_c, "fit_time_s": time.perf_counter() - start,
            "description": f"TF-IDF word 1-2 grams + logistic regression (C={best_c}, "
                           "chosen on validation macro-F1)",
            "test": metrics.to_dict()}


def cut_to_model_view(split, tokenizer, max_length: int):
    """`split` with each text (and pair) cut to the characters behind its first `max_length`
    tokens, as the model's truncation cuts it; and how many texts lost something."""
    if not split.texts:
        return split, 0
    if not tokenizer.is_fast:  # no offsets: the decoded tokens (pairs read as one text)
        ids = tokenizer(split.texts, split.text_pairs, truncation=True,
                        max_length=max_length)["input_ids"]
        texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
        whole = join_pairs(split)
        cut = sum(len(t.split()) < len(w.split()) for t, w in zip(texts, whole))
        return replace(split, texts=texts, text_pairs=None), cut
    encoded = tokenizer(split.texts, split.text_pairs, truncation=True, max_length=max_length,
                        return_offsets_mapping=True)
    texts, pairs, cut = [], [] if split.text_pairs is not None else None, 0
    for i, text in enumerate(split.texts):
        spans = list(zip(encoded.sequence_ids(i), encoded["offset_mapping"][i]))
        texts.append(visible(text, spans, 0))
        lost = len(texts[-1]) < len(text.strip())
        if pairs is not None:
            pairs.append(visible(split.text_pairs[i], spans, 1))
            lost = lost or len(pairs[-1]) < len(split.text_pairs[i].strip())
        cut += lost
    return replace(split, texts=texts, text_pairs=pairs), cut


def visible(text: str, spans: list, sequence: int) -> str:
    offsets = [(start, end) for sid, (start, end) in spans if sid == sequence and end > start]
    return text[min(s for s, _ in offsets):max(e for _, e in offsets)] if offsets else ""


def cached_tfidf_baseline(data, folder: Path | None = None, tokenizer=None,
                          max_length: int | None = None) -> dict:
    """The baseline of these exact splits, fitted once: every cell of a dataset (and
    tokenizer and max_length) shares it, whatever its seed or method, and a cell that found it
    fitted says `reused`. Kept in `folder` (a run's `artefacts/_floor/`; the user cache where
    None) as `<key>.json`, with its per-example predictions in `<key>.predictions.npz`.
    Without a tokenizer the floor reads whole texts (`max_length` null)."""
    path = (folder or cache_dir("baselines")) / f"{floor_key(data, tokenizer, max_length)}.json"
    if path.is_file():
        return {**json.loads(path.read_text()), "reused": True}
    predictions: dict[str, SplitPredictions] = {}
    result = {**tfidf_baseline(data, predictions=predictions), "max_length": None}
    if tokenizer is not None:
        splits = {name: cut_to_model_view(getattr(data, name), tokenizer, max_length)
                  for name in ("train", "validation", "test")}
        cut = {name: count for name, (_, count) in splits.items()}
        if any(cut.values()):
            whole = {k: result[k] for k in ("C", "description", "test")}
            result = {**tfidf_baseline(replace(data, **{n: s for n, (s, _) in splits.items()}),
                                       predictions=predictions), "whole_text": whole}
        result.update(max_length=max_length, truncated_texts=cut)
        result["description"] += f"; reads the first {max_length} tokens, as the model does"
    # predictions first: a reader that finds the floor finds its predictions
    save_predictions(sidecar_path(path), predictions)
    write_json_atomic(path, result)
    return {**result, "reused": False}


def floor_key(data, tokenizer, max_length: int | None) -> str:
    """A hash of what decides the floor: the splits' content (texts, pairs, labels, classes),
    the floor's own settings and what it reads (the tokenizer and its token limit)."""
    from bench.stages.tokenization import tokenizer_identity

    reads = f"{tokenizer_identity(tokenizer)}|{max_length}" if tokenizer else "whole"
    return hashlib.sha256(f"{dataset_fingerprint(data)}|{FLOOR_SEED}|{C_GRID}|{reads}".encode()
                          ).hexdigest()[:24]
