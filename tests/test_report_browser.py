"""The HTML reports in a real headless browser (Debian's Chromium, driven by Playwright).

The browser tests skip when ``/usr/bin/chromium`` is missing, unless ``REQUIRE_BROWSER=1``
(as in ``.ci/run``, which installs Chromium), in which case they fail.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import nbformat
import pytest
from artefacts import ARTEFACTS
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis.report.browser import CHROMIUM, check_reports_in_browser, is_error_output


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, or a skip (a failure with ``REQUIRE_BROWSER=1``) without it.

    Session-scoped and asked for before ``reports`` so that a skip comes before the
    reports are built.
    """
    if CHROMIUM.is_file():
        return CHROMIUM
    reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def test_real_reports_load_with_no_error(chromium, reports):
    """Every page loads with no error, every image with alt text, no page scrolls
    sideways, the chapters' navigation works; a screenshot of each page is saved."""
    start = time.perf_counter()
    shots = ARTEFACTS / "screenshots"
    result = check_reports_in_browser(reports, executable=chromium, screenshots=shots)
    seconds = time.perf_counter() - start
    assert result.problems == [], "\n".join(result.problems)
    pages = sorted(p.relative_to(reports).as_posix() for p in (reports / "html").glob("*.html"))
    assert result.pages == ["index.html", *pages]
    assert result.images >= len(list((reports / "figures").glob("*.png")))
    assert result.links >= 10
    assert len(result.screenshots) == len(result.pages)
    assert all(path.stat().st_size > 10_000 for path in result.screenshots)
    print(f"browser check: {len(result.pages)} pages, {result.images} images in {seconds:.1f} s")


# -- a broken reports tree, built by hand -------------------------------------------------


def _png(path: Path) -> None:
    """A 1x1 grey PNG, written without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


# What IPython writes for `raise ValueError("boom")`, colours and all.
TRACEBACK = [
    "\x1b[0;31m" + "-" * 75 + "\x1b[0m",
    "\x1b[0;31mValueError\x1b[0m" + " " * 32 + "Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[2], line 1\x1b[0m\n\x1b[0;32m----> 1\x1b[0m "
    "\x1b[38;5;28;01mraise\x1b[39;00m "
    '\x1b[38;5;167;01mValueError\x1b[39;00m(\x1b[38;5;124m"boom"\x1b[39m)\n',
    "\x1b[0;31mValueError\x1b[0m: boom",
]
WARNING = "/x/estimate.py:12: FutureWarning: the default of observed will change\n  df.groupby(k)\n"


def _page(path: Path, *outputs: list) -> None:
    """Render a notebook with the given outputs as run_reports does (nbconvert, lab)."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# A page"),
            *(new_code_cell("x = 1", outputs=o, execution_count=i) for i, o in enumerate(outputs)),
        ]
    )
    body, _ = HTMLExporter(
        exclude_input_prompt=True, exclude_output_prompt=True
    ).from_notebook_node(nbformat.from_dict(nb), resources={"metadata": {"name": path.stem}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    """A reports tree with a missing figure and table and a page with an error cell."""
    root = tmp_path_factory.mktemp("broken")
    _png(root / "figures" / "fine.png")
    _png(root / "figures" / "gone.png")
    (root / "tables").mkdir()
    (root / "tables" / "gone.csv").write_text("a\n1\n")
    stdout = new_output("stream", name="stdout", text="all good\n")
    warning = new_output("stream", name="stderr", text=WARNING)
    error = new_output("error", ename="ValueError", evalue="boom", traceback=TRACEBACK)
    _page(root / "html" / "good.html", [stdout], [warning])
    _page(root / "html" / "failed.html", [stdout], [error])
    links = "".join(
        f'<li><a href="{href}">{href}</a></li>'
        for href in ("html/good.html", "html/failed.html", "tables/gone.csv")
    )
    images = "".join(
        f'<img src="figures/{name}.png" alt="{name} figure">' for name in ("fine", "gone")
    )
    (root / "index.html").write_text(
        f"<!doctype html><html><head><title>Reports</title></head><body>{images}"
        f"<ul>{links}</ul></body></html>"
    )
    (root / "figures" / "gone.png").unlink()
    (root / "tables" / "gone.csv").unlink()
    return root


def test_broken_reports_yield_the_expected_problems(broken, chromium):
    result = check_reports_in_browser(broken, executable=chromium)
    problems = "\n".join(result.problems)
    expected = [
        "index.html: image <img src='figures/gone.png'> did not load",
        "index.html: HTTP 404 for figures/gone.png",
        "index.html: link 'tables/gone.csv' answers HTTP 404",
        "html/failed.html: error output in cell 3: ValueError: boom",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in result.problems), f"{line!r} not in\n{problems}"
    assert len(result.problems) == len(expected), problems
    assert "good.html" not in problems and "fine.png" not in problems
    assert result.pages == ["index.html", "html/good.html", "html/failed.html"]
    assert result.stderr == [f"html/good.html: cell 3: {WARNING.splitlines()[0]}"]


def test_missing_alt_text_and_overflow_are_reported(tmp_path, chromium):
    _png(tmp_path / "figures" / "a.png")
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "wide.html").write_text(
        "<!doctype html><html><head><title>Wide</title></head><body>"
        '<img src="../figures/a.png"><div style="width: 3000px">wide</div>'
        '<a href="../nowhere.html">a chapter</a></body></html>'
    )
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Reports</title></head><body>"
        '<img src="figures/a.png" alt="No description has been provided for this image">'
        '<a href="html/wide.html">wide</a></body></html>'
    )
    result = check_reports_in_browser(tmp_path, executable=chromium, viewport=(800, 600))
    problems = "\n".join(result.problems)
    assert "index.html: image <img src='figures/a.png'> has no alt text" in problems
    assert "html/wide.html: image <img src='../figures/a.png'> has no alt text" in problems
    assert "html/wide.html: horizontal overflow: the page is" in problems
    assert "html/wide.html: link '../nowhere.html' answers HTTP 404" in problems


def test_a_missing_index_page_and_title_are_reported(tmp_path, chromium):
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head></head><body><a href="html/nowhere.html">x</a></body></html>'
    )
    result = check_reports_in_browser(tmp_path, executable=chromium)
    assert result.problems == [
        "index.html: the page has no title",
        "html/nowhere.html: HTTP 404 for html/nowhere.html",
    ]


# -- telling errors from harmless stderr (no browser) -------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("ValueError  Traceback (most recent call last)\nCell In[2]\nValueError: boom", True),
        ("  Cell In[2], line 1\n    x =\n       ^\nSyntaxError: invalid syntax", True),
        ("KeyboardInterrupt", True),
        ("papermill.exceptions.PapermillExecutionError: cell failed", True),
        ("Traceback (most recent call last):\n  File 'x.py'\nBoom: a custom exception", True),
        ("ERROR:analysis.estimate:the model did not converge", True),
        (WARNING, False),
        ("/x/y.py:3: UserWarning: ValueError: quoted inside a warning\n  warn(msg)", False),
        ("100%|██████████| 10/10 [00:01<00:00,  9.8it/s]", False),
        ("WARNING:analysis.clean:dropped 3 rows", False),
        ("", False),
    ],
)
def test_is_error_output(text, error):
    assert is_error_output(text) is error
