"""Monte Carlo coverage of the estimators' 95% intervals (slow: run with ``-m slow``).

Each replication draws a panel from a known data-generating process with person-level
clustering (a person effect and repeated years), weights and fixed effects, estimates,
and records whether the 95% interval covers the truth. With R replications the
coverage rate has a Monte Carlo standard error of sqrt(0.95 * 0.05 / R); the test
accepts coverage within 3 such standard errors of 0.95.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimate.compressed import compressed_feols
from analysis.estimate.mobility import logit_ame
from analysis.estimate.premium import estimate_premium

pytestmark = pytest.mark.slow
R = 300


def _panel(rng: np.random.Generator, persons: int = 400, years: int = 5) -> pd.DataFrame:
    pid = np.repeat(np.arange(persons), years)
    ai = np.repeat(rng.random(persons) < 0.3, years).astype(float)
    job = np.repeat(rng.integers(0, 5, persons), years)
    year = np.tile(np.arange(years), persons)
    effect = np.repeat(rng.normal(0, 0.3, persons), years)
    weight = np.repeat(rng.uniform(0.5, 2.0, persons), years)
    y = np.log(1.06) * ai + 0.1 * job + 0.02 * year + effect + rng.normal(0, 0.2, len(pid))
    return pd.DataFrame(
        {
            "user_id": pid,
            "ai": ai,
            "job": job,
            "year": year,
            "weight": weight,
            "log_salary": y,
            "region": pid % 40,
        }
    )


def _coverage(hits: list[bool]) -> tuple[float, float]:
    rate = float(np.mean(hits))
    return rate, 3 * np.sqrt(0.95 * 0.05 / len(hits))


def test_premium_interval_coverage():
    rng = np.random.default_rng(1)
    hits = []
    for _ in range(R):
        res = estimate_premium(
            _panel(rng),
            "log_salary ~ ai | job + year",
            weights="weight",
            vcov={"CRV1": "user_id"},
        )
        low, high = res.conf_int().loc["ai"]
        hits.append(low <= np.log(1.06) <= high)
    rate, tol = _coverage(hits)
    assert abs(rate - 0.95) < tol, rate


def test_compressed_interval_coverage_clustered_by_region():
    rng = np.random.default_rng(2)
    hits = []
    for _ in range(R):
        data = _panel(rng)
        res = compressed_feols(
            data,
            "log_salary",
            "ai",
            fixed_effects=["job", "year", "region"],
            weights="weight",
            vcov={"CRV1": "region"},
        )
        low, high = res.conf_int().loc["ai"]
        hits.append(low <= np.log(1.06) <= high)
    rate, tol = _coverage(hits)
    # region clusters are coarser than the person effect: coverage should hold
    assert abs(rate - 0.95) < tol, rate


def test_logit_ame_interval_coverage():
    rng = np.random.default_rng(3)
    hits = []
    for _ in range(R):
        n = 3000
        gain = rng.normal(0.1, 0.1, n)
        p = 1 / (1 + np.exp(-(-2.5 + 3.0 * gain)))
        df = pd.DataFrame(
            {
                "gain": gain,
                "y": (rng.random(n) < p).astype(float),
                "weight": rng.uniform(0.5, 2, n),
                "user_id": np.arange(n),
            }
        )
        truth = np.average(3.0 * p * (1 - p), weights=df["weight"])
        res = logit_ame(df, "y", ["gain"], weights="weight", vcov={"CRV1": "user_id"})
        low, high = res.conf_int().loc["gain"]
        hits.append(low <= truth <= high)
    rate, tol = _coverage(hits)
    assert abs(rate - 0.95) < tol, rate
