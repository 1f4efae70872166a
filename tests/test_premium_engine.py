"""The estimate stage's bounded-memory path equals the in-memory one.

Premiums:
On one cleaned synthetic panel, every premium table the stage writes from DuckDB
(:mod:`analysis.estimate.premium_engine`) is compared with the pyfixest path it
replaces (:func:`analysis.estimate.tables.premium_tables`, ``skill_premiums``,
``skill_set_pay``): estimates to 1e-7 relative, and standard errors to within the
small-sample factor of the singleton rows pyfixest drops (the engine keeps them; they
change no estimate), which the test bounds from the row counts.

The other tables: computed from the compact frame the stage reads
(:func:`analysis.estimate.panel_frame.read_panel_frame`: categoricals, the cleaning's
``prev_country`` instead of re-sorting, the Korean-origin mobility samples with the
design of AI rows only) they equal the same functions on the whole prepared panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.clean import clean_delivery
from analysis.config import FOCAL_COUNTRY
from analysis.estimate import premium_engine as engine
from analysis.estimate.gravity import bilateral_flows
from analysis.estimate.panel_frame import (
    FRAME_COLUMNS,
    prepare_panel,
    read_home_positions,
    read_panel_frame,
    skill_columns,
    with_positions,
)
from analysis.estimate.profiles import profile_tables
from analysis.estimate.samples import emigration_samples, location_missing_rates, mobility_samples
from analysis.estimate.skillpay import premium_difference, skill_set_design
from analysis.estimate.tables import engine_premium_tables, premium_tables, skill_set_pay
from analysis.estimate.workforce import (
    flows,
    overseas_by_destination,
    overseas_share,
    stocks,
    transitions,
)
from analysis.sources.synthetic import write_synthetic_delivery


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    root = tmp_path_factory.mktemp("premium_engine")
    write_synthetic_delivery(root / "delivery", seed=11, scale=0.25)
    clean_delivery(root / "delivery", root / "processed")
    path = root / "processed" / "panel.parquet"
    panel = prepare_panel(pd.read_parquet(path))
    con = engine.connect(memory_limit="1GB", temp_directory=root / "spill")
    tables, pay = engine_premium_tables(con, path, skill_columns(panel))
    con.close()
    frame = read_panel_frame(path, [*FRAME_COLUMNS, *skill_columns(panel)])
    # the stage reads the main positions for the rows of Korean origin only
    home = with_positions(frame[frame["origin"] == FOCAL_COUNTRY], read_home_positions(path))
    return panel, tables, pay, frame, home


@pytest.fixture(scope="module")
def reference(cleaned):
    panel = cleaned[0]
    return premium_tables(panel), skill_set_pay(panel)[0]


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str]) -> None:
    assert list(ours.columns) == list(theirs.columns)
    ours, theirs = ours.reset_index(drop=True), theirs.reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[keys], theirs[keys], check_dtype=False)
    assert (ours["n_treated"] == theirs["n_treated"]).all()
    # the same rows get a note; why a model is not estimable is worded by each estimator
    kind = [t["note"].fillna("").str.split(":").str[0] for t in (ours, theirs)]
    assert (kind[0] == kind[1]).all()
    fitted = theirs["estimate"].notna()
    assert (ours["estimate"].notna() == fitted).all()
    np.testing.assert_allclose(
        ours.loc[fitted, "estimate"], theirs.loc[fitted, "estimate"], rtol=1e-7, atol=1e-10
    )
    # pyfixest drops singleton rows (fewer rows, as many fewer levels): only the factor
    # (N - 1) / (N - K) differs, by less than dropped / (N - K) on the variance
    dropped = ours.loc[fitted, "nobs"] - theirs.loc[fitted, "nobs"]
    assert (dropped >= 0).all()
    bound = dropped / (theirs.loc[fitted, "nobs"] * 0.5) + 1e-7
    ratio = ours.loc[fitted, "std_error"] / theirs.loc[fitted, "std_error"]
    assert (np.abs(ratio - 1) <= bound).all(), (ratio - 1).abs().max()


def test_premium_by_country_and_year_equal_pyfixest(cleaned, reference):
    tables = cleaned[1]
    ref, _ = reference
    _compare(tables["premium_by_country"], ref["premium_by_country"], ["country"])
    _compare(tables["premium_kr_by_year"], ref["premium_kr_by_year"], ["year"])


def test_skill_premiums_equal_pyfixest(cleaned, reference):
    tables = cleaned[1]
    ref, _ = reference
    _compare(tables["premium_by_skill"], ref["premium_by_skill"], ["country", "skill"])


def test_skill_set_premiums_equal_pyfixest(cleaned, reference):
    pay = cleaned[2]
    _, ref = reference
    assert list(pay.params.index) == [FOCAL_COUNTRY, "USA"]
    np.testing.assert_allclose(pay.params, ref.params, rtol=1e-6, atol=1e-9)
    for country in pay.params.index:
        ours = np.sqrt(np.diag(pay.cov[country].to_numpy()))
        theirs = np.sqrt(np.diag(ref.cov[country].to_numpy()))
        np.testing.assert_allclose(ours, theirs, rtol=2e-3)
        assert pay.n_ai[country] == ref.n_ai[country]
    assert pay.info["unidentified"] == ref.info["unidentified"]


def test_a_non_ai_row_holding_a_skill_is_an_error(tmp_path):
    frame = pd.DataFrame(
        {
            "user_id": [1, 2],
            "country": ["KOR", "KOR"],
            "year": [2024, 2024],
            "weight": [1.0, 1.0],
            "log_salary": [10.0, 10.5],
            "ai": [False, True],
            "ai_robotics": [True, True],
        }
    )
    frame.to_parquet(tmp_path / "panel.parquet")
    con = engine.connect(memory_limit="500MB")
    engine.premium_view(con, tmp_path / "panel.parquet", ["ai_robotics"])
    with pytest.raises(ValueError, match="1 rows hold an AI skill cluster but are not AI"):
        engine.skill_premiums_engine(con, ["ai_robotics"], fixed_effects=[])


def _same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        ours.reset_index(drop=True).astype(
            {c: object for c in ours if ours[c].dtype == "category"}
        ),
        theirs.reset_index(drop=True),
        check_dtype=False,
        check_categorical=False,
        rtol=1e-9,
    )


def test_transitions_from_the_cleaning_columns_equal_recomputing_them(cleaned):
    panel = cleaned[0]
    recomputed = transitions(panel.drop(columns=["prev_year_observed"]))
    given = transitions(panel)
    _same(given[["user_id", "year", "country", "prev_country"]],
          recomputed[["user_id", "year", "country", "prev_country"]])  # fmt: skip


def test_workforce_and_profile_tables_from_the_compact_frame(cleaned):
    panel, frame = cleaned[0], cleaned[3]
    assert (frame["country"].dtype == "category") and len(frame) == len(panel)
    for function in (stocks, flows, overseas_share, overseas_by_destination):
        _same(function(frame), function(panel))
    _same(
        flows(frame, only_ai=False, weights="weight"), flows(panel, only_ai=False, weights="weight")
    )
    for name, table in profile_tables(frame).items():
        _same(table, profile_tables(panel)[name])


def test_mobility_samples_and_flows_from_the_compact_frame(cleaned):
    """The mobility samples (the joint model's input; the model itself needs a larger
    world than this one to converge) and the bilateral flows."""
    panel, tables, pay, frame, home = cleaned
    difference, _ = premium_difference(pay, destination="USA", home=FOCAL_COUNTRY)
    skills = skill_columns(panel)
    ours = mobility_samples(home, skills, difference)
    theirs = mobility_samples(panel, skills, difference)
    assert (ours[0]["location_weight"] > 1).any()  # the positions reached the samples
    # job_change is read as False where missing (a documented choice of the frame)
    # one pairing gives the risk sets and the rates they are reweighted for
    pd.testing.assert_series_equal(ours.location_missing, location_missing_rates(home))
    pd.testing.assert_series_equal(ours.location_missing, theirs.location_missing)
    frames = [t.drop(columns="job_change") for t in theirs[:3]]
    for mine, reference in zip(ours[:3], frames, strict=True):
        assert list(mine.index) == list(reference.index)
        _same(mine[list(reference.columns.intersection(mine.columns))],
              reference[list(reference.columns.intersection(mine.columns))])  # fmt: skip
    # the samples hold what emigration_samples (design for every row) gives
    design = skill_set_design(panel, skills)
    at_home, abroad = emigration_samples(panel, design, difference)
    assert len(ours[0]) == len(at_home)
    np.testing.assert_allclose(ours[0]["pay_gain"], at_home["pay_gain"], rtol=1e-12)
    ai_home = at_home[at_home["ai"]]
    np.testing.assert_allclose(ours[1][design.columns], ai_home[design.columns])
    assert len(ours[2]) == int(abroad["ai"].sum())
    premiums = tables["premium_by_skill"]
    _same(bilateral_flows(frame, premiums), bilateral_flows(panel, premiums))
    # the AI rows with a previous year, taken before the copy, give the flows of the
    # transitions recomputed from the whole panel
    recomputed = bilateral_flows(
        panel.drop(columns=["prev_country", "prev_year_observed"]), premiums
    )
    _same(bilateral_flows(frame, premiums), recomputed)
