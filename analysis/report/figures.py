"""Figures of the report, each drawn from an estimates table (and the published figure
beside the estimate where there is one), saved as PNG and PDF.

Examples
--------
>>> fig = premium_by_country("data/estimates")            # doctest: +SKIP
>>> save(fig, "reports/figures/premium_by_country")       # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis.realdata.common import BOK_PREMIUM_IDS
from analysis.report import style
from analysis.sources.published import load_published_figures


def save(fig: plt.Figure, stem: str | Path) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` (PDF without a creation date)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    fig.savefig(png)
    fig.savefig(pdf, metadata={"CreationDate": None})
    plt.close(fig)
    return [png, pdf]


def premium_by_country(estimates: str | Path) -> plt.Figure:
    """AI wage premium by country (percent, 95% interval) beside the BOK's figures."""
    style.apply()
    table = (
        pd.read_csv(Path(estimates) / "premium_by_country.csv")
        .dropna(subset=["premium_pct"])
        .sort_values("premium_pct")
    )
    figures = load_published_figures().set_index("id")["value"]
    fig, ax = plt.subplots()
    y = range(len(table))
    ax.errorbar(
        table["premium_pct"],
        y,
        xerr=[
            table["premium_pct"] - table["premium_conf_low"],
            table["premium_conf_high"] - table["premium_pct"],
        ],
        fmt="o",
        color=style.ESTIMATE,
        label="estimate, 95% interval",
    )
    published = table["country"].map(lambda c: figures.get(BOK_PREMIUM_IDS.get(c, ""), None))
    ax.scatter(
        published, y, marker="D", color=style.PUBLISHED, zorder=3, label="published (BOK, Dec 2025)"
    )
    ax.set_yticks(list(y), table["country"])
    ax.set_xlabel("AI wage premium over non-AI workers (%)")
    ax.set_title("AI wage premium by country, latest year")
    ax.legend(loc="best")
    return fig


def korea_premium_over_time(estimates: str | Path) -> plt.Figure:
    """Korea's AI wage premium by year with the published 2010 and 2024 values."""
    style.apply()
    table = pd.read_csv(Path(estimates) / "premium_kr_by_year.csv").dropna(subset=["premium_pct"])
    figures = load_published_figures().set_index(["id"])
    fig, ax = plt.subplots()
    ax.fill_between(
        table["year"],
        table["premium_conf_low"],
        table["premium_conf_high"],
        color=style.ESTIMATE,
        alpha=0.15,
        label="95% interval",
    )
    ax.plot(table["year"], table["premium_pct"], "o-", color=style.ESTIMATE, label="estimate")
    for fid in ("premium_kr_2010", "premium_kr_2024"):
        row = figures.loc[fid]
        ax.scatter([row["year"]], [row["value"]], marker="D", color=style.PUBLISHED, zorder=3)
    ax.scatter([], [], marker="D", color=style.PUBLISHED, label="published (BOK)")
    ax.set_xlabel("year")
    ax.set_ylabel("AI wage premium (%)")
    ax.set_title("Korea: AI wage premium over time")
    ax.legend()
    return fig
