"""Counterfactual premiums: predictions against a known data-generating process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimate.counterfactual import premium_counterfactual, scenario_shifts


def _simulate(
    rng: np.random.Generator, n: int, intercept: float, slope: float, outcome: str
) -> pd.DataFrame:
    gap = rng.normal(0.15, 0.06, n)
    p = 1 / (1 + np.exp(-(intercept + slope * gap)))
    return pd.DataFrame(
        {
            "premium_gap": gap,
            outcome: (rng.random(n) < p).astype(float),
            "weight": rng.uniform(1, 3, n),
            "user_id": np.arange(n),
        }
    )


TRUTH = {"emig": (-4.0, 6.0), "ret": (-2.0, -5.0)}


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(42)
    home = _simulate(rng, 60000, *TRUTH["emig"], "emigrate_next")
    abroad = _simulate(rng, 15000, *TRUTH["ret"], "return_next")
    return home, abroad


def _true(frame: pd.DataFrame, params: tuple[float, float], shift: float) -> float:
    a, b = params
    p = 1 / (1 + np.exp(-(a + b * (frame["premium_gap"] - shift))))
    return float(np.average(p, weights=frame["weight"]))


def test_counterfactual_recovers_true_rates_and_changes(samples):
    home, abroad = samples
    shifts = scenario_shifts(6.0, {"canada": 18.0, "us": 25.0})
    table = premium_counterfactual(home, abroad, scenarios=shifts).set_index(
        ["scenario", "quantity"]
    )
    for scenario, shift in shifts.items():
        e = _true(home, TRUTH["emig"], shift)
        r = _true(abroad, TRUTH["ret"], shift)
        for quantity, truth in (
            ("emigration_rate", 100 * e),
            ("return_rate", 100 * r),
            ("overseas_share", 100 * e / (e + r)),
        ):
            row = table.loc[(scenario, quantity)]
            assert abs(row["estimate"] - truth) < 3.5 * row["std_error"], (scenario, quantity)
    # a higher home premium means fewer leave, more return, a smaller share abroad
    us = table.loc["us"]
    assert us.loc["emigration_rate", "change"] < 0 < us.loc["return_rate", "change"]
    assert us.loc["overseas_share", "change"] < 0
    assert table.loc[("baseline", "net_outflow"), "change"] == 0.0
    assert abs(us.loc["overseas_share", "change"]) > 2 * us.loc["overseas_share", "change_se"]


def test_scenario_shifts():
    shifts = scenario_shifts(6.0, {"canada": 18.0})
    assert shifts["canada"] == pytest.approx(np.log(1.18 / 1.06))
