"""Tables of the report: CSV for machines, LaTeX for papers, from tidy frames.

:func:`export_table` writes any tidy frame; :func:`regression_table` lays regressions
side by side as economics papers do (coefficients with stars, standard errors in
parentheses beneath, footer rows for observations, fixed effects and clustering) and
:func:`export_regression_table` writes it with its notes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.io import write_atomic, write_frame_atomic


def export_table(
    frame: pd.DataFrame,
    stem: str | Path,
    *,
    caption: str = "",
    float_format: str = "{:.3f}",
    notes: str = "",
) -> list[Path]:
    """Write ``<stem>.csv`` and ``<stem>.tex`` atomically; ``notes`` (the data's
    provenance, for example) go under the LaTeX table."""
    stem = Path(stem)
    csv = write_frame_atomic(frame, stem.with_suffix(".csv"))
    latex = frame.to_latex(
        index=False,
        caption=caption or None,
        escape=True,
        float_format=float_format.format,
        na_rep="",
    )
    if notes:
        note = f"\\par\\footnotesize {_latex_escape(notes)}\n"
        if "\\end{table}" in latex:
            latex = latex.replace("\\end{table}", note + "\\end{table}")
        else:
            latex += note
    tex = write_atomic(stem.with_suffix(".tex"), lambda p: p.write_text(latex))
    return [csv, tex]


#: Significance thresholds and their marks, the economics convention.
STARS: tuple[tuple[float, str], ...] = ((0.01, "***"), (0.05, "**"), (0.10, "*"))


def _stars(p_value: float) -> str:
    for threshold, mark in STARS:
        if p_value < threshold:
            return mark
    return ""


def _p_values(tidy: pd.DataFrame) -> pd.Series:
    """The tidy frame's ``p_value``; else two-sided normal p-values of estimate / SE."""
    if "p_value" in tidy:
        return tidy["p_value"].astype(float)
    z = (tidy["estimate"] / tidy["std_error"]).astype(float).abs()
    return pd.Series(2 * stats.norm.sf(z), index=tidy.index)


def regression_table(
    columns: dict[str, pd.DataFrame],
    terms: dict[str, str],
    *,
    footer: dict[str, dict[str, object]] | None = None,
    digits: int = 3,
) -> pd.DataFrame:
    """Regressions side by side, in the layout of an economics paper.

    Each model is a column; each term a row with its coefficient and significance stars,
    followed by a row with its standard error in parentheses; footer rows (observations,
    fixed effects, clustering, ...) close the table. Built from tidy results (the CSVs
    the estimate stage writes, so every cell traces back to one), which is why this is
    written here rather than taken from ``pyfixest.etable`` or statsmodels'
    ``summary_col``: both need the live model objects, and the logit AMEs and the
    compressed estimator are not theirs.

    Parameters
    ----------
    columns
        ``{column title: tidy frame}``; a tidy frame has ``term``, ``estimate``,
        ``std_error`` and, if available, ``p_value`` (else a normal p-value is used).
    terms
        ``{term: row label}``, in display order; a term a model lacks is left blank.
    footer
        ``{row label: {column title: value}}``; integers are printed with thousands
        separators.
    digits
        Decimals of coefficients and standard errors.

    Examples
    --------
    >>> tidy = pd.DataFrame({"term": ["ai"], "estimate": [0.0583], "std_error": [0.0121],
    ...                      "p_value": [0.0001]})
    >>> regression_table({"(1) Korea": tidy}, {"ai": "AI-skilled"},
    ...                  footer={"Observations": {"(1) Korea": 41230}})
    ...                  # doctest: +NORMALIZE_WHITESPACE
                     (1) Korea
    AI-skilled        0.058***
                       (0.012)
    Observations        41,230
    """
    index: list[str] = []
    body: dict[str, list[str]] = {title: [] for title in columns}
    for term, label in terms.items():
        index += [label, ""]
        for title, tidy in columns.items():
            rows = tidy[tidy["term"] == term]
            if rows.empty:
                body[title] += ["", ""]
                continue
            row = rows.iloc[0]
            p = float(_p_values(rows).iloc[0])
            body[title] += [
                f"{row['estimate']:.{digits}f}{_stars(p)}",
                f"({row['std_error']:.{digits}f})",
            ]
    for label, values in (footer or {}).items():
        index.append(label)
        for title in columns:
            value = values.get(title, "")
            is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
            body[title].append(f"{value:,}" if is_int else str(value))
    return pd.DataFrame(body, index=pd.Index(index))


def columns_by_group(
    frame: pd.DataFrame, by: str, term: str, *, prefix_numbers: bool = True
) -> dict[str, pd.DataFrame]:
    """Split a by-group results table (one row per group, e.g. ``premium_by_country.csv``)
    into ``{column title: tidy frame}`` for :func:`regression_table`, the row's estimate
    becoming ``term``. Titles are numbered ``(1) KOR``, ``(2) USA``, ... unless
    ``prefix_numbers`` is false."""
    out = {}
    for i, (_, row) in enumerate(frame.iterrows(), start=1):
        title = f"({i}) {row[by]}" if prefix_numbers else str(row[by])
        out[title] = pd.DataFrame([row]).assign(term=term)
    return out


def export_regression_table(
    table: pd.DataFrame, stem: str | Path, *, caption: str, notes: str = ""
) -> list[Path]:
    """Write a :func:`regression_table` as ``<stem>.csv`` and a booktabs ``<stem>.tex``
    whose notes state the standard errors and the significance marks."""
    stem = Path(stem)
    csv = write_frame_atomic(table.reset_index(names="row"), stem.with_suffix(".csv"))
    marks = ", ".join(f"{mark} p < {threshold:g}" for threshold, mark in reversed(STARS))
    note = " ".join(part for part in (notes, f"Standard errors in parentheses; {marks}.") if part)
    n_terms = len(table.index) - table.index.tolist()[::-1].index("") if "" in table.index else 0
    body = table.to_latex(escape=True, column_format="l" + "c" * table.shape[1])
    lines = body.splitlines()
    if n_terms:  # a rule between the coefficients and the footer rows
        lines.insert(lines.index("\\midrule") + 1 + n_terms, "\\midrule")
    latex = (
        "\\begin{table}[htbp]\n\\centering\n"
        f"\\caption{{{_latex_escape(caption)}}}\n"
        + "\n".join(lines)
        + f"\n\\par\\vspace{{2pt}}{{\\footnotesize {_latex_escape(note)}}}\n\\end{{table}}\n"
    )
    tex = write_atomic(stem.with_suffix(".tex"), lambda p: p.write_text(latex))
    return [csv, tex]


def _latex_escape(text: str) -> str:
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_")):
        text = text.replace(char, repl)
    for char in "#$":
        text = text.replace(char, "\\" + char)
    return text
