"""The report as a list of blocks (headings, text, tables, images), rendered to Markdown here
and to HTML by bench/report/html.py: both show the same content."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Text:
    """A paragraph; `**bold**` and `` `code` `` are the only inline markup used."""

    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    note: str = ""  # a line under the table (noise band, hardware)


@dataclass
class Image:
    file: str  # PNG file name, relative to the report's folder
    alt: str


Block = Union[Heading, Text, Bullets, Table, Image]


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block | None) -> None:
        self.blocks += [b for b in blocks if b is not None]


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [str(c).replace("|", "\\|").replace("\n", " ") for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_markdown(document: Document) -> str:
    parts = []
    for block in document.blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}\n")
        elif isinstance(block, Text):
            parts.append(block.text + "\n")
        elif isinstance(block, Bullets):
            parts.append("".join(f"- {item}\n" for item in block.items))
        elif isinstance(block, Table):
            parts.append(markdown_table(block.headers, block.rows)
                         + (f"\n{block.note}\n" if block.note else ""))
        elif isinstance(block, Image):
            parts.append(f"![{block.alt}]({block.file})\n")
    return "\n".join(parts)
