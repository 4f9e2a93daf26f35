"""One self-contained HTML page: plots embedded as base64 PNG, tables sortable by a click on
their header (a few lines of inline script, no network)."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from bench.report.document import Bullets, Document, Heading, Image, Table, Text

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }
th { background: #f0f0f0; cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
img { max-width: 100%; border: 1px solid #eee; }
p.note { font-size: 0.85em; color: #555; }
"""

SORT_SCRIPT = """
function sortKey(row, column) {
  var text = row.cells[column].textContent.trim(), n = parseFloat(text.replace(/[,x%]/g, ""));
  return isNaN(n) ? text : n;
}
function compareKeys(x, y) {
  if (typeof x !== typeof y) { return typeof x === "number" ? -1 : 1; }
  return x < y ? -1 : x > y ? 1 : 0;
}
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = table.querySelectorAll("th");
  headers.forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = !th.classList.contains("sorted-asc");
      headers.forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(ascending ? "sorted-asc" : "sorted-desc");
      var body = table.tBodies[0];
      Array.from(body.rows).sort(function (a, b) {
        var order = compareKeys(sortKey(a, column), sortKey(b, column));
        return ascending ? order : -order;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def inline(text: str) -> str:
    """Escape, then turn the Markdown inline marks the report uses into tags."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    return re.sub(r"\[(.+?)\]\(#(.+?)\)", r'<a href="#\2">\1</a>', out)


def table_html(block: Table) -> str:
    head = "".join(f"<th>{inline(h)}</th>" for h in block.headers)
    rows = "".join("<tr>" + "".join(f"<td>{inline(str(c))}</td>" for c in row) + "</tr>"
                   for row in block.rows)
    note = f'<p class="note">{inline(block.note)}</p>' if block.note else ""
    return (f'<table class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>{note}")


def image_html(block: Image, image_dir: Path) -> str:
    data = base64.b64encode((image_dir / block.file).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">'


def to_html(document: Document, title: str, image_dir: Path) -> str:
    body = []
    for block in document.blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{inline(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            body.append(f"<p>{inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            body.append(table_html(block))
        elif isinstance(block, Image):
            body.append(image_html(block, image_dir))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SORT_SCRIPT}</script>\n</body></html>\n")
