"""Emigration, return and flow outcomes when a year's location is unknown.

A job with no location is neither a stay nor a move: the person-year pair is left out
of the risk sets (and counted), and a row with no country is never "abroad".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.estimate.stage import next_year_outcomes, unknown_location_counts
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
