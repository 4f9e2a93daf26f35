"""The floor of every table: TF-IDF (word 1-2 grams) + logistic regression on the same split,
with its regularisation chosen on the validation split so that the floor is a fair one."""
from __future__ import annotations

import hashlib
import json
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline

from bench.data import dataset_fingerprint
from bench.evaluate import compute_metrics
from bench.method import TaskInfo
from bench.paths import cache_dir
from bench.store import write_json_atomic

C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


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


def score(pipeline: Pipeline, split, task: TaskInfo) -> dict:
    probs = np.clip(pipeline.predict_proba(join_pairs(split)), 1e-7, 1 - 1e-7)
    # the metric code takes logits: log-probabilities (softmax tasks), log-odds (sigmoid ones)
    logits = np.log(probs / (1 - probs)) if task.multi_label else np.log(probs)
    return compute_metrics(logits, np.asarray(split.labels), task)


def tfidf_baseline(data, seed: int = 42) -> dict:
    """Choose C on data.validation (macro-F1), refit nothing, score on data.test."""
    task: TaskInfo = data.task
    start = time.perf_counter()
    best_c, best_f1, best = C_GRID[0], -1.0, None
    for c in C_GRID if len(data.validation.texts) else (4.0,):
        pipeline = fit(data.train, task, c, seed)
        f1 = score(pipeline, data.validation, task)["f1_macro"] if len(data.validation.texts) else 0.0
        if f1 > best_f1:
            best_c, best_f1, best = c, f1, pipeline
    metrics = score(best, data.test, task)
    return {"name": "tfidf-logreg", "C": best_c, "fit_time_s": time.perf_counter() - start,
            "description": f"TF-IDF word 1-2 grams + logistic regression (C={best_c}, "
                           "chosen on validation macro-F1)",
            "test": metrics}


def cached_tfidf_baseline(data, seed: int = 42) -> dict:
    """The baseline of these exact splits, fitted once: every cell of a dataset shares it."""
    key = hashlib.sha256(f"{dataset_fingerprint(data)}|{seed}|{C_GRID}".encode()).hexdigest()[:24]
    path = cache_dir("baselines") / f"{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = tfidf_baseline(data, seed)
    write_json_atomic(path, result)
    return result

