"""Tests of the published-figures registry and its loader.

The consistency checks compute every relation from the registry itself, so a wrong number in
``analysis/data/published_figures.csv`` makes them fail; the markdown source
(``published-figures.md``) is parsed to check that no published figure is missing and that
every registry number appears in the row it came from.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.sources.published import (
    COLUMNS,
    DEFAULT_PATH,
    KINDS,
    UNITS,
    PublishedFiguresError,
    figure_value,
    get_figure,
    load_published_figures,
)

MARKDOWN = Path(
    os.environ.get(
        "PUBLISHED_FIGURES_MD",
        config.SHARED_DIR / "docs" / "published-figures.md",
    )
)

# Registry rows that come from a number inside another markdown row's text (not from an id
# prefix): registry id -> the markdown id of the row holding the number.
DERIVED_FROM = {
    "premium_kr_avg_2010_2024": "premium_kr_2010",
    "kr_abroad_us_share_of_domestic_2024": "kr_abroad_us_2024",
    "kr_net_ai_migration_2020": "kr_net_ai_migration_2023",
    "kr_ai_talent_density_2023": "kr_ai_talent_density_rank",
    "skill_share_change_ml_2010_2024": "skill_share_2024",
    "skill_share_change_dl_2010_2024": "skill_share_2024",
    "ai_index_2024_lux": "ai_index_2024_others",
    "ai_index_2024_deu": "ai_index_2024_others",
    "ai_index_2024_usa": "ai_index_2024_others",
    "ai_index_2024_fra": "ai_index_2024_others",
}

# The six countries of the BOK wage-premium comparison, by registry id.
CROSS_COUNTRY_PREMIUM_IDS = (
    "premium_kr_2024",
    "premium_us",
    "premium_ca",
    "premium_uk",
    "premium_fr",
    "premium_au",
)

_NUMBER_RE = re.compile(r"(?<![\w.])[-+]?\d(?:[\d,]*\d)?(?:\.\d+)?")


@pytest.fixture(scope="module")
def figures() -> pd.DataFrame:
    return load_published_figures()


@pytest.fixture(scope="module")
def markdown_rows() -> dict[str, str]:
    """Markdown table rows keyed by each id of their ``id`` cell: id -> the row's text."""
    if not MARKDOWN.is_file():
        pytest.skip(f"published-figures.md not found at {MARKDOWN}")
    rows: dict[str, str] = {}
    for line in MARKDOWN.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "id" or set(cells[0]) <= {"-", ":", " "}:
            continue
        for row_id in cells[0].split(","):
            rows[row_id.strip()] = line
    assert len(rows) > 30, "markdown tables were not parsed"
    return rows


def _value(figures: pd.DataFrame, row_id: str, column: str = "value") -> float:
    value = get_figure(figures, row_id)[column]
    assert not pd.isna(value), f"{row_id}: {column} is empty"
    return float(value)


def _numbers_in(text: str) -> set[float]:
    return {float(tok.replace(",", "")) for tok in _NUMBER_RE.findall(text)}


def _markdown_parent(row_id: str, markdown_ids: set[str]) -> str | None:
    if row_id in DERIVED_FROM:
        return DERIVED_FROM[row_id]
    prefixes = [m for m in markdown_ids if row_id == m or row_id.startswith(f"{m}_")]
    return max(prefixes, key=len) if prefixes else None


def _years(spec: str) -> set[int]:
    years: set[int] = set()
    for part in spec.split(","):
        start, _, end = part.partition("-")
        years.update(range(int(start), int(end or start) + 1))
    return years


# --------------------------------------------------------------------------- registry shape


def test_registry_loads_with_dtypes(figures: pd.DataFrame) -> None:
    assert DEFAULT_PATH.is_file()
    assert tuple(figures.columns) == COLUMNS
    assert len(figures) >= 60
    for column in ("value", "value_low", "value_high"):
        assert figures[column].dtype == "float64"
    assert str(figures["year"].dtype) == "Int64"
    assert figures["id"].is_unique
    assert set(figures["kind"]) <= KINDS
    assert set(figures.loc[figures["kind"] != "qualitative", "unit"]) <= UNITS


def test_loader_accepts_str_path(figures: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(load_published_figures(str(DEFAULT_PATH)), figures)


def test_every_markdown_id_is_in_the_registry(
    figures: pd.DataFrame, markdown_rows: dict[str, str]
) -> None:
    ids = set(figures["id"])
    # split children share the markdown id as prefix, except the few named in DERIVED_FROM
    # (e.g. ai_index_2024_others -> ai_index_2024_lux, ...)
    derived_parents = {parent for child, parent in DERIVED_FROM.items() if child in ids}
    missing = [
        m
        for m in markdown_rows
        if m not in ids and m not in derived_parents and not any(i.startswith(f"{m}_") for i in ids)
    ]
    assert not missing, f"markdown ids without registry rows: {missing}"


def test_every_registry_id_traces_to_a_markdown_row(
    figures: pd.DataFrame, markdown_rows: dict[str, str]
) -> None:
    orphans = [i for i in figures["id"] if _markdown_parent(i, set(markdown_rows)) is None]
    assert not orphans, f"registry ids not traceable to published-figures.md: {orphans}"


def test_registry_numbers_appear_in_their_markdown_row(
    figures: pd.DataFrame, markdown_rows: dict[str, str]
) -> None:
    mismatches = []
    for _, row in figures.iterrows():
        parent = _markdown_parent(row["id"], set(markdown_rows))
        published = _numbers_in(markdown_rows[parent])
        for column in ("value", "value_low", "value_high"):
            number = row[column]
            if pd.notna(number) and not any(math.isclose(number, p) for p in published):
                mismatches.append(f"{row['id']}.{column}={number} not in row {parent!r}")
    assert not mismatches, mismatches


def test_period_ids_carry_their_end_year(figures: pd.DataFrame) -> None:
    wrong = []
    for row_id, year in zip(figures["id"], figures["year"], strict=True):
        match = re.search(r"_(\d{4})$", row_id)
        if match and (pd.isna(year) or int(year) != int(match.group(1))):
            wrong.append(f"{row_id}: year {year}")
    assert not wrong, wrong


def test_units_hold_plain_numbers(figures: pd.DataFrame) -> None:
    persons = figures.loc[figures["unit"] == "persons", "value"]
    assert (persons >= 1000).all(), "head counts must be counts, not thousands"
    assert (persons == persons.round()).all()
    percent = figures.loc[figures["unit"] == "percent", "value"]
    assert percent.between(0, 100).all(), "percentages must be percent numbers"
    ranks = figures.loc[figures["unit"] == "rank", "value"]
    assert (ranks >= 1).all() and (ranks == ranks.round()).all()


def test_qualitative_rows(figures: pd.DataFrame) -> None:
    qualitative = figures.loc[figures["kind"] == "qualitative"]
    assert {"premium_skill_dl_ml", "ai_definition", "skill_mobility_pattern"} <= set(
        qualitative["id"]
    )
    assert qualitative[["value", "value_low", "value_high"]].isna().all().all()
    assert (qualitative["definition"].str.len() > 20).all()
    with pytest.raises(ValueError, match="has no value"):
        figure_value(figures, "ai_definition")


# --------------------------------------------------------------------------- consistency


def test_overseas_share_uses_domestic_plus_overseas(figures: pd.DataFrame) -> None:
    abroad = _value(figures, "kr_abroad_2024")
    domestic = _value(figures, "kr_ai_workers_2024")
    share = 100 * abroad / (domestic + abroad)
    assert abs(share - _value(figures, "kr_abroad_share")) <= 0.5


def test_us_share_divides_by_domestic_stock(figures: pd.DataFrame) -> None:
    in_us = _value(figures, "kr_abroad_us_2024")
    domestic = _value(figures, "kr_ai_workers_2024")
    abroad = _value(figures, "kr_abroad_2024")
    reported = _value(figures, "kr_abroad_us_share_of_domestic_2024")
    assert abs(100 * in_us / domestic - reported) < 0.05
    # the press's figure is not a share of the total (domestic + overseas) workforce
    assert abs(100 * in_us / (domestic + abroad) - reported) > 1


@pytest.mark.parametrize("year", [2019, 2021])
def test_kcci_net_equals_abroad_minus_inflow(figures: pd.DataFrame, year: int) -> None:
    abroad = _value(figures, f"kcci_se_abroad_{year}")
    inflow = _value(figures, f"kcci_se_inflow_{year}")
    assert abroad - inflow == pytest.approx(_value(figures, f"kcci_net_{year}"))


def test_graduate_costs_exceed_combined_bound(figures: pd.DataFrame) -> None:
    combined = get_figure(figures, "grad_cost_combined")
    assert combined["kind"] == "bound"
    assert pd.isna(combined["value_high"])
    total = _value(figures, "grad_cost_education") + _value(figures, "grad_cost_tax_loss")
    assert total >= _value(figures, "grad_cost_combined", "value_low")
    units = {get_figure(figures, i)["unit"] for i in ("grad_cost_education", "grad_cost_tax_loss")}
    assert units == {combined["unit"]}


def test_masters_plus_phd_is_graduate_share(figures: pd.DataFrame) -> None:
    master = _value(figures, "kr_ai_education_master")
    phd = _value(figures, "kr_ai_education_phd")
    assert master + phd == pytest.approx(_value(figures, "kr_ai_education_graduate"))


def test_korean_premium_average_lies_between_endpoints(figures: pd.DataFrame) -> None:
    start = _value(figures, "premium_kr_2010")
    average = _value(figures, "premium_kr_avg_2010_2024")
    end = _value(figures, "premium_kr_2024")
    assert start <= average <= end


def test_korea_has_the_lowest_premium_of_six(figures: pd.DataFrame) -> None:
    rows = figures.set_index("id").loc[list(CROSS_COUNTRY_PREMIUM_IDS)]
    assert set(rows["country"]) == {"KOR", "USA", "CAN", "GBR", "FRA", "AUS"}
    assert set(rows["unit"]) == {"percent"}
    by_country = rows.set_index("country")["value"]
    others = by_country.drop("KOR")
    assert by_country["KOR"] < others.min()


def test_korean_ai_workforce_more_than_doubled(figures: pd.DataFrame) -> None:
    assert _value(figures, "kr_ai_workers_2024") / _value(figures, "kr_ai_workers_2010") > 2


def test_kr_ai_workers_2010_spread_brackets_value(figures: pd.DataFrame) -> None:
    row = get_figure(figures, "kr_ai_workers_2010")
    assert row["kind"] == "number"
    assert row["value_low"] <= row["value"] < row["value_high"]
    assert row["notes"]


def test_net_outflow_pattern_covers_sample_and_matches_ai_index_sign(
    figures: pd.DataFrame,
) -> None:
    row = get_figure(figures, "kr_net_outflow_years")
    assert row["kind"] == "qualitative"
    spec = dict(part.split("=", 1) for part in row["pattern"].split(";"))
    outflow = _years(spec["net_outflow_years"])
    inflow = _years(spec["net_inflow_years"])
    assert not outflow & inflow
    years = outflow | inflow
    assert years == set(range(min(years), max(years) + 1)), "pattern leaves gaps"
    # the AI Index figure for an inflow year has the sign of an inflow
    ai_index = get_figure(figures, "kr_net_ai_migration_2020")
    assert int(ai_index["year"]) in inflow
    assert ai_index["value"] > 0


# --------------------------------------------------------------------------- accessors


def test_get_figure_and_figure_value(figures: pd.DataFrame) -> None:
    row = get_figure(figures, "kr_abroad_2024")
    assert row.name == "kr_abroad_2024"
    assert row["unit"] == "persons"
    assert figure_value(figures, "kr_abroad_2024") == row["value"]
    assert isinstance(figure_value(figures, "premium_kr_2024"), float)


def test_get_figure_unknown_id_lists_children_and_close_ids(figures: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="skill_share_2024_cloud"):
        get_figure(figures, "skill_share_2024")
    with pytest.raises(KeyError, match="premium_kr_2024"):
        get_figure(figures, "premium_kr_2042")


# --------------------------------------------------------------------------- loader errors


def _read_rows() -> list[dict[str, str]]:
    with DEFAULT_PATH.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = list(COLUMNS) if columns is None else columns
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _edit(row_id: str, **changes: str) -> Callable[[list[dict[str, str]]], None]:
    def apply(rows: list[dict[str, str]]) -> None:
        (row,) = [r for r in rows if r["id"] == row_id]
        row.update(changes)

    return apply


def _duplicate(row_id: str) -> Callable[[list[dict[str, str]]], None]:
    def apply(rows: list[dict[str, str]]) -> None:
        (row,) = [r for r in rows if r["id"] == row_id]
        rows.append(dict(row))

    return apply


BAD_COPIES = {
    "duplicate_id": (_duplicate("premium_us"), "id", "premium_us"),
    "bad_kind": (_edit("premium_ca", kind="estimate"), "kind", "premium_ca"),
    "bad_unit": (_edit("vc_gap_us", unit="dollars"), "unit", "vc_gap_us"),
    "value_above_high": (_edit("kr_ai_workers_2010", value="31000"), "value", "kr_ai_workers_2010"),
    "value_below_low": (_edit("kr_ai_workers_2010", value="26000"), "value", "kr_ai_workers_2010"),
    "low_above_high": (
        _edit("kr_ai_workers_2010", value_low="40000"),
        "value_low",
        "kr_ai_workers_2010",
    ),
    "non_numeric_value": (_edit("premium_au", value="about 15"), "value", "premium_au"),
    "non_numeric_year": (_edit("premium_kr_2024", year="2024a"), "year", "premium_kr_2024"),
    "number_without_value": (_edit("premium_fr", value=""), "value", "premium_fr"),
    "bound_without_bounds": (
        _edit("grad_cost_combined", value_low=""),
        "value_low",
        "grad_cost_combined",
    ),
    "qualitative_with_value": (_edit("ai_definition", value="12"), "value", "ai_definition"),
    "pattern_on_number": (_edit("premium_us", pattern="a=b"), "pattern", "premium_us"),
    "bad_country": (_edit("premium_uk", country="UK"), "country", "premium_uk"),
    "empty_id": (_edit("premium_kr_2010", id=""), "id", "line "),
}


@pytest.mark.parametrize("case", sorted(BAD_COPIES))
def test_loader_rejects_bad_copies(tmp_path: Path, case: str) -> None:
    mutate, column, offender = BAD_COPIES[case]
    rows = _read_rows()
    mutate(rows)
    path = _write(tmp_path / f"bad_{case}.csv", rows)
    with pytest.raises(PublishedFiguresError) as info:
        load_published_figures(path)
    message = str(info.value)
    assert path.name in message
    assert f"'{column}'" in message
    assert offender in message
    assert info.value.column == column


def test_loader_rejects_missing_column(tmp_path: Path) -> None:
    columns = [c for c in COLUMNS if c != "unit"]
    path = _write(tmp_path / "bad_missing_unit.csv", _read_rows(), columns)
    with pytest.raises(PublishedFiguresError, match="required column missing") as info:
        load_published_figures(path)
    assert path.name in str(info.value)
    assert "'unit'" in str(info.value)


def test_loader_rejects_unexpected_column(tmp_path: Path) -> None:
    rows = [{**r, "comment": "x"} for r in _read_rows()]
    path = _write(tmp_path / "bad_extra.csv", rows, [*COLUMNS, "comment"])
    with pytest.raises(PublishedFiguresError, match="unexpected column") as info:
        load_published_figures(path)
    assert path.name in str(info.value)
    assert "'comment'" in str(info.value)


def test_loader_accepts_unchanged_copy(tmp_path: Path, figures: pd.DataFrame) -> None:
    path = _write(tmp_path / "copy.csv", _read_rows())
    pd.testing.assert_frame_equal(load_published_figures(path), figures)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_published_figures(tmp_path / "nope.csv")
