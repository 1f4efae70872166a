"""Korea's net migration of AI talent in three sources, side by side.

The World Bank-LinkedIn workbook (2015-2019), the Stanford AI Index (LinkedIn; 2020, 2023,
2024, in the published-figures registry) and the Bank of Korea report (Revelio Labs,
2010-2024: "a net outflow every year but 2020") all speak of Korea's "net AI talent
migration", but they count different people and divide by different populations. Only
the *sign* can be compared across them; :func:`korea_ai_net_migration` lines the signs up
year by year and says where they agree. A disagreement is a finding, not an error.

Examples
--------
>>> from analysis.sources.worldbank import load_talent_migration
>>> from analysis.realdata.korea import korea_ai_net_migration
>>> out = korea_ai_net_migration(load_talent_migration())  # doctest: +SKIP
>>> out.agreement.loc[out.agreement["year"] == 2018, "agree"].item()  # doctest: +SKIP
False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import FOCAL_COUNTRY
from analysis.realdata.common import AI_SKILL_GROUP, SKILL_VALUE
from analysis.sources.published import get_figure, load_published_figures, parse_year_pattern
from analysis.sources.worldbank import TalentMigration

__all__ = [
    "AI_INDEX_IDS",
    "BOK_PATTERN_ID",
    "DEFINITIONS",
    "KoreaAIMigration",
    "korea_ai_net_migration",
]

WORLDBANK = "World Bank-LinkedIn (skill migration)"
AI_INDEX = "Stanford AI Index (LinkedIn)"
BOK = "Bank of Korea (Revelio Labs)"

AI_INDEX_IDS: tuple[str, ...] = (
    "kr_net_ai_migration_2020",
    "kr_net_ai_migration_2023",
    "kr_net_ai_migration_per10k",
)
"""Registry ids of the AI Index values for Korea (2020, 2023, 2024)."""

BOK_PATTERN_ID: str = "kr_net_outflow_years"
"""Registry id of the BOK's "net outflow every year but 2020" (a machine-readable pattern)."""

DEFINITIONS: str = (
    "Why the three sources can disagree, and why only signs are compared. "
    "(1) World Bank-LinkedIn workbook, 2015-2019: net arrivals minus departures of LinkedIn "
    "members who list a skill of the 'Artificial Intelligence (AI)' skill group, divided by "
    "the number of LinkedIn members in Korea holding that skill group, times 10,000. The "
    "denominator is the AI skill holders only, so the values run to tens or hundreds. "
    "(2) Stanford AI Index (LinkedIn), 2020, 2023, 2024: net migration of 'AI talent' "
    "(LinkedIn's own definition of AI-skilled members, of a later vintage than the "
    "workbook's skill groups) divided by *all* LinkedIn members in "
    "Korea, times 10,000. AI talent is under 1% of members (the AI Index puts Korea's AI talent "
    "density at 0.79% in 2023), so the same movers give a number roughly a hundred times "
    "smaller; the press's 'per 10,000 residents' is a misreading. "
    "(3) Bank of Korea, Revelio Labs, 2010-2024: workers with at least one of 12 AI-related "
    "skills in Revelio's LinkedIn-based profiles (about 1.1 million people with Korean work "
    "history), cleaned and reweighted by Revelio; the coverage gives only the direction "
    "(net outflow every year except 2020), no rate. "
    "The populations differ (skill lists, taxonomies of different vintages, Revelio's "
    "sampling weights), the date of a move is inferred from profile updates in each, and "
    "the years barely overlap. Sizes are therefore not comparable even after rescaling; "
    "signs are, loosely."
)
"""Plain-language account of the three definitions."""


@dataclass(frozen=True)
class KoreaAIMigration:
    """Korea's AI net migration by year and source, and where the signs agree.

    Attributes
    ----------
    table
        One row per year x source: ``year, source, publication, figure_id, value, unit,
        sign`` (-1 net outflow, 0, +1 net inflow), ``direction``, ``sources_in_year`` and
        ``agrees_with_other_sources`` (nullable boolean: missing when no other source
        covers that year).
    agreement
        One row per year covered by two or more sources: ``year, sources, signs, agree``.
    explanation
        :data:`DEFINITIONS` followed by a sentence on where the sources agree.
    """

    table: pd.DataFrame
    agreement: pd.DataFrame
    explanation: str


def _worldbank_rows(tm: TalentMigration, country: str, skill: str) -> pd.DataFrame:
    skills = tm.skill_migration
    rows = skills[(skills["iso3"] == country) & (skills["skill_group_name"] == skill)]
    if rows.empty:
        raise KeyError(f"no {skill!r} rows for {country} in the skill-migration sheet")
    return pd.DataFrame(
        {
            "year": rows["year"].to_numpy(),
            "source": WORLDBANK,
            "publication": "World Bank Group-LinkedIn Talent Migration workbook, sheet "
            "'Skill Migration'",
            "figure_id": f"skill_group_id={int(rows['skill_group_id'].iloc[0])}",
            "value": rows[SKILL_VALUE].to_numpy(dtype=float),
            "unit": "per 10,000 LinkedIn members holding the skill group in the country",
        }
    )


def _ai_index_rows(figures: pd.DataFrame) -> pd.DataFrame:
    records = []
    for figure_id in AI_INDEX_IDS:
        row = get_figure(figures, figure_id)
        records.append(
            {
                "year": int(row["year"]),
                "source": AI_INDEX,
                "publication": str(row["source"]),
                "figure_id": figure_id,
                "value": float(row["value"]),
                "unit": "per 10,000 LinkedIn members (all members of the country)",
            }
        )
    return pd.DataFrame.from_records(records)


def _bok_rows(figures: pd.DataFrame) -> pd.DataFrame:
    row = get_figure(figures, BOK_PATTERN_ID)
    pattern = parse_year_pattern(str(row["pattern"]))
    records = [
        {
            "year": year,
            "source": BOK,
            "publication": str(row["source"]),
            "figure_id": BOK_PATTERN_ID,
            "value": float("nan"),
            "unit": "direction only (no rate published)",
            "sign": sign,
        }
        for key, sign in (("net_outflow_years", -1), ("net_inflow_years", 1))
        for year in pattern.get(key, [])
    ]
    return pd.DataFrame.from_records(records)


_DIRECTION = {-1: "net outflow", 0: "balanced", 1: "net inflow"}


def korea_ai_net_migration(
    tm: TalentMigration,
    figures: pd.DataFrame | None = None,
    *,
    country: str = FOCAL_COUNTRY,
    skill: str = AI_SKILL_GROUP,
) -> KoreaAIMigration:
    """Korea's AI-skill net migration beside the AI Index values and the BOK's pattern.

    Parameters
    ----------
    tm
        The loaded workbook (:func:`analysis.sources.worldbank.load_talent_migration`).
    figures
        The published-figures registry (default: :func:`load_published_figures`).
    country, skill
        ISO3 code and skill group of the workbook series (the registry rows are Korea's).

    Returns
    -------
    KoreaAIMigration
        ``table`` (one row per year and source), ``agreement`` (years with two or more
        sources) and ``explanation``.
    """
    figures = load_published_figures() if figures is None else figures
    table = pd.concat(
        [_worldbank_rows(tm, country, skill), _ai_index_rows(figures), _bok_rows(figures)],
        ignore_index=True,
    )
    given = pd.to_numeric(table["sign"], errors="coerce").astype(float)
    table["sign"] = given.where(given.notna(), np.sign(table["value"])).astype("Int64")
    table["direction"] = table["sign"].map(_DIRECTION).astype("string")
    table["sources_in_year"] = table.groupby("year")["source"].transform("nunique")

    def agrees(row: pd.Series) -> object:
        others = table[(table["year"] == row["year"]) & (table["source"] != row["source"])]
        if others.empty:
            return pd.NA
        return bool((others["sign"] == row["sign"]).all())

    table["agrees_with_other_sources"] = table.apply(agrees, axis=1).astype("boolean")
    table = table.sort_values(["year", "source"], ignore_index=True)

    overlap = table[table["sources_in_year"] > 1]
    agreement = (
        overlap.groupby("year")
        .apply(
            lambda g: pd.Series(
                {
                    "sources": "; ".join(g["source"]),
                    "signs": "; ".join(
                        f"{s}: {d}" for s, d in zip(g["source"], g["direction"], strict=True)
                    ),
                    "agree": bool(g["sign"].nunique() == 1),
                }
            ),
            include_groups=False,
        )
        .reset_index()
    )
    return KoreaAIMigration(table, agreement, DEFINITIONS + " " + _verdict(agreement))


def _verdict(agreement: pd.DataFrame) -> str:
    if agreement.empty:
        return "No year is covered by two sources, so nothing can be compared."
    agree = [str(y) for y in agreement.loc[agreement["agree"], "year"]]
    differ = agreement.loc[~agreement["agree"]]
    text = (
        f"Where two sources cover the same year ({len(agreement)} years), they agree on the "
        f"sign in {len(agree)}: {', '.join(agree) or 'none'}."
    )
    for _, row in differ.iterrows():
        text += f" They disagree in {row['year']} ({row['signs']})."
    return text
