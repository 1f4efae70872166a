"""The World Bank-LinkedIn talent-migration workbook: loader, errors and analyses (issue #7).

Tests that need the workbook skip when it is absent, unless ``REQUIRE_WORLDBANK=1`` (as in
CI), which turns a missing workbook into a failure. The error tests write tiny fake
workbooks in ``tmp_path`` and always run.

Reference values below were read off the spreadsheet by hand (sheet and cell named with
each), not computed by the loader.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis import config
from analysis.estimate.covariance import dyadic_vcov
from analysis.realdata.bilateral import (
    INCOME_TERMS,
    bilateral_net_total,
    gravity_bilateral,
    korea_bilateral,
)
from analysis.realdata.compensation import compensation_mobility_link
from analysis.realdata.geo import EARTH_RADIUS_KM, great_circle_km
from analysis.realdata.inference import (
    ols_slope,
    permutation_slope_test,
    wild_bootstrap_slope_test,
)
from analysis.realdata.korea import korea_ai_net_migration
from analysis.realdata.skills import TERM, ai_vs_other_skills, skill_panel
from analysis.realdata.talent_migration import talent_migration_tables
from analysis.sources.countries import names_to_iso3
from analysis.sources.published import load_published_figures
from analysis.sources.worldbank import (
    SHA256,
    ChecksumMismatchError,
    ColumnMissingError,
    SheetMissingError,
    TalentMigration,
    TalentMigrationError,
    WorkbookNotFoundError,
    WorkbookValueError,
    load_talent_migration,
    resolve_path,
)

AI = "Artificial Intelligence (AI)"


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tm() -> TalentMigration:
    """The shared workbook, loaded once for the module."""
    path, how = resolve_path()
    if not path.is_file():
        if os.environ.get("REQUIRE_WORLDBANK") == "1":
            pytest.fail(f"REQUIRE_WORLDBANK=1 but the workbook is missing at {path} ({how})")
        pytest.skip(
            f"World Bank-LinkedIn workbook not found at {path} ({how}); set "
            f"{config.WORLDBANK_ENV_VAR} to its path to run these tests"
        )
    return load_talent_migration(path)


@pytest.fixture(scope="module")
def figures() -> pd.DataFrame:
    return load_published_figures()


@pytest.fixture(scope="module")
def skills(tm):
    return ai_vs_other_skills(tm)


@pytest.fixture(scope="module")
def gravity(tm):
    return gravity_bilateral(tm)


def _value(table: pd.DataFrame, column: str, **keys: object) -> float:
    mask = np.ones(len(table), dtype=bool)
    for key, value in keys.items():
        mask &= (table[key] == value).to_numpy()
    assert mask.sum() == 1, keys
    return float(table.loc[mask, column].item())


# --------------------------------------------------------------------------- tiny workbooks
YEARS = [f"net_per_10K_{y}" for y in range(2015, 2020)]
HEADERS = {
    "Country Migration": [
        "base_country_code",
        "base_country_name",
        "base_lat",
        "base_long",
        "base_country_wb_income",
        "base_country_wb_region",
        "target_country_code",
        "target_country_name",
        "target_lat",
        "target_long",
        "target_country_wb_income",
        "target_country_wb_region",
        *YEARS,
    ],
    "Industry Migration": [
        "country_code",
        "country_name",
        "wb_income",
        "wb_region",
        "isic_section_index",
        "isic_section_name",
        "industry_id",
        "industry_name",
        *YEARS,
    ],
    "Skill Migration": [
        "country_code",
        "country_name",
        "wb_income",
        "wb_region",
        "skill_group_id",
        "skill_group_category",
        "skill_group_name",
        *YEARS,
    ],
}
KR = ["kr", "Korea, Rep.", 35.907757, 127.766922, "High Income", "East Asia & Pacific"]
NA = ["na", "Namibia", -22.95764, 18.49041, "Upper Middle Income", "Sub-Saharan Africa"]
KR_ROW = ["kr", "Korea, Rep.", "High income", "East Asia & Pacific"]
ROWS = {
    "Country Migration": [[*KR, *NA, 0.1, 0.2, 0.3, 0.4, 0.5], [*NA, *KR, -1, -2, -3, -4, -5]],
    "Industry Migration": [[*KR_ROW, "J", "ICT", 4, "Software", 83.16, 1, 2, 3, 7.94]],
    "Skill Migration": [
        [*KR_ROW, 2407, "Disruptive Tech Skills", AI, -142.87, -93.8, -68.52, 17.02, -26.03]
    ],
}


def write_workbook(
    path: Path,
    *,
    drop_sheet: str | None = None,
    rename: tuple[str, str, str] | None = None,
    cell: tuple[str, int, int, object] | None = None,
) -> Path:
    """A tiny workbook in the real layout, with an optional defect.

    ``rename=(sheet, old, new)`` renames a header; ``cell=(sheet, row, col, value)``
    overwrites one data cell (1-based spreadsheet coordinates).
    """
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    for sheet, header in HEADERS.items():
        if sheet == drop_sheet:
            continue
        ws = wb.create_sheet(sheet)
        names = [rename[2] if rename and rename[:2] == (sheet, h) else h for h in header]
        ws.append(names)
        for row in ROWS[sheet]:
            ws.append(row)
        if cell and cell[0] == sheet:
            ws.cell(row=cell[1], column=cell[2], value=cell[3])
    wb.save(path)
    return path


# --------------------------------------------------------------------------- loader: errors
def test_missing_file_says_where_to_download(tmp_path):
    missing = tmp_path / "nowhere.xlsx"
    with pytest.raises(WorkbookNotFoundError) as err:
        load_talent_migration(missing)
    message = str(err.value)
    assert str(missing) in message
    assert "0038044" in message and "Talent Migration" in message
    assert config.WORLDBANK_ENV_VAR in message
    assert isinstance(err.value, TalentMigrationError) and isinstance(err.value, ValueError)


def test_wrong_checksum_names_both_digests(tmp_path):
    path = write_workbook(tmp_path / "tiny.xlsx")
    with pytest.raises(ChecksumMismatchError) as err:
        load_talent_migration(path)
    message = str(err.value)
    assert SHA256 in message
    assert err.value.got in message and err.value.got != SHA256
    assert str(path) in message


def test_missing_sheet_is_named(tmp_path):
    path = write_workbook(tmp_path / "tiny.xlsx", drop_sheet="Industry Migration")
    with pytest.raises(SheetMissingError) as err:
        load_talent_migration(path, verify=False)
    assert "'Industry Migration'" in str(err.value)
    assert "Skill Migration" in str(err.value)  # the sheets found are listed


def test_renamed_column_names_sheet_expected_and_found(tmp_path):
    path = write_workbook(
        tmp_path / "tiny.xlsx", rename=("Skill Migration", "skill_group_name", "skill_group")
    )
    with pytest.raises(ColumnMissingError) as err:
        load_talent_migration(path, verify=False)
    message = str(err.value)
    assert "'Skill Migration'" in message
    assert "['skill_group_name']" in message  # expected
    assert "'skill_group'" in message  # found instead
    assert err.value.sheet == "Skill Migration"


def test_renamed_year_column_is_caught(tmp_path):
    path = write_workbook(
        tmp_path / "tiny.xlsx", rename=("Country Migration", "net_per_10K_2017", "net_2017")
    )
    with pytest.raises(ColumnMissingError, match=r"'Country Migration'.*net_per_10K_2017"):
        load_talent_migration(path, verify=False)


def test_text_in_a_number_column_names_the_row(tmp_path):
    path = write_workbook(tmp_path / "tiny.xlsx", cell=("Skill Migration", 2, 10, "n/a?"))
    with pytest.raises(
        WorkbookValueError, match=r"'Skill Migration'.*net_per_10K_2017.*row\(s\) 2"
    ):
        load_talent_migration(path, verify=False)


def test_not_an_xlsx_file(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(TalentMigrationError, match="cannot be opened"):
        load_talent_migration(path, verify=False)


def test_tiny_workbook_loads_and_keeps_namibia(tmp_path):
    """The fake is valid apart from the defects above; 'na' is Namibia, not a missing value."""
    out = load_talent_migration(write_workbook(tmp_path / "tiny.xlsx"), verify=False)
    assert not out.metadata.verified
    assert set(out.country_migration["base_iso3"]) == {"KOR", "NAM"}
    assert out.country_migration["base_income_group"].cat.categories[-1] == "High income"
    assert _value(
        out.country_migration, "net_per_10k_base_members", base_iso3="NAM", year=2019
    ) == pytest.approx(-5)
    assert out.skill_migration["year"].dtype == np.int64


def test_path_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "SHARED_DIR", tmp_path / "shared")
    monkeypatch.delenv(config.WORLDBANK_ENV_VAR, raising=False)
    path, how = resolve_path()
    assert (
        path == tmp_path / "shared" / "data" / "worldbank-linkedin-talent-migration-2015-2019.xlsx"
    )
    assert "default" in how
    monkeypatch.setenv(config.WORLDBANK_ENV_VAR, str(tmp_path / "env.xlsx"))
    assert resolve_path() == (
        tmp_path / "env.xlsx",
        f"environment variable {config.WORLDBANK_ENV_VAR}",
    )
    assert resolve_path(tmp_path / "arg.xlsx") == (tmp_path / "arg.xlsx", "argument")


# --------------------------------------------------------------------------- loader: real file
def test_values_read_off_the_spreadsheet(tm):
    # 'Skill Migration'!H8498 (kr, Artificial Intelligence (AI), net_per_10K_2015) = -142.87
    # 'Skill Migration'!K8498 (same row, net_per_10K_2018) = 17.02
    skill = tm.skill_migration
    column = "net_per_10k_skill_members"
    assert _value(skill, column, iso3="KOR", skill_group_name=AI, year=2015) == -142.87
    assert _value(skill, column, iso3="KOR", skill_group_name=AI, year=2018) == 17.02
    # 'Country Migration'!M2372 (base kr, target us, net_per_10K_2015) = -3.66
    # 'Country Migration'!P2372 (same row, net_per_10K_2018) = 2.2
    # 'Country Migration'!C2372:D2372 (base_lat, base_long of kr) = 35.907757, 127.766922
    country = tm.country_migration
    column = "net_per_10k_base_members"
    assert _value(country, column, base_iso3="KOR", target_iso3="USA", year=2015) == -3.66
    assert _value(country, column, base_iso3="KOR", target_iso3="USA", year=2018) == 2.2
    assert _value(country, "base_lat", base_iso3="KOR", target_iso3="USA", year=2015) == 35.907757
    assert _value(country, "base_lon", base_iso3="KOR", target_iso3="USA", year=2015) == 127.766922
    # 'Industry Migration'!I2982 (kr, Computer Software, net_per_10K_2015) = 83.16
    # 'Industry Migration'!M2982 (same row, net_per_10K_2019) = 7.94
    industry = tm.industry_migration
    column = "net_per_10k_industry_members"
    assert (
        _value(industry, column, iso3="KOR", industry_name="Computer Software", year=2015) == 83.16
    )
    assert (
        _value(industry, column, iso3="KOR", industry_name="Computer Software", year=2019) == 7.94
    )


def test_tables_are_tidy(tm):
    # data rows in the sheets (rows 2..N): 17,617 skill, 5,295 industry, 4,148 pairs; x 5 years
    expected = {"skill_migration": 17_617, "industry_migration": 5_295, "country_migration": 4_148}
    keys = {
        "skill_migration": ["iso3", "skill_group_id", "year"],
        "industry_migration": ["iso3", "industry_id", "year"],
        "country_migration": ["base_iso3", "target_iso3", "year"],
    }
    for name, rows in expected.items():
        table = getattr(tm, name)
        assert len(table) == rows * 5
        assert not table[keys[name]].isna().any().any()
        assert not table.duplicated(keys[name]).any()
        assert sorted(table["year"].unique()) == [2015, 2016, 2017, 2018, 2019]
        assert table["year"].dtype == np.int64
        assert tm.metadata.value_columns[name] in table
    assert tm.metadata.verified and tm.metadata.sha256 == SHA256
    assert "skill" in tm.metadata.normalisation["skill_migration"]
    assert "base country" in tm.metadata.normalisation["country_migration"]
    assert "LinkedIn" in tm.metadata.attribution and "World Bank" in tm.metadata.attribution


def test_iso3_codes_agree_with_country_names(tm):
    countries = tm.countries()
    assert len(countries) == 140
    assert countries[["lat", "lon"]].notna().all().all()
    by_name = names_to_iso3(countries["name"])
    assert countries["name"].map(by_name).tolist() == countries["iso3"].tolist()
    assert set(tm.skill_migration["iso3"]) <= set(countries["iso3"])


# --------------------------------------------------------------------------- a. three sources
def test_korea_ai_net_migration_lines_up_sources(tm, figures):
    out = korea_ai_net_migration(tm, figures)
    table = out.table
    wb = table[table["source"].str.startswith("World Bank")].set_index("year")["value"]
    assert wb.to_dict() == {2015: -142.87, 2016: -93.8, 2017: -68.52, 2018: 17.02, 2019: -26.03}
    ai_index = table[table["source"].str.startswith("Stanford")].set_index("year")["value"]
    assert ai_index.to_dict() == {2020: 0.3, 2023: -0.3, 2024: -0.36}
    bok = table[table["source"].str.startswith("Bank of Korea")].set_index("year")["sign"]
    assert list(bok.index) == list(range(2010, 2025))
    assert bok[2020] == 1 and (bok.drop(2020) == -1).all()
    agreement = out.agreement.set_index("year")["agree"]
    assert agreement.to_dict() == {
        2015: True, 2016: True, 2017: True, 2018: False, 2019: True,
        2020: True, 2023: True, 2024: True,
    }  # fmt: skip
    assert table.loc[table["year"] == 2012, "agrees_with_other_sources"].isna().all()
    assert "per 10,000" in out.explanation and "2018" in out.explanation


# --------------------------------------------------------------------------- b. AI vs other skills
def test_ai_vs_other_skills(tm, skills):
    from linearmodels.iv.absorbing import AbsorbingLS

    tidy = skills.tidy()
    assert list(tidy["model"]) == ["cluster_country", "cluster_skill", "cluster_country_skill"]
    b = skills.main.params[TERM]
    assert b == pytest.approx(57.2694, abs=1e-3)
    assert skills.main.info["clusters"] == 140
    # Independent reference: linearmodels' AbsorbingLS on the same panel (same point
    # estimate; clustered SE equal up to the small-sample factor, within 3%).
    panel = skill_panel(tm)
    absorb = pd.DataFrame({c: panel[c].astype("category") for c in ("country_year", "skill_year")})
    ref = AbsorbingLS(panel["net_per_10k_skill_members"], panel[[TERM]], absorb=absorb).fit(
        cov_type="clustered", clusters=panel["iso3"].astype("category").cat.codes
    )
    assert float(ref.params[TERM]) == pytest.approx(b, rel=1e-6)
    assert float(ref.std_errors[TERM]) == pytest.approx(skills.main.std_errors[TERM], rel=0.03)
    # The placebo for Korea is the same regression (Frisch-Waugh-Lovell on demeaned data).
    placebo = skills.placebo.set_index("iso3")["estimate"]
    assert placebo["KOR"] == pytest.approx(b, rel=1e-6)
    share = float((placebo.abs() >= abs(b) - 1e-9).mean())
    assert skills.ri_p_value == pytest.approx(share)
    assert 0 < skills.ri_p_value <= 1
    cells = skills.cells.set_index("year")
    assert cells.loc[2015, "target_skill"] == -142.87


# --------------------------------------------------------------------------- c. pay and mobility
def _brute_force_permutation_p(x, y):
    """All n! reassignments of x, slope by np.polyfit; two-sided."""
    observed = np.polyfit(x, y, 1)[0]
    slopes = [np.polyfit(np.array(p), y, 1)[0] for p in itertools.permutations(x)]
    return sum(abs(s) >= abs(observed) - 1e-9 for s in slopes) / math.factorial(len(x))


def _brute_force_wild_p(x, y):
    """All 2**n Rademacher sign vectors, null imposed, classical t of the slope."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    design = np.column_stack([np.ones_like(x), x])

    def tstat(values):
        coef, ssr, *_ = np.linalg.lstsq(design, values, rcond=None)
        cov = ssr[0] / (len(x) - 2) * np.linalg.inv(design.T @ design)
        return coef[1] / math.sqrt(cov[1, 1])

    observed = tstat(y)
    draws = [
        tstat(y.mean() + np.array(v) * (y - y.mean()))
        for v in itertools.product([1, -1], repeat=len(x))
    ]
    return sum(abs(t) >= abs(observed) - 1e-9 for t in draws) / 2 ** len(x)


def test_compensation_mobility_link(tm, figures):
    res = compensation_mobility_link(tm, figures)
    points = res.points.set_index("iso3")
    assert list(points.index) == ["KOR", "USA", "CAN", "GBR", "FRA", "AUS"]
    assert points["premium_pct"].to_dict() == {
        "KOR": 6.0, "USA": 25.0, "CAN": 18.0, "GBR": 15.0, "FRA": 15.0, "AUS": 15.0
    }  # fmt: skip
    # Korea's mean 2015-2019 from the five cells H8498:L8498 of 'Skill Migration'
    korea = np.mean([-142.87, -93.8, -68.52, 17.02, -26.03])
    assert points.loc["KOR", "ai_net_per_10k_skill_members"] == pytest.approx(korea)
    x = points["premium_pct"].to_numpy()
    y = points["ai_net_per_10k_skill_members"].to_numpy()
    assert res.slope == pytest.approx(np.polyfit(x, y, 1)[0])
    assert res.permutation.n_draws == 720 and res.permutation.exact
    assert res.permutation.p_value == pytest.approx(_brute_force_permutation_p(x, y))
    assert res.wild_bootstrap.n_draws == 64 and res.wild_bootstrap.exact
    assert res.wild_bootstrap.p_value == pytest.approx(_brute_force_wild_p(x, y))
    row = res.tidy().set_index("term").loc["premium_pct"]
    assert row["permutation_p_value"] == res.permutation.p_value
    assert "Six points" in res.note
    one_year = compensation_mobility_link(tm, figures, year=2019)
    assert one_year.points.set_index("iso3").loc["KOR", "ai_net_per_10k_skill_members"] == -26.03


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_sample_tests_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=6)  # continuous: no two permutations give the observed slope
    y = 2 * x + rng.normal(size=6)
    assert permutation_slope_test(x, y).p_value == pytest.approx(_brute_force_permutation_p(x, y))
    assert wild_bootstrap_slope_test(x, y).p_value == pytest.approx(_brute_force_wild_p(x, y))
    fit = ols_slope(x, y)
    assert fit.slope == pytest.approx(np.polyfit(x, y, 1)[0])
    greater = permutation_slope_test(x, y, alternative="greater").p_value
    less = permutation_slope_test(x, y, alternative="less").p_value
    assert greater + less == pytest.approx(1 + 1 / 720)  # the observed slope is in both


# --------------------------------------------------------------------------- d. bilateral
def test_great_circle_distance():
    # Seoul (37.5665 N, 126.9780 E) to Washington, DC (38.9072 N, 77.0369 W): about 11,100 km
    seoul_washington = float(great_circle_km(37.5665, 126.9780, 38.9072, -77.0369))
    assert 11_000 < seoul_washington < 11_300
    # Independent formula: spherical law of cosines.
    p1, p2 = math.radians(37.5665), math.radians(38.9072)
    dlon = math.radians(-77.0369 - 126.9780)
    cosines = EARTH_RADIUS_KM * math.acos(
        math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dlon)
    )
    assert seoul_washington == pytest.approx(cosines, rel=1e-9)
    assert float(great_circle_km(0, 0, 0, 180)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert float(great_circle_km(10, 20, 10, 20)) == 0.0


def test_korea_bilateral(tm):
    out = korea_bilateral(tm, top=5)
    assert out["partner_iso3"].unique().tolist()[0] == "USA"
    assert out["rank"].max() == 5 and len(out) == 25
    usa = out[out["partner_iso3"] == "USA"].set_index("year")
    assert usa.loc[2015, "net_per_10k_base_members"] == -3.66
    assert usa.loc[2015, "partner_view_net_per_10k_partner_members"] == 0.04
    assert out["signs_mirror"].all()
    assert 10_000 < usa["distance_km"].iloc[0] < 11_500  # centroid to centroid
    total = bilateral_net_total(tm).set_index("year")
    assert total.loc[2015, "partners"] == 42
    korea_2015 = tm.country_migration.query("base_iso3 == 'KOR' and year == 2015")
    assert total.loc[2015, "net_per_10k_base_members"] == pytest.approx(
        korea_2015["net_per_10k_base_members"].sum()
    )


def test_gravity_bilateral(gravity):
    tidy = gravity.tidy()
    assert set(tidy["model"]) == {
        "signed_income",
        "signed_income_cluster_base",
        "signed_income_cluster_base_target",
        "signed_fe",
        "abs_ppml",
    }
    head = gravity.models["signed_income"]
    assert list(head.params.index) == ["log_distance", *INCOME_TERMS]
    for label in ("signed_income_cluster_base", "signed_income_cluster_base_target"):
        assert np.allclose(gravity.models[label].params, head.params)
    assert (head.std_errors > 0).all()
    assert abs(head.params["log_distance"]) < 2 * head.std_errors["log_distance"]
    assert head.params["target_upper_middle"] > 0 > head.params["base_upper_middle"]
    ppml = gravity.models["abs_ppml"]
    assert ppml.params["log_distance"] < 0
    assert np.isfinite(tidy["std_error"]).all()


def test_dyadic_vcov_matches_brute_force():
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 6, 80), rng.integers(0, 6, 80)
    keep = a != b
    a, b = a[keep], b[keep]
    x = np.column_stack([np.ones(len(a)), rng.normal(size=len(a))])
    u = rng.normal(size=len(a))
    meat = np.zeros((2, 2))
    for i, j in itertools.product(range(len(a)), repeat=2):
        if {a[i], b[i]} & {a[j], b[j]}:
            meat += np.outer(x[i] * u[i], x[j] * u[j])
    bread = np.linalg.inv(x.T @ x)
    g = len(set(a) | set(b))
    expected = g / (g - 1) * bread @ meat @ bread
    assert np.allclose(dyadic_vcov(x, u, a, b), expected)
    with pytest.raises(ValueError, match="itself"):
        dyadic_vcov(x[:2], u[:2], [1, 2], [1, 3])


def test_all_tables_for_the_report(tm, figures, skills, gravity, monkeypatch):
    from analysis.realdata import talent_migration

    # The two slow fits are reused from the module fixtures; the assembly is what is tested.
    monkeypatch.setattr(talent_migration, "ai_vs_other_skills", lambda _tm: skills)
    monkeypatch.setattr(talent_migration, "gravity_bilateral", lambda _tm: gravity)
    tables = talent_migration_tables(tm, figures)
    assert {"korea_ai_net_migration", "gravity_bilateral", "notes"} <= set(tables)
    assert all(isinstance(t, pd.DataFrame) and len(t) for t in tables.values())
    assert tables["notes"]["note"].str.len().gt(100).all()
