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

from analysis.config import FOCAL_COUNTRY
from analysis.io import write_atomic
from analysis.report import style
from analysis.sources.published import BOK_PREMIUM_IDS, load_published_figures, parse_year_pattern


def save(fig: plt.Figure, stem: str | Path) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` atomically (PDF without a creation date).

    In a notebook the figure stays open, so the cell shows it (and the HTML page carries
    it); elsewhere it is closed, so scripts do not pile up open figures.
    """
    stem = Path(stem)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    write_atomic(png, lambda p: fig.savefig(p, format="png"))
    write_atomic(pdf, lambda p: fig.savefig(p, format="pdf", metadata={"CreationDate": None}))
    if not style.IN_NOTEBOOK:
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


def ai_stocks(
    estimates: str | Path, countries: tuple[str, ...] = (FOCAL_COUNTRY, "GBR", "FRA")
) -> plt.Figure:
    """Weighted AI workers by year (thousands) with the BOK's published counts."""
    style.apply()
    table = pd.read_csv(Path(estimates) / "stocks.csv")
    figures = load_published_figures()
    fig, ax = plt.subplots()
    for country in countries:
        t = table[table["country"] == country]
        line = ax.plot(t["year"], t["ai_workers"] / 1e3, "o-", ms=3, label=f"{country} estimate")
        ax.fill_between(
            t["year"],
            (t["ai_workers"] - 1.96 * t["ai_workers_se"]) / 1e3,
            (t["ai_workers"] + 1.96 * t["ai_workers_se"]) / 1e3,
            color=line[0].get_color(),
            alpha=0.15,
        )
        pub = figures[
            (figures["country"] == country)
            & (figures["unit"] == "persons")
            & figures["id"].str.contains("ai_workers")
        ]
        ax.scatter(
            pub["year"],
            pub["value"] / 1e3,
            marker="D",
            color=line[0].get_color(),
            edgecolor=style.PUBLISHED,
            zorder=3,
        )
    ax.scatter(
        [], [], marker="D", color="white", edgecolor=style.PUBLISHED, label="published (BOK)"
    )
    ax.set_xlabel("year")
    ax.set_ylabel("AI-skilled workers (thousands, weighted)")
    ax.set_title("The AI workforce")
    ax.legend(ncol=2)
    return fig


def overseas_share(estimates: str | Path, origin: str = FOCAL_COUNTRY) -> plt.Figure:
    """Share of an origin's AI and non-AI workers working abroad, by year."""
    style.apply()
    table = pd.read_csv(Path(estimates) / "overseas_share.csv")
    table = table[table["origin"] == origin]
    fig, ax = plt.subplots()
    for group, label in (("ai", "AI workers"), ("non_ai", "non-AI workers")):
        t = table[table["group"] == group]
        ax.errorbar(
            t["year"],
            t["share_abroad"],
            yerr=1.96 * t["share_abroad_se"],
            fmt="o-",
            ms=3,
            capsize=2,
            label=label,
        )
    fig_value = load_published_figures().set_index("id").loc["kr_abroad_share"]
    ax.scatter(
        [fig_value["year"] if pd.notna(fig_value["year"]) else 2024],
        [fig_value["value"]],
        marker="D",
        color=style.PUBLISHED,
        zorder=3,
        label="published (BOK): AI workers abroad",
    )
    ax.set_xlabel("year")
    ax.set_ylabel(f"workers of {origin} origin working abroad (%)")
    ax.set_title("Working abroad")
    ax.legend()
    return fig


def skill_mobility(estimates: str | Path) -> plt.Figure:
    """Across AI skill clusters: share of Korean-origin holders abroad vs Korea's premium."""
    style.apply()
    points = pd.read_csv(Path(estimates) / "mobility_skill_points.csv")
    fig, ax = plt.subplots()
    ax.scatter(
        points["premium_pct"],
        points["share_abroad"],
        s=20 + points["workers"] / 300,
        color=style.ESTIMATE,
        alpha=0.7,
    )
    for row in points.itertuples(index=False):
        ax.annotate(
            row.skill.removeprefix("ai_").replace("_", " "),
            (row.premium_pct, row.share_abroad),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    order = points.sort_values("premium_pct")
    ax.plot(order["premium_pct"], order["fitted"], color=style.PUBLISHED, label="weighted fit")
    ax.set_xlabel("AI skill premium in Korea (%)")
    ax.set_ylabel("Korean-origin holders working abroad (%)")
    ax.set_title("Compensation and mobility across AI skills")
    ax.legend()
    return fig


def counterfactual(estimates: str | Path) -> plt.Figure:
    """Korea's emigration rate and long-run overseas share under higher premiums."""
    style.apply()
    table = pd.read_csv(Path(estimates) / "counterfactual.csv")
    if "model" in table:  # the joint model; the naive one is in the table for contrast
        table = table[table["model"] == "joint"]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for ax, quantity, label in (
        (axes[0], "emigration_rate", "emigration (% a year)"),
        (axes[1], "overseas_share", "long-run share abroad (%)"),
    ):
        t = table[table["quantity"] == quantity]
        ax.bar(
            range(len(t)),
            t["estimate"],
            yerr=1.96 * t["std_error"],
            capsize=3,
            color=style.ESTIMATE,
            alpha=0.8,
        )
        ax.set_xticks(range(len(t)), [s.replace(" (", "\n(") for s in t["scenario"]], fontsize=8)
        ax.set_ylabel(label)
    fig.suptitle("If Korea paid AI workers a higher premium (AI workers of Korean origin)")
    return fig


def korea_net_flows(estimates: str | Path, country: str = FOCAL_COUNTRY) -> plt.Figure:
    """Net inflow of AI workers by year (weighted persons, 95% interval), with the BOK's
    published direction of each year (``kr_net_outflow_years``) marked above the bars."""
    style.apply()
    table = pd.read_csv(Path(estimates) / "flows_ai.csv")
    t = table[table["country"] == country].sort_values("year")
    figures = load_published_figures().set_index("id")
    pattern = parse_year_pattern(str(figures.loc["kr_net_outflow_years", "pattern"]))
    fig, ax = plt.subplots()
    colours = [style.ESTIMATE if v >= 0 else "#7f9fbf" for v in t["net_inflow"]]
    ax.bar(t["year"], t["net_inflow"], color=colours, width=0.7, label="estimate (net inflow)")
    ax.errorbar(
        t["year"], t["net_inflow"], yerr=1.96 * t["net_inflow_se"], fmt="none", color="black", lw=1
    )
    top = float((t["net_inflow"].abs() + 1.96 * t["net_inflow_se"]).max())
    for key, marker, label in (
        ("net_outflow_years", "v", "BOK: net outflow"),
        ("net_inflow_years", "^", "BOK: net inflow"),
    ):
        years = [y for y in pattern.get(key, []) if y in set(t["year"])]
        ax.scatter(
            years,
            [1.1 * top] * len(years),
            marker=marker,
            color=style.PUBLISHED,
            label=label,
            zorder=3,
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("year")
    ax.set_ylabel("net inflow of AI workers (weighted persons)")
    ax.set_title(f"{country}: net flows of AI workers, estimate and the BOK's direction")
    ax.legend(loc="lower left", fontsize=8)
    return fig
