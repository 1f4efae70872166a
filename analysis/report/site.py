"""The report website: chapter pages with navigation, and the landing page.

A chapter page is its executed notebook rendered by nbconvert with the ``page`` template
(``templates/page/``, built on nbconvert's ``lab`` template): the outputs only (the
code stays in the executed notebook the footer links to), under a bar of every chapter
and a banner that says what data the numbers come from. The landing page
(``templates/index.html.j2``) puts the headline findings first: the validation
chapter's table of the Bank of Korea's figures beside the estimates, their 95%
intervals and verdicts (:data:`HEADLINE_TABLE`, recorded by that chapter), then the
chapters, the PDF and every figure and table with its caption (from the sidecars
:mod:`analysis.report.document` writes).

Every link is relative, so the folder can be published or opened anywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
import nbformat

from analysis.report.records import (
    Provenance,
    data_banner,
    read_chapters,
    report_banner,
    table_html,
)

#: The report's HTML templates (package data).
TEMPLATES: Path = Path(__file__).parent / "templates"

#: The name of the validation chapter's headline table (``tables/<name>.json``).
HEADLINE_TABLE: str = "headline"


def site_css() -> str:
    """The site's style sheet (``templates/site.css``)."""
    return (TEMPLATES / "site.css").read_text()


def chapter_number(stem: str) -> int:
    """The number a notebook's name starts with (``03_mobility`` -> 3), else 0."""
    match = re.match(r"(\d+)", stem)
    return int(match.group(1)) if match else 0


def notebook_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The first Markdown heading of a notebook (``fallback`` if it has none)."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def chapters(notebooks: list[Path], prefix: str = "") -> list[dict[str, Any]]:
    """Number, title and page link of each notebook's chapter, in order; ``prefix`` is
    the path from the linking page to ``html/`` (``""`` from a chapter page)."""
    return [
        {
            "stem": nb.stem,
            "number": chapter_number(nb.stem),
            "title": notebook_title(nbformat.read(nb, as_version=4), nb.stem),
            "href": f"{prefix}{nb.stem}.html",
        }
        for nb in notebooks
    ]


def chapter_banner(reports_dir: Path, stem: str, provenance: Provenance) -> tuple[str, bool]:
    """The banner of chapter ``stem`` and whether its data are synthetic: from its
    record when it has one (the World Bank chapter shows real data whatever the rest
    shows), else from ``provenance``."""
    record = read_chapters(reports_dir, [stem])
    if record:
        synthetic = record[0]["synthetic"]
        return data_banner(record[0]["data"], synthetic), synthetic
    return data_banner(provenance.label(), provenance.synthetic), provenance.synthetic


def render_page(
    executed: Path, notebooks: list[Path], provenance: Provenance, stem: str | None = None
) -> str:
    """The HTML page of the executed notebook ``executed`` (chapter ``stem``, default
    its file stem), with the navigation over ``notebooks``; the banner is the chapter's
    own (:func:`chapter_banner`, its record read from the reports folder above
    ``executed``'s folder)."""
    stem = stem or executed.stem
    text, synthetic = chapter_banner(executed.parent.parent, stem, provenance)
    entries = chapters(notebooks)
    for entry in entries:
        entry["current"] = entry["stem"] == stem
    position = next((i for i, e in enumerate(entries) if e["current"]), None)
    previous = entries[position - 1] if position else None
    following = (
        entries[position + 1] if position is not None and position + 1 < len(entries) else None
    )
    from nbconvert import HTMLExporter  # here: a second of start-up the index does not need

    node = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(
        template_name="page",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(
        node,
        resources={
            "metadata": {"name": notebook_title(node, stem)},
            "site": {
                "css": site_css(),
                "chapters": entries,
                "banner": text,
                "synthetic": synthetic,
                "previous": previous,
                "next": following,
                "notebook": f"../notebooks/{executed.name}",
            },
        },
    )
    return body


def _sidecars(folder: Path, notebooks: set[str]) -> dict[str, dict[str, Any]]:
    """The sidecars in ``folder`` of the chapters of ``notebooks``, by file stem."""
    records = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    return {k: v for k, v in records.items() if v.get("notebook") in notebooks}


def render_index(reports_dir: Path, notebooks: list[Path], notes: set[str] | None = None) -> str:
    """The landing page over the chapters of ``notebooks`` built in ``reports_dir``
    (``notes``: the stems whose page is a note about a missing input)."""
    notes = notes or set()
    entries = chapters(notebooks, prefix="html/")
    for entry in entries:
        entry["note"] = entry["stem"] in notes
    records = read_chapters(reports_dir, [nb.stem for nb in notebooks])
    built = {r["notebook"] for r in records}  # files of other runs' chapters are not listed
    tables = _sidecars(reports_dir / "tables", built)
    figures = _sidecars(reports_dir / "figures", built)

    def listing(items: dict[str, dict[str, Any]], key: str) -> list[dict[str, str]]:
        return [
            {"href": item[key], "name": f"{item['label']}", "caption": item["caption"]}
            for item in sorted(items.values(), key=lambda i: _label_key(i["label"]))
        ]

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    headline = tables.get(HEADLINE_TABLE)
    banner_text, synthetic = report_banner(records)
    return environment.get_template("index.html.j2").render(
        css=site_css(),
        chapters=entries,
        banner=banner_text,
        synthetic=synthetic,
        headline=jinja2_markup(table_html(headline, font_size="14px")) if headline else "",
        pdf=(reports_dir / "report.pdf").is_file(),
        figures=listing(figures, "png"),
        tables=listing({k: v for k, v in tables.items() if k != HEADLINE_TABLE}, "csv"),
    )


def jinja2_markup(text: str) -> Any:
    """``text`` marked safe for the template (it is HTML made here)."""
    from markupsafe import Markup

    return Markup(text)


def _label_key(label: str) -> tuple[int, ...]:
    """``Figure 3.12`` -> (3, 12): numbered items in reading order."""
    return tuple(int(n) for n in re.findall(r"\d+", label))
