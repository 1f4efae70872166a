"""Country names to ISO3: exact aliases only, never a match inside a name (issue #13).

The old matcher (country_converter's regular expressions) found a country *inside* a
name: "Not France" was FRA, "Jersey City" JEY, "Canada/USA" CAN. The hostile cases
below each got a code from it; every one must now be unknown. The variants must still
map, and so must every name the synthetic world writes, to the code it had before.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from delivery_factory import clean_tables, write_delivery

from analysis.sources import countries
from analysis.sources.countries import ALIASES_CSV, alias_table, names_to_iso3
from analysis.sources.revelio import read_delivery
from analysis.sources.synthetic.observe import COUNTRY_NAMES, UNKNOWN_COUNTRY

# --------------------------------------------------------------------------- no substrings
# Each of these got a code from the old matcher (shown): a silent wrong answer.
SUBSTRING_NAMES = {
    "Not France": "FRA",
    "Jersey City": "JEY",
    "Canada/USA": "CAN",
    "Paris, France": "FRA",
    "Customer Service": "STP",
    "Korea: AI wage premium over time": "KOR",
    "CA - France": "FRA",  # a code and a name that disagree
    " and ": "AND",
    "4": "AFG",  # an ISO numeric code, not a name
    "no": "NOR",  # lower-case words are not codes
    "in": "IND",
    "na": "NAM",
    "NA": "NAM",  # a missing-value marker, not Namibia
    "S. Korea": "KOR",  # informal; not an alias we can defend
}


@pytest.mark.parametrize("name", list(SUBSTRING_NAMES))
def test_a_country_inside_a_name_is_unknown(name):
    assert names_to_iso3([name]) == {name: None}


@pytest.mark.parametrize("name", ["&", "file.png", ") AS ", "(SE)"])
def test_punctuation_around_a_code_does_not_make_it_one(name):
    # normalising "&" to "and" or dropping dots must not turn text into a code
    assert names_to_iso3([name]) == {name: None}


def test_the_three_measured_cases_are_unknown_together():
    got = names_to_iso3(["Not France", "Jersey City", "Canada/USA"])
    assert got == {"Canada/USA": None, "Jersey City": None, "Not France": None}


# --------------------------------------------------------------------------- variants
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("  FRANCE. ", "FRA"),
        ("france", "FRA"),
        ("UNITED   states", "USA"),
        ("Côte d’Ivoire", "CIV"),  # accent and a typographic apostrophe
        ("COTE D'IVOIRE", "CIV"),
        ("Türkiye", "TUR"),
        ("Turkiye", "TUR"),
        ("Bosnia & Herzegovina", "BIH"),
        ("Guinea Bissau", "GNB"),
        ("The Netherlands", "NLD"),
        ("St. Lucia", "LCA"),
        ("Saint Lucia", "LCA"),
        ("Korea, Republic of", "KOR"),  # inverted, ISO 3166
        ("Korea (the Republic of)", "KOR"),  # inverted, ISO online browsing platform
        ("Korea, South", "KOR"),  # inverted, CIA World Factbook
        ("Korea (South)", "KOR"),
        ("Korea, North", "PRK"),
        ("Bolivia (Plurinational State of)", "BOL"),  # UN
        ("Congo, The Democratic Republic of the", "COD"),
        ("Gambia, The", "GMB"),
        ("CA - Canada", "CAN"),  # code and name agree
        ("Canada – CA", "CAN"),
        ("UAE", "ARE"),  # unknown to the old matcher
    ],
)
def test_written_variants_map_to_their_country(name, code):
    assert names_to_iso3([name]) == {name: code}


def test_common_names_in_profile_data():
    expected = {
        "South Korea": "KOR",
        "Korea, Republic of": "KOR",
        "Republic of Korea": "KOR",
        "North Korea": "PRK",
        "United States": "USA",
        "United States of America": "USA",
        "USA": "USA",
        "US": "USA",
        "U.S.": "USA",
        "UK": "GBR",
        "U.K.": "GBR",
        "United Kingdom": "GBR",
        "Great Britain": "GBR",
        "England": "GBR",
        "Hong Kong SAR": "HKG",
        "Hong Kong": "HKG",
        "Taiwan": "TWN",
        "Viet Nam": "VNM",
        "Vietnam": "VNM",
        "Russia": "RUS",
        "Russian Federation": "RUS",
        "Czechia": "CZE",
        "Czech Republic": "CZE",
        "Türkiye": "TUR",
        "Turkey": "TUR",
        "China": "CHN",
        "Georgia": "GEO",  # the country: a legitimate exact name
        "Jersey": "JEY",
    }
    assert names_to_iso3(expected) == expected


def test_codes_match_only_whole_and_in_capitals():
    got = names_to_iso3(["KR", "KOR", "GB", "DEU", "U.S.A.", "kr", "Kor", "KORE", "K R"])
    assert got == {
        "DEU": "DEU",
        "GB": "GBR",
        "K R": None,
        "KOR": "KOR",
        "KORE": None,
        "KR": "KOR",
        "Kor": None,
        "U.S.A.": "USA",
        "kr": None,
    }


def test_ambiguous_names_are_unknown():
    # "Congo" is either Congo (COG; the old matcher's guess) or DR Congo (COD).
    assert names_to_iso3(["Congo", "Virgin Islands", "Islands, Virgin"]) == {
        "Congo": None,
        "Islands, Virgin": None,
        "Virgin Islands": None,
    }
    # "Korea" alone is kept as the Republic of Korea, deliberately (see the reason in
    # country_aliases.csv): the synthetic world writes it and the old matcher gave KOR.
    assert names_to_iso3(["Korea"]) == {"Korea": "KOR"}


def test_blanks_and_none_are_skipped_not_unknown():
    assert names_to_iso3(["", "   ", None, "France", "France"]) == {"France": "FRA"}
    assert names_to_iso3([]) == {}
    assert names_to_iso3([None, ""]) == {}


# --------------------------------------------------------------------------- same as before
#: Every name the synthetic world writes, with the code the old matcher gave it.
SYNTHETIC_BEFORE = {
    "South Korea": "KOR",
    "Korea, Republic of": "KOR",
    "Republic of Korea": "KOR",
    "Korea": "KOR",
    "United States": "USA",
    "United States of America": "USA",
    "USA": "USA",
    "Canada": "CAN",
    "CA - Canada": "CAN",
    "United Kingdom": "GBR",
    "UK": "GBR",
    "Great Britain": "GBR",
    "France": "FRA",
    "French Republic": "FRA",
    "Australia": "AUS",
    "Commonwealth of Australia": "AUS",
    "Germany": "DEU",
    "Federal Republic of Germany": "DEU",
    "DEU": "DEU",
    "Japan": "JPN",
    "JPN": "JPN",
    "Singapore": "SGP",
    "Republic of Singapore": "SGP",
    "Atlantis": None,
}

#: The World Bank workbook's names that are not plain short names, with the old codes.
WORLD_BANK_BEFORE = {
    "Bahamas, The": "BHS",
    "Congo, Dem. Rep.": "COD",
    "Cote d'Ivoire": "CIV",
    "Czech Republic": "CZE",
    "Egypt, Arab Rep.": "EGY",
    "Hong Kong SAR, China": "HKG",
    "Iran, Islamic Rep.": "IRN",
    "Korea, Rep.": "KOR",
    "Macedonia, FYR": "MKD",
    "Slovak Republic": "SVK",
    "Syrian Arab Republic": "SYR",
    "Taiwan, China": "TWN",
    "Turkey": "TUR",
    "Venezuela, RB": "VEN",
    "West Bank and Gaza": "PSE",
    "Yemen, Rep.": "YEM",
}


def test_every_synthetic_name_maps_as_before():
    written = {name for names in COUNTRY_NAMES.values() for name in names} | {UNKNOWN_COUNTRY}
    # a name added to the writer must be added here, with the code it should get
    assert written == set(SYNTHETIC_BEFORE)
    assert names_to_iso3(written) == SYNTHETIC_BEFORE
    for code, names in COUNTRY_NAMES.items():
        assert {SYNTHETIC_BEFORE[n] for n in names} == {code}


def test_world_bank_names_map_as_before():
    assert names_to_iso3(WORLD_BANK_BEFORE) == WORLD_BANK_BEFORE


# --------------------------------------------------------------------------- the alias table
def test_every_country_of_the_table_is_reachable_by_its_names_and_codes():
    import country_converter as coco

    data = coco.CountryConverter().data
    for row in data.itertuples(index=False):
        names = [row.name_short, row.name_official, row.ISO3]
        assert set(names_to_iso3(names).values()) == {row.ISO3}, names


def test_every_csv_alias_has_a_reason_and_maps_to_its_code():
    with ALIASES_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["reason"].strip() for row in rows)
    got = names_to_iso3(row["alias"] for row in rows)
    assert got == {row["alias"]: row["iso3"] or None for row in rows}


@pytest.fixture
def aliases_csv(tmp_path, monkeypatch):
    """A replacement country_aliases.csv; the cached table is rebuilt around the test."""
    path = tmp_path / "country_aliases.csv"
    monkeypatch.setattr(countries, "ALIASES_CSV", path)
    alias_table.cache_clear()
    yield path
    alias_table.cache_clear()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("France,DEU,wrong", "country_converter gives it FRA"),
        ("Atlantis,ATL,made up", "not an ISO3 code"),
        ("UK,USA,wrong", "country_converter gives it GBR"),
    ],
)
def test_a_wrong_row_of_the_csv_is_an_error_not_a_silent_override(aliases_csv, row, message):
    aliases_csv.write_text(f"alias,iso3,reason\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        alias_table()


def test_an_alias_given_two_codes_in_the_csv_is_an_error(aliases_csv):
    aliases_csv.write_text("alias,iso3,reason\nBritain,GBR,a\nbritain.,IRL,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="already given another code"):
        alias_table()


def test_the_alias_table_is_built_once():
    assert alias_table() is alias_table()


# --------------------------------------------------------------------------- through the reader
def test_reader_quarantines_and_reports_a_country_inside_a_name(tmp_path):
    tables = clean_tables()
    positions = tables["positions"].copy()
    extra = positions.iloc[[0, 0]].assign(position_id=[12, 13], country="Not France")
    tables["positions"] = pd.concat([positions, extra], ignore_index=True)
    users = tables["users"].copy()
    users.loc[users["user_id"] == 2, "user_country"] = "Jersey City"
    tables["users"] = users
    delivery = read_delivery(write_delivery(tmp_path, tables))

    quarantine = delivery.quarantine()
    bad = quarantine[quarantine["table"] == "positions"]
    assert sorted(bad["record_key"]) == [12, 13]
    assert set(bad["primary_reason"]) == {"unknown country"}

    got = {
        (r.table, r.column, r.name): r.rows
        for r in delivery.unmapped_countries.itertuples(index=False)
    }
    assert got == {
        ("positions", "country", "Not France"): 2,
        ("users", "user_country", "Jersey City"): 1,
    }

    kept = delivery.to_pandas("users").set_index("user_id")
    assert len(kept) == 4
    assert pd.isna(kept.loc[2, "user_country"])
    assert kept.loc[2, "user_country_raw"] == "Jersey City"
    modified = delivery.ledger.to_frame().query("action == 'modified'")
    assert dict(zip(modified["reason"], modified["rows_affected"], strict=True)) == {
        "unknown user_country set to missing": 1
    }
