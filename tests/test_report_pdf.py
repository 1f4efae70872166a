"""The replication report's PDF, looked at as a reader would: its pages rendered to PNG
(pdftoppm, saved into the test artefacts), its fonts embedded, every chapter, figure and
table of the website in it.

The checks use poppler-utils (a Debian package); they skip without it, unless
``REQUIRE_PDF_TOOLS=1`` (as in ``.ci/run``, which installs it), in which case they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from artefacts import ARTEFACTS

TOOLS = ("pdftoppm", "pdffonts", "pdftotext", "pdfinfo", "pdfimages")


@pytest.fixture(scope="session")
def poppler() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        reason = f"poppler-utils missing ({', '.join(missing)}): apt-get install poppler-utils"
        if os.environ.get("REQUIRE_PDF_TOOLS") == "1":
            pytest.fail(f"REQUIRE_PDF_TOOLS=1 but {reason}")
        pytest.skip(reason)


def _run(*argv: str | Path) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=True)
    return done.stdout


def _records(reports: Path, kind: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((reports / kind).glob("*.json"))]


def test_pdf_pages_render_with_embedded_fonts(poppler, reports):
    pdf = reports / "report.pdf"
    pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", pdf))[1])
    chapters = sorted((reports / "chapters").glob("*.json"))
    assert pages >= len(chapters) + 2, pages  # title and contents, a chapter a page at least
    fonts = _run("pdffonts", pdf).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), "\n".join(fonts)
    out = ARTEFACTS / "pdf-pages"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    _run("pdftoppm", "-r", "60", "-png", pdf, out / "page")
    rendered = sorted(out.glob("page-*.png"))
    assert len(rendered) == pages
    assert all(path.stat().st_size > 5_000 for path in rendered)


def test_pdf_holds_every_chapter_figure_and_table(poppler, reports):
    pdf = reports / "report.pdf"
    text = " ".join(_run("pdftotext", "-layout", pdf, "-").split())
    assert "Data shown: Synthetic data" in text
    for chapter in sorted((reports / "chapters").glob("*.json")):
        title = json.loads(chapter.read_text())["title"]
        assert " ".join(title.split()) in text, title
    figures = _records(reports, "figures")
    for record in [*figures, *_records(reports, "tables")]:
        assert f"{record['label']}." in text, record["label"]
    images = _run("pdfimages", "-list", pdf).splitlines()[2:]
    assert len(images) >= len(figures)
    assert not re.search(r"(?<![\w/])/(?:work|home|tmp|root)/", text), "an absolute path"
