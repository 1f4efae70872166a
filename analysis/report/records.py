"""What the report's chapters record, read without the plotting and table libraries.

The chapter notebooks write their records through :mod:`analysis.report.document`; the
website (:mod:`analysis.report.site`), the PDF (:mod:`analysis.report.pdf`) and the page
runner read them through this module, which imports nothing heavier than the standard
library, so that a process building the index does not pay for matplotlib and SciPy.

Examples
--------
>>> Provenance("synthetic", seed=3, scale=0.3).label()
'Synthetic data (calibrated synthetic world, seed 3, scale 0.3), not real Revelio data'
>>> source_note("Source: World Bank.")
'Source: World Bank.'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.output_set import ESTIMATES_MANIFEST

#: Folder of the chapters' records, inside the reports folder.
CHAPTERS_DIR = "chapters"


@dataclass(frozen=True)
class Provenance:
    """What data a report shows: ``synthetic`` (with the world's seed and scale) or
    ``real`` (with the checksum of the panel it was estimated from)."""

    data_kind: str
    seed: int | None = None
    scale: float | None = None
    checksum: str | None = None

    @classmethod
    def from_estimates(cls, estimates_dir: str | Path) -> Provenance:
        """The provenance the estimates manifest records."""
        manifest = json.loads((Path(estimates_dir) / ESTIMATES_MANIFEST).read_text())
        synthetic = bool(manifest.get("synthetic"))
        return cls(
            "synthetic" if synthetic else "real",
            seed=manifest.get("seed"),
            scale=manifest.get("scale"),
            checksum=None if synthetic else manifest.get("panel_sha256"),
        )

    @property
    def synthetic(self) -> bool:
        return self.data_kind == "synthetic"

    def label(self) -> str:
        """One line for a figure's foot, a table's source note or a banner."""
        if self.synthetic:
            settings = ", ".join(
                part
                for part in (
                    f"seed {self.seed}" if self.seed is not None else "",
                    f"scale {self.scale:g}" if self.scale is not None else "",
                )
                if part
            )
            inside = f"calibrated synthetic world, {settings}" if settings else "calibrated"
            return f"Synthetic data ({inside}), not real Revelio data"
        if self.data_kind == "worldbank":
            return (
                "Real data: World Bank Group-LinkedIn Digital Data for Development, Talent "
                "Migration (CC BY 3.0 IGO)"
            )
        if self.data_kind == "real":
            digest = f" (panel sha256 {self.checksum[:12]})" if self.checksum else ""
            return f"Real Revelio Labs data{digest}"
        return f"{self.data_kind.capitalize()} data"


def source_note(source: str) -> str:
    """``Source: <source>.``, once (a credit line may already start with it)."""
    text = source.strip().removeprefix("Source:").strip().rstrip(".")
    return f"Source: {text}." if text else ""


def read_chapters(reports_dir: str | Path, notebooks: Sequence[str]) -> list[dict[str, Any]]:
    """The records of the chapters built from ``notebooks`` (stems), in their order; a
    notebook without a record (a page that is a note) is left out."""
    folder = Path(reports_dir) / CHAPTERS_DIR
    records = []
    for stem in notebooks:
        path = folder / f"{stem}.json"
        if path.is_file():
            records.append(json.loads(path.read_text()))
    return records


def provenance_line(data: str, function: str) -> str:
    """The provenance line of a figure or table: its data and the function that made it."""
    return f"{data}. Made by {function}."


def provenance_note(record: dict[str, Any]) -> str:
    """:func:`provenance_line` of a figure's or table's record."""
    return provenance_line(record["data"], record["function"])


def table_html(record: dict[str, Any], font_size: str = "13px") -> str:
    """A table record in great-tables' HTML: its number and caption as the title, the
    formatted rows under their labels, then its notes, source and provenance."""
    import pandas as pd
    from great_tables import GT

    frame = pd.DataFrame(record["rows"], columns=record["columns"])
    table = GT(frame).tab_header(title=f"{record['label']}. {record['caption']}")
    notes = (record.get("notes") or "", source_note(record.get("source") or ""))
    for note in (*notes, provenance_note(record)):
        if note:
            table = table.tab_source_note(note)
    table = table.tab_options(table_font_size=font_size, table_width="100%")
    return f'<div class="report-table">{table.as_raw_html()}</div>'


#: What a statement of synthetic data adds, so that no number is read as a finding.
SYNTHETIC_CAVEAT: str = "The numbers illustrate the method; they are not findings about Korea."


def data_banner(data: str, synthetic: bool) -> str:
    """``Data shown: <data>.``, with :data:`SYNTHETIC_CAVEAT` for synthetic data.

    >>> data_banner("Real Revelio Labs data", False)
    'Data shown: Real Revelio Labs data.'
    """
    return f"Data shown: {data}." + (f" {SYNTHETIC_CAVEAT}" if synthetic else "")


def report_banner(records: Sequence[dict[str, Any]]) -> tuple[str, bool]:
    """The banner of the whole report over the chapter ``records``, and whether any
    chapter shows synthetic data: the first chapter's data, and a sentence for each
    chapter that shows other data."""
    if not records:
        return data_banner("the data of the pipeline's run", False), False
    data, synthetic = records[0]["data"], any(r["synthetic"] for r in records)
    others = "".join(
        f" Chapter {r['number']} shows other data: {r['data']}."
        for r in records
        if r["data"] != data
    )
    return data_banner(data, synthetic) + others, synthetic
