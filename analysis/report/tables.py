"""Tables of the report: CSV for machines, LaTeX for papers, from tidy frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.io import write_atomic, write_frame_atomic


def export_table(
    frame: pd.DataFrame, stem: str | Path, *, caption: str = "", float_format: str = "{:.3f}"
) -> list[Path]:
    """Write ``<stem>.csv`` and ``<stem>.tex`` atomically."""
    stem = Path(stem)
    csv = write_frame_atomic(frame, stem.with_suffix(".csv"))
    latex = frame.to_latex(
        index=False,
        caption=caption or None,
        escape=True,
        float_format=float_format.format,
        na_rep="",
    )
    tex = write_atomic(stem.with_suffix(".tex"), lambda p: p.write_text(latex))
    return [csv, tex]
