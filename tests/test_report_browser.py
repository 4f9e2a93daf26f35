"""The HTML report in a real browser (headless Chromium): its tables sort on a click, its plots
are drawn (every image decoded to a non-zero size) and a screenshot shows a page.

setup.sh and .ci/run install Debian's chromium where it is missing and they run as root; the
GitHub workflow points CHROMIUM at the runner's browser. In CI (CI set) a missing browser
fails the test instead of skipping it: a skipped browser test is how it never ran."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from bench.cli import main
from tests.report_fixture import write_fixture

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str | None:
    """$CHROMIUM, else the first Chromium-family browser on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named) or named
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


BROWSER = browser()
if BROWSER is None and os.environ.get("CI"):
    raise RuntimeError("CI has no Chromium-family browser: install chromium (setup.sh does, as "
                       "root) or set CHROMIUM to a browser's path")
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="needs Chromium (Debian, as root: apt-get update && apt-get install "
                            "-y chromium; ./setup.sh does it) or CHROMIUM=/path/to/browser")

HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--virtual-time-budget=3000"]


def chromium(*args: str) -> str:
    return subprocess.run([BROWSER, *HEADLESS, *args], capture_output=True, text=True,
                          timeout=120, check=True).stdout


@pytest.fixture
def page(tmp_path) -> Path:
    page = tmp_path / "report.html"
    assert main(["report", str(write_fixture(tmp_path / "results")), "--html", "-o",
                 str(page)]) == 0
    return page


def with_script(page: Path, script: str) -> Path:
    out = page.with_name(f"scripted-{page.name}")
    out.write_text(page.read_text().replace("</body>", f"<script>{script}</script></body>"))
    return out


def test_html_page_renders_and_sorts_in_a_real_browser(page):
    dom = chromium("--dump-dom", page.as_uri())
    assert dom.count("<table") >= 5 and dom.count("<img") >= 4
    assert "runs, not methods" in dom
    # a click on "trainable params" of the summary orders its rows by that number; a click
    # on "F1 after" of the before/after table (the second table) orders that one
    clicked = with_script(page, 'var tables = document.querySelectorAll("table.sortable");'
                                'tables[0].querySelectorAll("th")[2].click();'
                                'tables[1].querySelectorAll("th")[4].click();')
    tables = chromium("--dump-dom", clicked.as_uri()).split('<table class="sortable">')[1:3]
    summary, before_after = (t.split("</table>")[0] for t in tables)
    methods = [row.split("<td>")[1].split("</td>")[0] for row in summary.split("<tr>")[2:]]
    f1_after = [row.split("<td>")[5].split("</td>")[0] for row in before_after.split("<tr>")[2:]]
    assert f1_after == sorted(f1_after) and len(f1_after) == 6
    assert methods == ["ia3", "lora-sweep", "lora", "lora-sweep", "lora-sweep", "full"]


def test_every_plot_is_drawn_and_the_page_screenshots(page, tmp_path):
    """The browser decoded each embedded PNG (naturalWidth x naturalHeight > 0: a broken or
    empty image is 0 x 0) and laid it out at a visible size."""
    measured = with_script(page, (
        'window.addEventListener("load", function () {'
        ' var sizes = Array.from(document.images).map(function (i) {'
        '  return i.naturalWidth + "x" + i.naturalHeight + "/" + i.width + "x" + i.height; });'
        ' var out = document.createElement("pre"); out.id = "sizes";'
        ' out.textContent = sizes.join(" "); document.body.appendChild(out); });'))
    dom = chromium("--dump-dom", measured.as_uri())
    sizes = dom.split('<pre id="sizes">')[1].split("</pre>")[0].split()
    assert len(sizes) >= 4
    for size in sizes:
        natural, shown = size.split("/")
        assert all(int(n) > 50 for n in natural.split("x") + shown.split("x")), sizes
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri())
    width, height, pixels = png_size_and_sample(shot)
    assert (width, height) == (1400, 2400)
    assert len(set(pixels)) > 16  # text, tables and plots: not a blank page


def png_size_and_sample(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the first rows' pixels of an 8-bit RGB(A) PNG, read with the
    standard library (no imaging package in the dependencies)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    channels = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(b"".join(chunks))
    stride = 1 + width * channels
    # the first 600 rows (header, answer, first table) without undoing the PNG filters: the
    # filtered bytes of a blank page are as uniform as its pixels
    rows = [raw[r * stride + 1:(r + 1) * stride] for r in range(min(height, 600))]
    return width, height, [row[i:i + channels] for row in rows
                           for i in range(0, len(row), channels * 7)]
