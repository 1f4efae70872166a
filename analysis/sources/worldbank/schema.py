"""The workbook's layout and provenance: its file name and checksum, licence, sheets,
value columns and what each divides by, and the column names the loader maps."""

from __future__ import annotations

import re
from collections.abc import Iterable

FILENAME: str = "worldbank-linkedin-talent-migration-2015-2019.xlsx"
"""File name of the workbook in the shared data folder."""

SHA256: str = "fb7f1d7300d906ec7cc2d224aa4a3c501820f08ed6271f394553c1f5cf1a953c"
"""SHA-256 of the workbook this module was written against."""

CATALOG: str = (
    'World Bank data catalog dataset 0038044, "Digital Data for Development: Talent Migration"'
    " (https://datacatalog.worldbank.org/search/dataset/0038044; also linkedindata.worldbank.org)"
)
"""Where to download the workbook."""

LICENCE: str = "CC BY 3.0 IGO"

ATTRIBUTION: str = (
    '"World Bank LinkedIn Digital Data for Development: Talent Migration" by the World Bank '
    "Group and LinkedIn Corporation, licensed under CC BY 3.0 IGO"
)

YEARS: tuple[int, ...] = (2015, 2016, 2017, 2018, 2019)
"""Years the workbook must hold (one ``net_per_10K_YYYY`` column each)."""

SHEETS: dict[str, str] = {
    "skill_migration": "Skill Migration",
    "industry_migration": "Industry Migration",
    "country_migration": "Country Migration",
}
"""Tidy table name -> sheet name in the workbook."""

VALUE_COLUMNS: dict[str, str] = {
    "skill_migration": "net_per_10k_skill_members",
    "industry_migration": "net_per_10k_industry_members",
    "country_migration": "net_per_10k_base_members",
}
"""Tidy table name -> name of its value column (named after the denominator)."""

NORMALISATION: dict[str, str] = {
    "skill_migration": (
        "Net migration (arrivals minus departures) of LinkedIn members holding a skill of the "
        "skill group, divided by the number of LinkedIn members with that skill in the country, "
        "times 10,000 (workbook sheet 'Notes', item 3)."
    ),
    "industry_migration": (
        "Net migration of LinkedIn members working in the industry (the industry of the "
        "member's company at the time of migration), divided by the number of LinkedIn "
        "members working in that industry in the country, times 10,000 (sheet 'Notes', item 2)."
    ),
    "country_migration": (
        "Net gain (+) or loss (-) of LinkedIn members of the base country to or from the target "
        "country, divided by the average LinkedIn membership of the base country over the "
        "period, times 10,000 (sheet 'Notes', item 1; 'Variable List': 'with respect to "
        "base_country'). The same pair seen from the other side is divided by the other "
        "country's membership, so the two views have opposite signs but different sizes."
    ),
}
"""How each table's value is normalised, from the workbook's own notes."""

CAVEATS: tuple[str, ...] = (
    "Migration is inferred from a change of the location on a member's LinkedIn profile; "
    "LinkedIn covers white-collar, knowledge-intensive work best.",
    "LinkedIn reports a cell only with at least 50 observations: bilateral pairs with small "
    "flows are absent, so the pairs present are selected on the size of the flow.",
    "The workbook's notes say the metrics are 'calculated on an annual basis' and that an "
    "average of the last three years is reported; the yearly columns are read here as the "
    "values for the year in their name, as the 'Variable List' sheet defines them.",
    "Countries are those with 100,000+ LinkedIn members; income groups and regions are the "
    "World Bank classification current when the file was made.",
)

INCOME_GROUPS: tuple[str, ...] = (
    "Low income",
    "Lower middle income",
    "Upper middle income",
    "High income",
)
"""World Bank income groups, poorest first (the order of the categorical dtype)."""

_YEAR_COLUMN = re.compile(r"^net_per_10k_(\d{4})$")


def _year_columns(years: Iterable[int]) -> list[str]:
    return [f"net_per_10K_{year}" for year in years]


# Columns each sheet must have, spelled as in the workbook (matched ignoring case and
# surrounding spaces), and the tidy name each one gets.
_COUNTRY_SIDE = {
    "country_code": "iso2",
    "country_name": "name",
    "lat": "lat",
    "long": "lon",
    "country_wb_income": "income_group",
    "country_wb_region": "region",
}

_RENAMES: dict[str, dict[str, str]] = {
    "skill_migration": {
        "country_code": "iso2",
        "country_name": "country_name",
        "wb_income": "income_group",
        "wb_region": "region",
        "skill_group_id": "skill_group_id",
        "skill_group_category": "skill_group_category",
        "skill_group_name": "skill_group_name",
    },
    "industry_migration": {
        "country_code": "iso2",
        "country_name": "country_name",
        "wb_income": "income_group",
        "wb_region": "region",
        "isic_section_index": "isic_section",
        "isic_section_name": "isic_section_name",
        "industry_id": "industry_id",
        "industry_name": "industry_name",
    },
    "country_migration": {
        **{f"base_{k}": f"base_{v}" for k, v in _COUNTRY_SIDE.items()},
        **{f"target_{k}": f"target_{v}" for k, v in _COUNTRY_SIDE.items()},
    },
}

_KEYS: dict[str, tuple[str, ...]] = {
    "skill_migration": ("iso3", "skill_group_id", "year"),
    "industry_migration": ("iso3", "industry_id", "year"),
    "country_migration": ("base_iso3", "target_iso3", "year"),
}

_NUMERIC: dict[str, tuple[str, ...]] = {
    "skill_migration": ("skill_group_id",),
    "industry_migration": ("industry_id",),
    "country_migration": ("base_lat", "base_lon", "target_lat", "target_lon"),
}

_COUNTRY_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    # (iso2 column, name column) pairs that get an ISO3 column
    "skill_migration": (("iso2", "country_name"),),
    "industry_migration": (("iso2", "country_name"),),
    "country_migration": (("base_iso2", "base_name"), ("target_iso2", "target_name")),
}

_COUNTRY_TABLE = ("iso3", "iso2", "name", "income_group", "region", "lat", "lon")
