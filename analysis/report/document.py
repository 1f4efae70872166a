"""The report as a document: numbered figures and tables with captions, sources and the
function that made them, recorded for the website and the PDF.

A chapter notebook opens a :class:`Chapter` and adds to it, in reading order:

- :meth:`Chapter.text`: prose (Markdown), written by the notebook from the numbers;
- :meth:`Chapter.figure`: a matplotlib figure, saved as PNG and PDF with the data's
  provenance printed in it, shown as a numbered ``<figure>`` with a caption and alt text;
- :meth:`Chapter.table`: a table for people (labelled columns, units, fixed decimals,
  intervals as ``[a, b]``, no index), shown with great-tables; its data are written as
  CSV (for machines) and LaTeX (for papers, the provenance in a footnote).

Every figure and table file has a JSON sidecar (``figures/<name>.json``,
``tables/<name>.json``) that states the data (synthetic or real), the function that
made it and the chapter. :meth:`Chapter.finish` writes the chapter's blocks to
``chapters/<notebook>.json``, from which :mod:`analysis.report.pdf` typesets the PDF.

Examples
--------
>>> format_interval(5.234, 7.1, 1)
'[5.2, 7.1]'
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.io import write_atomic
from analysis.report import figures as figure_files
from analysis.report import tables as table_files
from analysis.report.records import (
    CHAPTERS_DIR,
    Provenance,
    provenance_line,
    source_note,
    table_html,
)


def function_name(made_by: Callable[..., Any] | str) -> str:
    """``module.qualname`` of a function, or the text given."""
    if isinstance(made_by, str):
        return made_by
    return f"{made_by.__module__}.{made_by.__qualname__}"


def column_label(name: str) -> str:
    """A column's name as a reader's label: words for underscores, units spelled.

    >>> column_label("share_abroad_se"), column_label("premium_pct"), column_label("nobs")
    ('Share abroad (SE)', 'Premium (%)', 'Observations')
    """
    special = {"nobs": "Observations", "n": "n", "iso3": "Country"}
    if name in special:
        return special[name]
    words = name.split("_")
    unit = ""
    if words[-1] == "se" and len(words) > 1:
        words, unit = words[:-1], " (SE)"
    elif words[-1] == "pct" and len(words) > 1:
        words, unit = words[:-1], " (%)"
    text = " ".join(words)
    return text[:1].upper() + text[1:] + unit


def format_number(value: object, decimals: int) -> str:
    """``value`` with ``decimals`` decimals and thousands separators; empty if missing;
    a truth value as yes or no."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):,.{decimals}f}"
    return str(value)


def format_interval(low: object, high: object, decimals: int) -> str:
    """``[low, high]``; empty when either end is missing."""
    ends = [format_number(low, decimals), format_number(high, decimals)]
    return f"[{ends[0]}, {ends[1]}]" if all(ends) else ""


def display_frame(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    decimals: int | Mapping[str, int] = 1,
    intervals: Mapping[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """The frame a reader sees: the columns of ``columns`` (name -> label) in its order,
    numbers as text with their decimals, and each interval of ``intervals``
    (label -> (low column, high column)) as ``[a, b]``.

    Examples
    --------
    >>> frame = pd.DataFrame({"c": ["KOR"], "p": [6.04], "lo": [4.0], "hi": [8.25], "n": [12000]})
    >>> display_frame(frame, {"c": "Country", "p": "Premium (%)", "95% interval": "",
    ...                       "n": "Workers"}, intervals={"95% interval": ("lo", "hi")}
    ...               ).to_dict("records")
    [{'Country': 'KOR', 'Premium (%)': '6.0', '95% interval': '[4.0, 8.2]', 'Workers': '12,000'}]
    """
    intervals = dict(intervals or {})
    out = {}
    for name, label in columns.items():
        if name in intervals:
            low, high = intervals[name]
            places = decimals if isinstance(decimals, int) else decimals.get(low, 1)
            out[name] = [
                format_interval(a, b, places) for a, b in zip(frame[low], frame[high], strict=True)
            ]
            continue
        if name == "year" or name.endswith("_year"):  # a year, not a quantity
            out[label] = ["" if pd.isna(v) else str(int(v)) for v in frame[name].tolist()]
            continue
        places = decimals if isinstance(decimals, int) else decimals.get(name, 1)
        out[label] = [format_number(v, places) for v in frame[name].tolist()]
    return pd.DataFrame(out)


@dataclass
class Chapter:
    """One chapter of the report, built by its notebook.

    Parameters
    ----------
    number
        The chapter's number (figures and tables are numbered ``<number>.<k>``).
    title
        Its title.
    reports_dir
        The reports folder (figures go to ``figures/``, tables to ``tables/``).
    provenance
        What data the chapter shows.
    notebook
        The notebook's file stem (the chapter's record is ``chapters/<notebook>.json``).
    """

    number: int
    title: str
    reports_dir: Path
    provenance: Provenance
    notebook: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    _figures: int = 0
    _tables: int = 0

    def __post_init__(self) -> None:
        self.reports_dir = Path(self.reports_dir)

    # ------------------------------------------------------------------ content
    def text(self, markdown: str) -> None:
        """Prose, shown as Markdown and kept for the PDF."""
        self.blocks.append({"kind": "text", "markdown": markdown})
        _display_markdown(markdown)

    def heading(self, title: str) -> None:
        """A section heading."""
        self.blocks.append({"kind": "heading", "title": title})
        _display_markdown(f"## {title}")

    def figure(
        self,
        fig: plt.Figure,
        name: str,
        *,
        caption: str,
        alt: str,
        made_by: Callable[..., Any] | str,
        source: str = "",
    ) -> None:
        """Save ``fig`` as ``figures/<name>.png`` and ``.pdf`` with the provenance and
        the function printed at its foot, and show it as a numbered figure
        (``Figure <chapter>.<k>``).
        """
        if not alt.strip():
            raise ValueError(f"figure {name}: give alt text that describes it")
        self._figures += 1
        label = f"Figure {self.number}.{self._figures}"
        function = function_name(made_by)
        stamp = provenance_line(self.provenance.label(), function)
        lowest = [t.get_position()[1] for t in fig.texts if t.get_position()[1] < 0]
        y = min(lowest) - 0.04 if lowest else -0.01  # below a credit line already there
        fig.text(0.0, y, stamp, fontsize=6.5, color="0.35", ha="left", va="top")
        folder = self.reports_dir / "figures"
        figure_files.save(fig, folder / name)
        plt.close(fig)
        self._record(
            "figure", label, name, caption=caption, source=source, function=function,
            png=f"figures/{name}.png", pdf=f"figures/{name}.pdf", alt=alt,
        )  # fmt: skip
        _display_html(
            f'<figure class="report-figure" id="{html.escape(name)}">'
            f'<img src="../figures/{html.escape(name)}.png" alt="{html.escape(alt)}">'
            f"<figcaption><strong>{label}.</strong> {html.escape(caption)}"
            f"{_source_sentence(source)}</figcaption></figure>"
        )

    def table(
        self,
        frame: pd.DataFrame,
        name: str,
        *,
        caption: str,
        columns: Mapping[str, str] | None = None,
        decimals: int | Mapping[str, int] = 1,
        intervals: Mapping[str, tuple[str, str]] | None = None,
        made_by: Callable[..., Any] | str,
        notes: str = "",
        source: str = "",
        data: pd.DataFrame | None = None,
        export: bool = True,
    ) -> None:
        """Show ``frame`` as a numbered table for people and write its files.

        Parameters
        ----------
        frame
            The rows to show.
        name
            File stem: ``tables/<name>.csv`` (``data``, default ``frame``, unformatted)
            and ``tables/<name>.tex``.
        caption
            What the table shows, with units.
        columns
            Column -> label, in the order shown (default: every column, as it is named);
            an interval's label maps to ``""`` and is named in ``intervals``.
        decimals
            Decimals of every number, or by column.
        intervals
            Label -> (low column, high column): shown as ``[low, high]``.
        made_by
            The function that computed the numbers.
        notes, source
            Notes under the table; the source of published figures it shows.
        data
            What the CSV holds (default ``frame``).
        export
            Write the CSV and LaTeX files (``False``: the caller wrote them, such as a
            regression table in the economics layout).

        The table is numbered ``Table <chapter>.<k>``.
        """
        self._tables += 1
        label = f"Table {self.number}.{self._tables}"
        function = function_name(made_by)
        columns = dict(columns or {c: column_label(str(c)) for c in frame.columns})
        shown = display_frame(frame, columns, decimals=decimals, intervals=intervals)
        folder = self.reports_dir / "tables"
        footnote = provenance_line(self.provenance.label(), function)
        if export:
            table_files.export_table(
                frame if data is None else data,
                folder / name,
                caption=f"{label}. {caption}",
                notes=" ".join(part for part in (notes, footnote) if part),
            )
        record = self._record(
            "table", label, name, caption=caption, source=source, function=function,
            csv=f"tables/{name}.csv", tex=f"tables/{name}.tex", columns=list(shown.columns),
            rows=shown.to_numpy().tolist(), notes=notes,
        )  # fmt: skip
        _display_html(table_html(record))

    # ------------------------------------------------------------------ record
    def _record(self, kind: str, label: str, name: str, **fields: Any) -> dict[str, Any]:
        """Keep a figure's or table's block and write its sidecar
        (``<kind>s/<name>.json``): the fields given, the data and the chapter; the record."""
        record = {
            "kind": kind,
            "label": label,
            "name": name,
            **fields,
            "data": self.provenance.label(),
            "chapter": self.title,
            "notebook": self.notebook,
        }
        _write_json(self.reports_dir / f"{kind}s" / f"{name}.json", record)
        self.blocks.append(record)
        return record

    def finish(self) -> Path:
        """Write ``chapters/<notebook>.json``: the chapter's blocks in reading order."""
        record = {
            "number": self.number,
            "title": self.title,
            "notebook": self.notebook,
            "data": self.provenance.label(),
            "synthetic": self.provenance.synthetic,
            "blocks": self.blocks,
        }
        return _write_json(self.reports_dir / CHAPTERS_DIR / f"{self.notebook}.json", record)


def _source_sentence(source: str) -> str:
    return f" {html.escape(source_note(source))}" if source else ""


def _write_json(path: Path, content: Mapping[str, Any]) -> Path:
    text = json.dumps(content, indent=2, sort_keys=True, default=str) + "\n"
    return write_atomic(path, lambda p: p.write_text(text))


def _display_markdown(markdown: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(markdown))


def _display_html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))
