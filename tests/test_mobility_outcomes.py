"""Emigration, return and flow outcomes when a year's location is unknown.

A job with no location is neither a stay nor a move: the person-year pair is left out
of the risk sets (and counted), and a row with no country is never "abroad". Since only
a new position can lack a location and every move starts one, the kept pairs with a new
position are weighted up so that the rates are not biased towards staying.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import EstimationDataError
from analysis.estimate.samples import (
    location_missing_rates,
    next_year_outcomes,
    unknown_location_counts,
)
from analysis.estimate.workforce import flows


def _panel(rows):
    frame = pd.DataFrame(rows, columns=["user_id", "year", "country"])
    return frame.assign(origin="KOR", ai=True, weight=1.0)


PANEL = _panel(
    [
        (1, 2020, "KOR"),  # at home, then a job with no location: no outcome
        (1, 2021, None),
        (2, 2020, None),  # no location, then abroad: not a return, not at risk
        (2, 2021, "USA"),
        (3, 2020, "KOR"),  # a real emigration
        (3, 2021, "USA"),
        (4, 2020, "USA"),  # a real return
        (4, 2021, "KOR"),
        (5, 2020, "USA"),  # abroad, then unknown: no outcome
        (5, 2021, None),
        (6, 2020, "KOR"),  # a stay
        (6, 2021, "KOR"),
    ]
)


def test_unknown_next_location_is_not_an_emigration():
    data = next_year_outcomes(PANEL)
    assert sorted(data["user_id"]) == [3, 4, 6]
    outcomes = data.set_index("user_id")
    assert outcomes.loc[3, "emigrate_next"] == 1.0
    assert outcomes.loc[6, "emigrate_next"] == 0.0
    assert outcomes.loc[4, "return_next"] == 1.0
    # nobody without a current country is in the abroad (return) risk set
    assert data["country"].notna().all()
    assert data["return_next"].sum() == 1.0 and data["emigrate_next"].sum() == 1.0


def test_unknown_locations_are_counted():
    counts = unknown_location_counts(PANEL)
    assert counts == {
        "pairs": 6,
        "unknown_first_year": 1,
        "unknown_second_year": 2,
        "unknown_both_years": 0,
    }


def test_flows_do_not_count_unknown_locations_as_moves():
    table = flows(PANEL, only_ai=True).set_index(["country", "year"])
    # KOR in 2021: one real outflow (person 3) and one real inflow (person 4)
    assert table.loc[("KOR", 2021), "outflow"] == 1.0
    assert table.loc[("KOR", 2021), "inflow"] == 1.0
    assert table.loc[("USA", 2021), "outflow"] == 1.0
    assert table.loc[("USA", 2021), "inflow"] == 1.0
    assert np.isclose(table["net_inflow"].sum(), 0.0)


def _movers_panel(missing_per_group: int) -> pd.DataFrame:
    """1,000 workers at home in 2020: 100 emigrate and 300 change jobs at home in 2021
    (both on a new position), 600 keep their position. In each new-position group,
    ``missing_per_group`` per hundred new positions have no location."""
    rows, pid = [], 0
    groups = (("USA", 100, True), ("KOR", 300, True), ("KOR", 600, False))
    person = 0
    for destination, count, new in groups:
        for i in range(count):
            person += 1
            pid += 1
            first = pid
            if new:
                pid += 1
            lost = new and i < count * missing_per_group // 100
            rows.append((person, 2020, "KOR", first))
            rows.append((person, 2021, None if lost else destination, pid))
    frame = pd.DataFrame(rows, columns=["user_id", "year", "country", "position_id"])
    return frame.assign(origin="KOR", ai=True, weight=1.0)


def test_dropping_unknown_locations_undercounts_movers():
    # 10% of new positions lose their location: 10 of the 100 emigrants. Left out, the
    # rate would be 90 / 960; the known new positions, weighted by 1 / (1 - 0.1), stand
    # for the lost ones and give the true 100 / 1000.
    data = next_year_outcomes(_movers_panel(10))
    at_home = data[data["country"] == "KOR"]
    assert len(at_home) == 960
    naive = at_home["emigrate_next"].mean()
    assert np.isclose(naive, 90 / 960)
    corrected = np.average(at_home["emigrate_next"], weights=at_home["risk_weight"])
    assert np.isclose(corrected, 0.10)
    assert np.isclose(at_home["risk_weight"].sum(), 1000.0)
    assert location_missing_rates(_movers_panel(10)).to_dict() == {2020: 0.1}


def test_no_missing_location_means_no_reweighting():
    data = next_year_outcomes(_movers_panel(0))
    assert (data["location_weight"] == 1.0).all()
    assert np.isclose(data["emigrate_next"].mean(), 0.10)


def test_mostly_missing_locations_are_refused():
    with pytest.raises(EstimationDataError, match="2020: 60%"):
        next_year_outcomes(_movers_panel(60))
