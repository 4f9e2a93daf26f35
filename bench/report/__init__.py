"""Reports built only from result records (never from live objects): Markdown with PNG plots,
one self-contained HTML page, and a CSV."""
from bench.report.build import build_document
from bench.report.csv_rows import render_csv
from bench.report.document import markdown_table as table
from bench.report.document import to_markdown
from bench.report.html import to_html

__all__ = ["build_document", "render_csv", "table", "to_html", "to_markdown"]
