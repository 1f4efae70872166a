"""Workforce estimators: stocks, flows, overseas shares, on panels with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.estimate.workforce import (
    flows,
    overseas_by_destination,
    overseas_share,
    stocks,
    transitions,
)
from analysis.sources.population import load_population


@pytest.fixture
def panel() -> pd.DataFrame:
    # person 1: KOR -> USA in 2012 (emigrates), back to KOR in 2013
    # person 2: KOR all years; person 3: USA all years; person 4: KOR 2011, gap, USA 2013
    rows = [
        (1, 2011, "KOR", True, 10.0),
        (1, 2012, "USA", True, 10.0),
        (1, 2013, "KOR", True, 10.0),
        (2, 2011, "KOR", False, 20.0),
        (2, 2012, "KOR", True, 20.0),
        (2, 2013, "KOR", True, 20.0),
        (3, 2011, "USA", True, 50.0),
        (3, 2012, "USA", False, 50.0),
        (3, 2013, "USA", True, 50.0),
        (4, 2011, "KOR", True, 5.0),
        (4, 2013, "USA", True, 5.0),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "year", "country", "ai", "weight"])
    frame["origin"] = frame["user_id"].map({1: "KOR", 2: "KOR", 3: "USA", 4: "KOR"})
    return frame


def test_stocks_by_country_year(panel):
    table = stocks(panel, weights="weight").set_index(["country", "year"])
    assert table.loc[("KOR", 2011), "ai_workers"] == 15.0  # persons 1 and 4
    assert table.loc[("KOR", 2011), "workers"] == 35.0
    assert table.loc[("KOR", 2012), "ai_workers"] == 20.0  # person 2 only
    assert table.loc[("USA", 2012), "ai_workers"] == 10.0  # person 1; person 3 not AI
    assert table.loc[("KOR", 2011), "ai_workers_se"] == pytest.approx(np.sqrt(100 + 25))
    assert table.loc[("KOR", 2011), "ai_share"] == pytest.approx(100 * 15 / 35)


def test_transitions_skip_gaps(panel):
    steps = transitions(panel)
    assert not ((steps["user_id"] == 4) & (steps["year"] == 2013)).any()
    assert len(steps) == 2 + 2 + 2  # persons 1-3, two adjacent pairs each


@pytest.mark.parametrize("with_prev_column", [False, True])
def test_transitions_equal_sorting_the_whole_panel(with_prev_column):
    """transitions() sorts only its key columns: the same frame as the definition."""
    rng = np.random.default_rng(4)
    n = 3000
    panel = pd.DataFrame(
        {
            "user_id": rng.integers(0, 400, n),
            "year": rng.integers(2010, 2020, n),
            "country": rng.choice(["KOR", "USA", "CAN", None], n),
            "weight": rng.uniform(1, 5, n),
            "ai": rng.random(n) < 0.3,
        },
        index=rng.permutation(n) + 100,
    ).drop_duplicates(["user_id", "year"])
    if with_prev_column:
        panel.insert(2, "prev_country", "stale")
    ordered = panel.sort_values(["user_id", "year"])
    prev = ordered.groupby("user_id")[["year", "country"]].shift()
    expected = ordered.assign(prev_year=prev["year"], prev_country=prev["country"])
    expected = expected[expected["prev_year"] == expected["year"] - 1].drop(columns="prev_year")
    pd.testing.assert_frame_equal(transitions(panel), expected)


def test_flows_in_out_net(panel):
    table = flows(panel, only_ai=True, weights="weight").set_index(["country", "year"])
    assert table.loc[("KOR", 2012), "outflow"] == 10.0
    assert table.loc[("USA", 2012), "inflow"] == 10.0
    assert table.loc[("KOR", 2013), "inflow"] == 10.0
    assert table.loc[("KOR", 2013), "net_inflow"] == 10.0
    assert table.loc[("USA", 2013), "net_inflow"] == -10.0
    assert table.loc[("KOR", 2012), "net_per_10k_workers"] == pytest.approx(1e4 * -10 / 20)
    # every outflow is someone's inflow
    assert table["inflow"].sum() == pytest.approx(table["outflow"].sum())


def test_flows_per_10k_residents():
    pop = load_population()
    panel = pd.DataFrame(
        {
            "user_id": [1, 1],
            "year": [2023, 2024],
            "country": ["KOR", "USA"],
            "ai": [True, True],
            "weight": [1000.0, 1000.0],
        }
    )
    table = flows(panel, population=pop, weights="weight").set_index(["country", "year"])
    kor_pop = pop.set_index(["country", "year"]).loc[("KOR", 2024), "population"]
    assert table.loc[("KOR", 2024), "net_per_10k_residents"] == pytest.approx(-1e7 / kor_pop)


def test_overseas_share_and_its_standard_error_match_a_weighted_mean_regression():
    rng = np.random.default_rng(5)
    n = 3000
    panel = pd.DataFrame(
        {
            "user_id": np.arange(n),
            "year": 2024,
            "origin": "KOR",
            "ai": rng.random(n) < 0.3,
            "weight": rng.uniform(1, 5, n),
        }
    )
    abroad = rng.random(n) < np.where(panel["ai"], 0.16, 0.10)
    panel["country"] = np.where(abroad, "USA", "KOR")
    table = overseas_share(panel, weights="weight").set_index("group")
    assert list(table.index) == ["ai", "non_ai", "ai_minus_non_ai"]
    for flag, group in ((True, "ai"), (False, "non_ai")):
        g = panel[panel["ai"] == flag]
        fit = sm.WLS(
            (g["country"] != "KOR").astype(float), np.ones(len(g)), weights=g["weight"]
        ).fit(cov_type="HC0")
        assert table.loc[group, "share_abroad"] == pytest.approx(100 * fit.params.iloc[0])
        assert table.loc[group, "share_abroad_se"] == pytest.approx(100 * fit.bse.iloc[0])
    gap = table.loc["ai_minus_non_ai"]
    assert gap["share_abroad"] == pytest.approx(
        table.loc["ai", "share_abroad"] - table.loc["non_ai", "share_abroad"]
    )


def test_destinations_share_sums_to_100(panel):
    table = overseas_by_destination(panel, weights="weight")
    sums = table.groupby(["origin", "year", "ai"])["share_of_abroad"].sum()
    assert np.allclose(sums, 100.0)
    kor = table[(table["origin"] == "KOR") & (table["year"] == 2013) & table["ai"]]
    assert kor.set_index("destination")["workers"].to_dict() == {"USA": 5.0}
