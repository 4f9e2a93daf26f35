"""A toy three-class task whose words give the label away: small models learn it in a few steps."""
from datasets import Dataset

from bench.task import TaskInfo
from bench.stages.trainer import CellTrainer

TASK = TaskInfo(["negative", "neutral", "positive"])
WORDS = {0: "awful terrible worst hate", 1: "meeting noon bus table", 2: "love great happy best"}


def texts(n: int) -> tuple[list[str], list[int]]:
    labels = [i % 3 for i in range(n)]
    return [f"{WORDS[y].split()[i % 4]} {WORDS[y].split()[(i + 1) % 4]} item {i}"
            for i, y in enumerate(labels)], labels


def tokenized(tokenizer, n: int) -> Dataset:
    text, labels = texts(n)
    return Dataset.from_dict({**tokenizer(text, truncation=True, max_length=32), "labels": labels})


def splits(tokenizer, train: int = 48, validation: int = 12, test: int = 24) -> dict[str, Dataset]:
    return {"train": tokenized(tokenizer, train), "validation": tokenized(tokenizer, validation),
            "test": tokenized(tokenizer, test)}


def trainer(tokenizer, config, device: str = "cpu", **sizes) -> CellTrainer:
    """The toy task's cell trainer (splits of `sizes`, see `splits`), truncating at 32 tokens."""
    return CellTrainer(tokenizer, splits(tokenizer, **sizes), config, TASK, device, 32)
