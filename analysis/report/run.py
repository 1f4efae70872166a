"""Execute the notebooks with papermill into ``reports/``, render HTML, write an index.

Each notebook in ``notebooks/`` takes the parameters ``estimates_dir``, ``processed_dir``,
``reports_dir`` and ``data_kind`` (its first cell says whether it shows synthetic or real
data). Executed copies go to ``reports/notebooks/``, HTML pages to ``reports/html/``;
figures (PNG and PDF) and tables (CSV and LaTeX) that the notebooks save go to
``reports/figures/`` and ``reports/tables/``; ``reports/index.html`` links them all.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
import papermill as pm
from nbconvert import HTMLExporter

from analysis import config
from analysis.io import write_atomic

NOTEBOOKS_DIR: Path = config.REPO_ROOT / "notebooks"


def data_kind(estimates_dir: Path) -> str:
    manifest = json.loads((estimates_dir / "estimates_manifest.json").read_text())
    return "synthetic" if manifest.get("synthetic") else "real"


def run_reports(
    estimates_dir: str | Path,
    processed_dir: str | Path,
    reports_dir: str | Path,
    notebooks: list[Path] | None = None,
) -> dict[str, list[Path]]:
    """Execute every notebook and write the reports tree; returns what was written."""
    estimates_dir, processed_dir = Path(estimates_dir).resolve(), Path(processed_dir).resolve()
    reports_dir = Path(reports_dir).resolve()
    notebooks = notebooks or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    executed, pages = [], []
    for nb in notebooks:
        out = reports_dir / "notebooks" / nb.name
        out.parent.mkdir(parents=True, exist_ok=True)
        pm.execute_notebook(
            str(nb),
            str(out),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(reports_dir),
            parameters={
                "estimates_dir": str(estimates_dir),
                "processed_dir": str(processed_dir),
                "reports_dir": str(reports_dir),
                "data_kind": data_kind(estimates_dir),
            },
        )
        executed.append(out)
        body, _ = HTMLExporter(
            exclude_input_prompt=True, exclude_output_prompt=True
        ).from_notebook_node(nbformat.read(out, as_version=4))
        page = reports_dir / "html" / f"{nb.stem}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(page, lambda p, b=body: p.write_text(b))
        pages.append(page)
    index = write_index(reports_dir, pages)
    return {"notebooks": executed, "pages": pages, "index": [index]}


def write_index(reports_dir: Path, pages: list[Path]) -> Path:
    """``reports/index.html``: links to every page, figure and table."""

    def links(paths: list[Path]) -> str:
        items = "".join(
            f'<li><a href="{html.escape(p.relative_to(reports_dir).as_posix())}">'
            f"{html.escape(p.name)}</a></li>"
            for p in paths
        )
        return f"<ul>{items}</ul>"

    figures = sorted((reports_dir / "figures").glob("*.png"))
    pdfs = sorted((reports_dir / "figures").glob("*.pdf"))
    tables = sorted((reports_dir / "tables").glob("*.csv")) + sorted(
        (reports_dir / "tables").glob("*.tex")
    )
    thumbs = "".join(
        f'<figure><img src="{html.escape(f.relative_to(reports_dir).as_posix())}" '
        f'alt="{html.escape(f.stem)}" width="480"><figcaption>{html.escape(f.stem)}'
        "</figcaption></figure>"
        for f in figures
    )
    text = (
        "<!doctype html><html><head><meta charset='utf-8'><title>AI wage premium and "
        "AI-talent mobility: reports</title></head><body>"
        "<h1>AI wage premium and AI-talent mobility</h1>"
        f"<h2>Notebooks</h2>{links(pages)}<h2>Figures</h2>{thumbs}{links(pdfs)}"
        f"<h2>Tables</h2>{links(tables)}</body></html>\n"
    )
    return write_atomic(reports_dir / "index.html", lambda p: p.write_text(text))
