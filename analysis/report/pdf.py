"""The replication report as a PDF, typeset offline by Typst from the chapters' records.

:func:`write_pdf` reads ``chapters/<notebook>.json`` (written by
:class:`analysis.report.document.Chapter` as each notebook runs) and writes
``report.typ`` and ``report.pdf`` in the reports folder: a title page with the data
statement and the headline table, a table of contents, then every chapter's prose,
numbered figures (the PNG files the website shows) and tables, in the same order and
with the same captions, sources and provenance as the pages.

Typst rather than LaTeX or Quarto: the ``typst`` wheel from the package index compiles
offline with its fonts embedded in the binary, so CI needs nothing outside the lock
file; Quarto's wheel downloads a binary when it is installed, and a LaTeX distribution
is a large system install. The chapters' prose is Markdown; Typst has no offline
Markdown reader (the ``cmarker`` package is fetched from its registry at compile time),
so :func:`markdown_to_typst` converts the small subset the chapters write.

Examples
--------
>>> print(markdown_to_typst("## Flows\\n\\nKorea **loses** 1.5% a year (`flows`); see [BOK](https://bok.or.kr)."))
== Flows
<BLANKLINE>
Korea *loses* 1.5% a year (`flows`); see #link("https://bok.or.kr")[BOK].
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.io import write_atomic
from analysis.report.records import (
    provenance_note,
    read_chapters,
    report_banner,
    source_note,
)
from analysis.report.site import HEADLINE_TABLE

#: Characters with a meaning in Typst markup, escaped in plain text.
SPECIAL = re.compile(r"([\\#$*_@<>\[\]~`/])")
#: Inline Markdown the chapters use: code, bold, italics, links.
INLINE = re.compile(
    r"(?P<code>`[^`]+`)|\*\*(?P<bold>.+?)\*\*|(?<![\w*])[*_](?P<italic>[^*_]+?)[*_](?![\w*])"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>[^)]+)\)"
)


def typst_text(text: str) -> str:
    """Plain text as Typst markup: every special character escaped, and a line that
    would start a heading, a list or a numbered item made to start plainly."""
    escaped = SPECIAL.sub(r"\\\1", text)
    escaped = re.sub(r"(?m)^(\s*)([=+\-]+)(?=\s|$)", r"\1\\\2", escaped)
    return re.sub(r"(?m)^(\s*\d+)\.(?=\s|$)", r"\1\\.", escaped)


def typst_string(text: str) -> str:
    """``text`` as a Typst string literal."""
    return json.dumps(text)


def _inline(text: str) -> str:
    out, position = [], 0
    for match in INLINE.finditer(text):
        out.append(typst_text(text[position : match.start()]))
        if match["code"]:
            out.append(match["code"])
        elif match["bold"]:
            out.append(f"*{_inline(match['bold'])}*")
        elif match["italic"]:
            out.append(f"_{_inline(match['italic'])}_")
        else:
            out.append(f"#link({typst_string(match['url'])})[{typst_text(match['text'])}]")
        position = match.end()
    out.append(typst_text(text[position:]))
    return "".join(out)


def markdown_to_typst(markdown: str) -> str:
    """The chapters' Markdown as Typst markup: headings, paragraphs, bullet lists and
    inline code, bold, italics and links."""
    lines = []
    for line in markdown.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        bullet = re.match(r"^(\s*)[-*]\s+(.*)$", line)
        if heading:
            lines.append("=" * len(heading[1]) + " " + _inline(heading[2]))
        elif bullet:
            lines.append(f"{bullet[1]}- {_inline(bullet[2])}")
        else:
            lines.append(_inline(line))
    return "\n".join(lines)


def _cell(text: object) -> str:
    """A table cell; a long name may break after its underscores (a zero-width space),
    so that a wide table keeps its columns apart."""
    return "[" + typst_text(str(text)).replace("\\_", "\\_\u200b") + "]"


def table_typst(record: dict[str, Any], size: str | None = None) -> str:
    """A table record as a Typst figure: header row, body, notes, source, provenance
    (``size``: of its text; by default smaller for a table of more than eight columns)."""
    columns = record["columns"]
    size = size or ("6.5pt" if len(columns) > 8 else "7.5pt")
    align = ", ".join("left" if i == 0 else "right" for i in range(len(columns)))
    header = ", ".join(f"[*{_cell(c)[1:-1]}*]" for c in columns)
    body = ",\n    ".join(", ".join(_cell(v) for v in row) for row in record["rows"])
    notes = [
        record.get("notes") or "",
        source_note(record.get("source") or ""),
        provenance_note(record),
    ]
    below = " ".join(typst_text(n) for n in notes if n)
    return (
        f"#figure(kind: table, supplement: none, numbering: none,\n"
        f"  caption: [*{typst_text(record['label'])}.* {typst_text(record['caption'])}],\n"
        f"  text(size: {size})[#table(columns: {len(columns)}, align: ({align},),\n"
        f"    stroke: none, table.hline(), table.header({header}), table.hline(),\n"
        f"    {body},\n    table.hline())\n"
        f"  #align(left)[#text(size: 7pt)[{below}]]])\n"
    )


def figure_typst(record: dict[str, Any]) -> str:
    """A figure record as a Typst figure: the PNG, its caption and source."""
    source = " " + source_note(record["source"]) if record.get("source") else ""
    return (
        f"#figure(supplement: none, numbering: none,\n"
        f"  image({typst_string(record['png'])}, width: 100%,\n"
        f"    alt: {typst_string(record['alt'])}),\n"
        f"  caption: [*{typst_text(record['label'])}.* {typst_text(record['caption'] + source)}])\n"
    )


def chapter_typst(record: dict[str, Any]) -> str:
    """One chapter: its title, then its blocks in reading order."""
    parts = [f"= {typst_text(record['title'])}\n"]
    for block in record["blocks"]:
        kind = block["kind"]
        if kind == "text":
            parts.append(markdown_to_typst(block["markdown"]) + "\n")
        elif kind == "heading":
            parts.append(f"== {typst_text(block['title'])}\n")
        elif kind == "figure":
            parts.append(figure_typst(block))
        elif kind == "table":
            parts.append(table_typst(block))
    return "\n".join(parts)


def report_typst(records: Sequence[dict[str, Any]], headline: dict[str, Any] | None) -> str:
    """The whole report's Typst source over the chapter ``records``."""
    statement = report_banner(records)[0].removeprefix("Data shown: ")
    title = [
        '#set document(title: "AI wage premium and AI-talent mobility in Korea", '
        'author: "kr-ai-talent")',
        '#set page(paper: "a4", margin: (x: 2cm, y: 2.2cm), numbering: "1")',
        '#set text(size: 10pt, lang: "en")',
        "#set par(justify: true)",
        "#set heading(numbering: none)",
        "#show figure: set block(breakable: true)",
        "#show figure.where(kind: table): set figure.caption(position: top)",
        "#show heading.where(level: 1): it => { pagebreak(weak: true); it }",
        '#align(center)[#text(size: 20pt, weight: "bold")[AI wage premium and AI-talent '
        "mobility in Korea]]",
        "#align(center)[#text(size: 12pt)[A replication and extension of the Bank of Korea's "
        "note of December 2025]]",
        "#v(1em)",
        f'#block(fill: rgb("#fff4d6"), stroke: rgb("#e9c46a"), inset: 8pt, radius: 3pt, '
        f"width: 100%)[*Data shown:* {typst_text(statement)}]",
        "#v(1em)",
    ]
    if headline is not None:
        title += ["== Headline findings", table_typst(headline, size="8.5pt")]
    title += ["#outline(depth: 2)"]
    return "\n".join(title) + "\n\n" + "\n".join(chapter_typst(r) for r in records)


def write_pdf(reports_dir: str | Path, notebooks: Sequence[str]) -> Path:
    """Typeset ``report.pdf`` (and its source ``report.typ``) in ``reports_dir`` from the
    records of the chapters of ``notebooks`` (file stems), atomically."""
    import typst

    reports_dir = Path(reports_dir).resolve()
    records = read_chapters(reports_dir, notebooks)
    headline_file = reports_dir / "tables" / f"{HEADLINE_TABLE}.json"
    headline = json.loads(headline_file.read_text()) if headline_file.is_file() else None
    source = write_atomic(
        reports_dir / "report.typ",
        lambda p: p.write_text(report_typst(records, headline)),
        suffix=".typ",
    )
    return write_atomic(
        reports_dir / "report.pdf",
        lambda p: typst.compile(str(source), output=str(p), root=str(reports_dir)),
        suffix=".pdf",
    )
