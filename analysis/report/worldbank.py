"""The World Bank-LinkedIn page of the report: its figures, its tables and its notes.

The analyses run in the ``worldbank`` stage (:mod:`analysis.realdata.stage`), which
writes their tables as CSVs; this module turns those tables into what
``notebooks/05_world_bank.ipynb`` shows and saves (figures and tables prefixed
``worldbank_``), and writes the note that replaces the page when the stage found no
usable workbook (:func:`unavailable_note`).

Every figure carries the credit the licence asks for (CC BY 3.0 IGO: LinkedIn Corporation
and the World Bank).

Examples
--------
>>> import pandas as pd
>>> tables = read_tables("data/worldbank")                          # doctest: +SKIP
>>> fig = korea_ai_migration_figure(tables["korea_ai_net_migration"],
...                                 tables["korea_ai_agreement"])   # doctest: +SKIP
>>> unavailable_note("WorkbookNotFoundError", "not found at /x.xlsx").startswith("**Data")
True
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import config
from analysis.output_set import WORLDBANK_MANIFEST
from analysis.realdata.common import COUNTRY_VALUE
from analysis.realdata.compensation import MIGRATION, PREMIUM
from analysis.realdata.korea import AI_INDEX, BOK, WORLDBANK
from analysis.realdata.skills import TERM
from analysis.realdata.talent_migration import partner_means
from analysis.report import style
from analysis.sources.worldbank import CATALOG, FILENAME, LICENCE, SHA256, default_path

__all__ = [
    "CREDIT",
    "ai_placebo_figure",
    "ai_placebo_table",
    "ai_vs_other_skills_table",
    "compensation_mobility_figure",
    "compensation_mobility_table",
    "data_shown",
    "gravity_table",
    "korea_ai_migration_figure",
    "korea_ai_migration_table",
    "korea_bilateral_figure",
    "korea_bilateral_table",
    "read_tables",
    "unavailable_note",
]

CREDIT: str = (
    "Source: World Bank Group-LinkedIn, Digital Data for Development: Talent Migration "
    "2015-2019 (CC BY 3.0 IGO; LinkedIn Corporation and the World Bank)"
)
"""Credit line printed under every figure and appended to every table caption."""

_OTHER = "#9aa5b1"  # grey for the countries that are not Korea
_GAIN = "#6f9fd8"  # light blue for net inflows (dark blue, the estimate colour: outflows)
_MARKERS = {-1: "v", 0: "o", 1: "^"}
_SHORT = {
    WORLDBANK: "World Bank-LinkedIn",
    AI_INDEX: "AI Index (LinkedIn)",
    BOK: "BOK (Revelio Labs)",
}


# --------------------------------------------------------------------------- inputs
def read_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The worldbank stage's tables in ``folder``, by name (the manifest's files)."""
    manifest = json.loads((Path(folder) / WORLDBANK_MANIFEST).read_text())
    return {
        Path(name).stem: pd.read_csv(Path(folder) / name, float_precision="round_trip")
        for name in sorted(manifest["outputs"])
    }


_PROBLEMS: dict[str, str] = {
    "WorkbookNotFoundError": "There is no workbook where the report looked.",
    "ChecksumMismatchError": (
        "A file was found, but it is not the release this package was written against "
        "(its SHA-256 differs)."
    ),
}


def _md(text: str) -> str:
    """``text`` safe inside Markdown (no HTML, no emphasis from underscores in paths)."""
    text = html.escape(text, quote=False)
    for char in ("\\", "`", "*", "_", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text


def unavailable_note(kind: str, message: str) -> str:
    """The Markdown note that replaces the World Bank page when the worldbank stage found
    no usable workbook (its manifest's ``unavailable`` entry).

    Parameters
    ----------
    kind
        Class name of the loader's error (``WorkbookNotFoundError``,
        ``ChecksumMismatchError``, ...); it picks the plain-language summary and is not
        shown itself.
    message
        The error's message (where the report looked, and what it found).

    Returns
    -------
    str
        What is missing, how to download the file, where to put it and how to rebuild.
    """
    problem = _PROBLEMS.get(kind, "The workbook was found but could not be read.")
    env = config.WORLDBANK_ENV_VAR
    return "\n".join(
        [
            "**Data shown: none. The World Bank-LinkedIn talent-migration workbook is not "
            "available, so this page was not built.** The other pages of the report do not "
            "use the file and were built as usual.",
            "",
            f"**What is missing.** {problem} The loader reported: {_md(message)}",
            "",
            "**How to get the file.**",
            "",
            f"1. Download `{FILENAME}` (World Bank Group-LinkedIn, 2015-2019) from the "
            f"{_md(CATALOG)}. Licence {LICENCE}: attribute LinkedIn Corporation and the World "
            "Bank. Do not commit a copy to the repository.",
            f"2. Check that its SHA-256 is `{SHA256}` (`sha256sum {FILENAME}`).",
            "3. Put it where the worldbank stage looks, one of:",
            f"    - the default location `{default_path()}`;",
            f"    - anywhere, named by the environment variable `{env}` "
            f"(`export {env}=/path/to/{FILENAME}`);",
            f"    - anywhere, given to the stage: `python -m analysis worldbank "
            f"--workbook /path/to/{FILENAME}` (in Python: "
            "`analysis.realdata.stage.run_worldbank(out, workbook)`).",
            "4. Run the stage and build the reports again: `make all` (or `python -m "
            "analysis worldbank`, then `python -m analysis report`).",
        ]
    )


# --------------------------------------------------------------------------- text
def data_shown(manifest: dict[str, Any], pipeline_kind: str = "") -> str:
    """The first cell's Markdown: what data the page shows, its licence and provenance.

    Parameters
    ----------
    manifest
        The worldbank stage's manifest (the workbook's name, checksum, years, licence).
    pipeline_kind
        The kind of data the *other* pages show (``synthetic`` or ``real``), to say that
        this page does not use it.
    """
    book = manifest["workbook"]
    others = (
        f" It does not use the {pipeline_kind} Revelio-layout data of the other pages."
        if pipeline_kind
        else ""
    )
    check = "matches" if book["verified"] else "was not checked against"
    years = f"{min(book['years'])}-{max(book['years'])}"
    return (
        '**Data shown: real (World Bank-LinkedIn "Digital Data for Development: Talent '
        f'Migration", {years}, public LinkedIn aggregates)**, beside published figures '
        f"(Bank of Korea, Stanford AI Index) from the registry.{others}\n\n"
        f"Attribution: {_md(manifest['attribution'])}. Licence {manifest['licence']}: the "
        "figures and tables of this page credit LinkedIn Corporation and the World Bank. "
        f"Downloaded from the {_md(manifest['source'])}.\n\n"
        f"File read: `{book['file']}`; its SHA-256 `{book['sha256'][:16]}...` {check} the "
        "release this package was written against."
    )


def _credit(fig: plt.Figure) -> None:
    fig.text(0.01, -0.02, CREDIT, fontsize=6.5, color="#555555", ha="left", va="top")


# --------------------------------------------------------------------------- Korea
def korea_ai_migration_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per year and source: value, unit, direction and whether the signs agree
    (from the stage's ``korea_ai_net_migration`` table)."""
    columns = ["year", "source", "value", "unit", "direction", "agrees_with_other_sources"]
    table = table[columns].copy()
    table["source"] = table["source"].map(_SHORT).fillna(table["source"])
    return table.sort_values(["year", "source"], ignore_index=True)


def korea_ai_migration_figure(table: pd.DataFrame, agreement: pd.DataFrame) -> plt.Figure:
    """Korea's AI net migration by year (World Bank-LinkedIn) above a strip of directions.

    Top: the workbook's values, per 10,000 LinkedIn members in Korea holding AI skills.
    Bottom: the direction each source gives, year by year (down: net outflow, up: net
    inflow), with the Stanford AI Index values written beside its markers (their unit,
    per 10,000 of *all* members, is not the workbook's); years where the sources'
    signs disagree are shaded. ``table`` and ``agreement`` are the stage's
    ``korea_ai_net_migration`` and ``korea_ai_agreement`` tables.
    """
    style.apply()
    fig, (top, strip) = plt.subplots(
        2, 1, sharex=True, figsize=(7.0, 5.0), gridspec_kw={"height_ratios": [3, 1.4]}
    )
    wb = table[table["source"] == WORLDBANK]
    colours = np.where(wb["value"] < 0, style.ESTIMATE, _GAIN)
    top.bar(wb["year"], wb["value"], color=colours, width=0.6)
    for year, value in zip(wb["year"], wb["value"], strict=True):
        top.annotate(
            f"{value:.1f}",
            (year, value),
            xytext=(0, 3 if value >= 0 else -3),
            textcoords="offset points",
            ha="center",
            va="bottom" if value >= 0 else "top",
            fontsize=8,
        )
    top.axhline(0, color="black", lw=0.8)
    top.set_ylabel("net migration, per 10,000\nLinkedIn members with AI skills")
    top.set_title("Korea: net migration of AI-skilled LinkedIn members")
    top.margins(y=0.15)

    sources = [WORLDBANK, AI_INDEX, BOK]
    for row, source in enumerate(sources):
        part = table[table["source"] == source]
        colour = style.ESTIMATE if source == WORLDBANK else style.PUBLISHED
        for sign, marker in _MARKERS.items():
            pts = part[part["sign"] == sign]
            strip.scatter(pts["year"], [row] * len(pts), marker=marker, color=colour, s=42)
        if source == AI_INDEX:
            for year, value in zip(part["year"], part["value"], strict=True):
                strip.annotate(
                    f"{value:+.2f}",
                    (year, row),
                    xytext=(0, 7),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                )
    for year in agreement.loc[~agreement["agree"].astype(bool), "year"]:
        for ax in (top, strip):
            ax.axvspan(year - 0.5, year + 0.5, color=style.PUBLISHED, alpha=0.08, lw=0)
    strip.set_yticks(range(len(sources)), [_SHORT[s] for s in sources], fontsize=8)
    strip.set_ylim(-0.6, len(sources) - 0.2)
    strip.grid(False, axis="y")
    strip.set_xlabel("year")
    years = table["year"]
    strip.set_xticks(range(int(years.min()), int(years.max()) + 1, 2))
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=style.ESTIMATE, label="World Bank-LinkedIn, AI skills"),
        plt.Line2D([], [], ls="", marker="v", color="black", label="net outflow"),
        plt.Line2D([], [], ls="", marker="^", color="black", label="net inflow"),
        plt.Line2D(
            [], [], ls="", marker="s", color=style.PUBLISHED, label="published (BOK, AI Index)"
        ),
        plt.Rectangle((0, 0), 1, 1, color=style.PUBLISHED, alpha=0.15, label="signs disagree"),
    ]
    top.legend(handles=handles, loc="lower right", fontsize=7)
    strip.set_title(
        "direction by source (AI Index: per 10,000 of all LinkedIn members)", fontsize=8
    )
    _credit(fig)
    return fig


# --------------------------------------------------------------------------- skills
#: The columns of a coefficient table, in the order the pages show them.
COEFFICIENT_COLUMNS: tuple[str, ...] = (
    "model",
    "term",
    "estimate",
    "std_error",
    "p_value",
    "conf_low",
    "conf_high",
    "nobs",
    "vcov",
)


def ai_vs_other_skills_table(tidy: pd.DataFrame) -> pd.DataFrame:
    """The Korea x AI coefficient under each clustering, with the placebo p-value (from
    the stage's ``ai_vs_other_skills`` table)."""
    return tidy[[*COEFFICIENT_COLUMNS, "ri_p_value", "ri_countries"]]


def ai_placebo_table(placebo: pd.DataFrame) -> pd.DataFrame:
    """Every country's AI x country coefficient (the placebo distribution), smallest first."""
    return placebo[["iso3", "estimate", "abs_rank", "is_target"]].reset_index(drop=True)


def ai_placebo_figure(placebo: pd.DataFrame, tidy: pd.DataFrame) -> plt.Figure:
    """Korea's AI coefficient among the same coefficient for every country.

    Each point is one country's ``country x AI`` difference in differences (net migrants
    per 10,000 skill holders, country-year and skill-year fixed effects); Korea's is
    marked with its 95% interval clustered by country. The randomization p-value is the
    share of countries at least as far from zero. ``placebo`` and ``tidy`` are the
    stage's ``ai_vs_other_skills_placebo`` and ``ai_vs_other_skills`` tables (the first
    model of ``tidy`` is the headline).
    """
    style.apply()
    placebo = placebo.sort_values("estimate", ignore_index=True)
    is_target = placebo["is_target"].astype(bool)
    target = placebo[is_target]
    fig, ax = plt.subplots()
    others = placebo[~is_target]
    ax.scatter(others.index, others["estimate"], color=_OTHER, s=16, label="other countries")
    main = tidy[tidy["term"] == TERM].iloc[0]
    b, se, ri_p_value = float(main["estimate"]), float(main["std_error"]), main["ri_p_value"]
    ax.errorbar(
        target.index,
        target["estimate"],
        yerr=1.96 * se,
        fmt="o",
        color=style.ESTIMATE,
        capsize=3,
        label=f"{target['iso3'].item()}, 95% interval (clustered by country)",
    )
    ax.annotate(
        target["iso3"].item(),
        (target.index[0], b),
        xytext=(6, -4),
        textcoords="offset points",
        color=style.ESTIMATE,
        fontsize=8,
    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks([])
    ax.set_xlabel(f"countries with the AI skill group, by coefficient (n = {len(placebo)})")
    ax.set_ylabel("AI minus other skills, relative to\nother countries (net per 10,000 holders)")
    ax.set_title(
        f"AI vs other skills: {target['iso3'].item()} among {len(placebo)} countries "
        f"(placebo p = {ri_p_value:.2f})"
    )
    ax.legend(loc="upper left", fontsize=8)
    _credit(fig)
    return fig


# --------------------------------------------------------------------------- compensation
def compensation_mobility_table(points: pd.DataFrame) -> pd.DataFrame:
    """The six points: published premium, net AI migration, fit and leave-one-out slope
    (from the stage's ``compensation_mobility_points`` table)."""
    columns = [
        "iso3",
        "country_name",
        PREMIUM,
        "premium_figure_id",
        MIGRATION,
        "n_years",
        "fitted",
        "residual",
        "slope_without",
    ]
    return points[columns].reset_index(drop=True)


def compensation_mobility_figure(points: pd.DataFrame, tests: pd.DataFrame) -> plt.Figure:
    """Net AI migration against the published AI wage premium, six countries, OLS line.

    ``points`` and ``tests`` are the stage's ``compensation_mobility_points`` and
    ``compensation_mobility_tests`` tables.
    """
    style.apply()
    fit = tests.iloc[0]
    slope = float(fit["slope"])
    fig, ax = plt.subplots()
    ax.scatter(points[PREMIUM], points[MIGRATION], color=style.ESTIMATE, s=36, zorder=3)
    for row in points.itertuples(index=False):
        ax.annotate(
            row.iso3,
            (getattr(row, PREMIUM), getattr(row, MIGRATION)),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=8,
        )
    grid = np.linspace(points[PREMIUM].min() - 1, points[PREMIUM].max() + 1, 50)
    ax.plot(grid, float(fit["intercept"]) + slope * grid, color=style.PUBLISHED, label="OLS fit")
    ax.axhline(0, color="black", lw=0.8)
    tests_text = (
        f"slope {slope:.1f} per point of premium\n"
        f"permutation p = {fit['permutation_p']:.2f} ({int(fit['permutations'])} permutations)\n"
        f"wild bootstrap p = {fit['wild_bootstrap_p']:.2f} ({int(fit['sign_vectors'])} sign "
        "vectors)"
    )
    ax.text(0.02, 0.97, tests_text, transform=ax.transAxes, va="top", fontsize=8)
    ax.set_xlabel("AI wage premium, published by the BOK (Dec 2025, about 2024) (%)")
    ax.set_ylabel(f"net AI migration, {fit['measure']}\n(per 10,000 AI-skill holders)")
    ax.set_title(f"Pay and AI talent flows: {int(fit['countries'])} countries")
    ax.legend(loc="lower right")
    _credit(fig)
    return fig


# --------------------------------------------------------------------------- bilateral
def korea_bilateral_table(table: pd.DataFrame) -> pd.DataFrame:
    """Korea's main partners, one row each, years as columns (from ``korea_bilateral``).

    Values are Korea's net gain from the partner per 10,000 Korean LinkedIn members
    (negative: Korea loses members to the partner, on net).
    """
    keys = ["rank", "partner_iso3", "partner_name", "partner_income_group", "distance_km"]
    wide = table.pivot_table(index=keys, columns="year", values=COUNTRY_VALUE, observed=True)
    wide.columns = [str(c) for c in wide.columns]
    means = partner_means(table)[["partner_iso3", "mean"]]
    wide = wide.reset_index().merge(means, on="partner_iso3", how="left", validate="1:1")
    wide["partner_income_group"] = wide["partner_income_group"].astype(str)
    wide["distance_km"] = wide["distance_km"].round(0).astype("int64")
    return wide.sort_values("rank", ignore_index=True)


def korea_bilateral_figure(table: pd.DataFrame) -> plt.Figure:
    """Korea's net gain from each main partner: mean over the years and each year."""
    style.apply()
    wide = korea_bilateral_table(table).iloc[::-1].reset_index(drop=True)
    years = [c for c in wide.columns if c.isdigit()]
    fig, ax = plt.subplots()
    colours = np.where(wide["mean"] < 0, style.ESTIMATE, _GAIN)
    ax.barh(wide.index, wide["mean"], color=colours, alpha=0.8)
    for year in years:
        ax.scatter(wide[year], wide.index, s=9, color="black", alpha=0.45, zorder=3)
    span = f"{years[0]}-{years[-1]}"
    handles = [
        plt.Rectangle(
            (0, 0), 1, 1, color=style.ESTIMATE, alpha=0.8, label=f"mean {span}: Korea loses"
        ),
        plt.Rectangle((0, 0), 1, 1, color=_GAIN, alpha=0.8, label=f"mean {span}: Korea gains"),
        plt.Line2D(
            [], [], ls="", marker="o", ms=3, color="black", alpha=0.45, label="single years"
        ),
    ]
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(wide.index, wide["partner_name"], fontsize=8)
    ax.set_xlabel("Korea's net gain from the partner (per 10,000 Korean LinkedIn members)")
    ax.set_title("Korea's main talent partners, all skills")
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    _credit(fig)
    return fig


def gravity_table(tidy: pd.DataFrame) -> pd.DataFrame:
    """Every gravity model's coefficients (model, term, estimate, SE, p, interval, vcov),
    from the stage's ``gravity_bilateral`` table."""
    return tidy[list(COEFFICIENT_COLUMNS)]
