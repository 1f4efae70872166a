"""Mobility estimators against independent implementations and known truths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from analysis.estimate.mobility import (
    gravity_ppml,
    logit_ame,
    mobility_lpm,
    pay_gain,
    share_premium_slope,
)


@pytest.fixture(scope="module")
def persons() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 8000
    df = pd.DataFrame(
        {
            "ai": (rng.random(n) < 0.3).astype(float),
            "gain": rng.normal(0.1, 0.05, n),
            "x": rng.normal(size=n),
            "year": rng.integers(2015, 2020, n),
            "pid": rng.integers(0, 3000, n),
            "w": rng.uniform(0.5, 3, n),
        }
    )
    index = -3.0 + 0.5 * df["ai"] + 4.0 * df["gain"] * df["ai"] + 0.2 * df["x"]
    df["abroad"] = (rng.random(n) < 1 / (1 + np.exp(-index))).astype(float)
    df["gain_ai"] = df["gain"] * df["ai"]
    return df


def test_logit_ame_matches_statsmodels_margeff(persons):
    ours = logit_ame(persons, "abroad", ["ai", "x"], weights=None, vcov="hetero")
    ref = sm.Logit(persons["abroad"], sm.add_constant(persons[["ai", "x"]])).fit(
        disp=0, cov_type="HC1"
    )
    margeff = ref.get_margeff(at="overall", method="dydx", dummy=True)
    assert ours.params.to_numpy() == pytest.approx(margeff.margeff, abs=1e-6)
    # statsmodels' discrete-model "HC1" applies no n/(n-k) factor (it equals HC0); ours does
    factor = np.sqrt(len(persons) / (len(persons) - 3))
    assert ours.std_errors.to_numpy() == pytest.approx(margeff.margeff_se * factor, rel=1e-5)


def test_logit_ame_weighted_recovers_the_simulated_effect(persons):
    ours = logit_ame(
        persons, "abroad", ["gain_ai", "ai"], controls=["x"], weights="w", vcov={"CRV1": "pid"}
    )
    # the true average marginal effect of gain_ai, computed from the true index
    index = -3.0 + 0.5 * persons["ai"] + 4.0 * persons["gain_ai"] + 0.2 * persons["x"]
    p = 1 / (1 + np.exp(-index))
    truth = np.average(4.0 * p * (1 - p), weights=persons["w"])
    assert abs(ours.params["gain_ai"] - truth) < 3.5 * ours.std_errors["gain_ai"]
    assert ours.vcov_type == "CRV1: pid"


def test_logit_weights_equal_row_expansion(persons):
    """Integer weights give the same AMEs as repeating each row that many times, and,
    clustered by person, the same standard errors up to the (N-1)/(N-K) factor."""
    data = persons.assign(k=(persons["w"].round()).astype(int).clip(lower=1))
    weighted = logit_ame(data, "abroad", ["ai", "x"], weights="k", vcov={"CRV1": "pid"})
    expanded = data.loc[data.index.repeat(data["k"])]
    plain = logit_ame(expanded, "abroad", ["ai", "x"], weights=None, vcov={"CRV1": "pid"})
    assert weighted.params.to_numpy() == pytest.approx(plain.params.to_numpy(), abs=1e-8)
    n, n_exp, k = len(data), len(expanded), 3
    ratio = np.sqrt(((n - 1) / (n - k)) / ((n_exp - 1) / (n_exp - k)))
    assert weighted.std_errors.to_numpy() == pytest.approx(
        plain.std_errors.to_numpy() * ratio, rel=1e-6
    )


def test_lpm_is_the_fixed_effects_regression(persons):
    res = mobility_lpm(persons, "abroad ~ ai + gain_ai | year", weights="w", vcov={"CRV1": "pid"})
    ref = smf.wls("abroad ~ ai + gain_ai + C(year)", data=persons, weights=persons["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": persons["pid"]}
    )
    for term in ("ai", "gain_ai"):
        assert res.params[term] == pytest.approx(ref.params[term], abs=1e-6)
        assert res.std_errors[term] == pytest.approx(ref.bse[term], abs=1e-6)


def test_lpm_from_normal_equations_equals_pyfixest(persons):
    kwargs = {
        "outcome": "abroad",
        "regressors": ["ai", "gain_ai"],
        "fixed_effects": ["year"],
        "weights": "w",
        "vcov": {"CRV1": "pid"},
    }
    memory = mobility_lpm(persons, **kwargs)
    engine = mobility_lpm(persons, engine="duckdb", **kwargs)
    np.testing.assert_allclose(engine.params, memory.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(engine.std_errors, memory.std_errors, rtol=1e-8)
    assert engine.nobs == memory.nobs
    with pytest.raises(ValueError, match="engine must be"):
        mobility_lpm(persons, "abroad ~ ai", engine="spark")


def test_share_premium_slope():
    points = pd.DataFrame(
        {
            "skill": list("abcdef"),
            "premium": [1.0, 2.0, 5.0, 11.0, 15.8, 17.9],
            "share": [22.0, 20.0, 17.0, 12.0, 9.0, 8.0],
            "workers": [400, 380, 100, 90, 20, 25],
        }
    )
    res, plot = share_premium_slope(
        points, share="share", premium="premium", weights="workers", label="skill"
    )
    slope, _ = np.polyfit(points["premium"], points["share"], 1, w=np.sqrt(points["workers"]))
    assert res.params["premium"] == pytest.approx(slope, abs=1e-9)
    assert res.params["premium"] < 0
    assert list(plot.columns) == ["skill", "premium", "share", "workers", "fitted"]
    # HC1 by hand
    X = np.column_stack([np.ones(6), points["premium"]])
    W = points["workers"].to_numpy(float)
    bread = np.linalg.inv(X.T @ (W[:, None] * X))
    y = points["share"].to_numpy(float)
    e = y - X @ np.linalg.solve(X.T @ (W[:, None] * X), X.T @ (W * y))
    meat = X.T @ ((W**2 * e**2)[:, None] * X)
    cov = 6 / 4 * bread @ meat @ bread
    assert res.std_errors["premium"] == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-8)


@pytest.fixture(scope="module")
def bilateral() -> pd.DataFrame:
    rng = np.random.default_rng(9)
    countries = ["KOR", "USA", "CAN", "GBR", "JPN", "DEU"]
    rows = []
    for t in range(2015, 2020):
        for o in countries:
            for d in countries:
                if o == d:
                    continue
                for k in range(4):
                    gap = rng.normal(0.1, 0.08)
                    mu = np.exp(1.0 + 3.0 * gap + 0.1 * countries.index(d))
                    rows.append((o, d, k, t, gap, rng.poisson(mu)))
    return pd.DataFrame(
        rows, columns=["origin", "destination", "skill", "year", "premium_gap", "flow"]
    )


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.SingularMatrixWarning")
def test_gravity_ppml_matches_glm_and_recovers_elasticity(bilateral):
    res = gravity_ppml(bilateral)
    data = bilateral.assign(
        oy=bilateral["origin"] + bilateral["year"].astype(str),
        dy=bilateral["destination"] + bilateral["year"].astype(str),
    )
    ref = smf.glm(
        "flow ~ premium_gap + C(oy) + C(dy)", data=data, family=sm.families.Poisson()
    ).fit()
    assert res.params["premium_gap"] == pytest.approx(ref.params["premium_gap"], abs=1e-6)
    assert abs(res.params["premium_gap"] - 3.0) < 3.5 * res.std_errors["premium_gap"]
    assert (bilateral["flow"] == 0).sum() >= 0 and res.nobs == len(bilateral)


def test_pay_gain_uses_held_skills():
    premiums = pd.DataFrame(
        {
            "country": ["KOR", "USA", "KOR", "USA", "KOR", "USA"],
            "skill": ["ai_dl", "ai_dl", "ai_pr", "ai_pr", "all", "all"],
            "estimate": [0.01, 0.30, 0.17, 0.15, 0.06, 0.22],
        }
    )
    panel = pd.DataFrame(
        {
            "country": ["KOR"] * 4,
            "ai": [True, True, True, False],
            "ai_dl": [True, False, True, False],
            "ai_pr": [False, True, True, False],
        }
    )
    gain = pay_gain(panel, premiums, skills=["ai_dl", "ai_pr"], destination="USA")
    assert gain.tolist() == pytest.approx([0.29, -0.02, (0.29 - 0.02) / 2, 0.0])


def _pay_gain_row_by_row(panel, premiums, skills, destination):
    """The definition of :func:`pay_gain`, one row and one look-up at a time."""
    table = premiums.set_index(["country", "skill"])["estimate"]
    out = []
    for _, row in panel.iterrows():
        if not row["ai"]:
            out.append(0.0)
            continue
        held = [s for s in skills if row[s]]
        keys = held or ["all"]
        gains = [
            table.get((destination, s), np.nan) - table.get((row["country"], s), np.nan)
            for s in keys
        ]
        out.append(float(np.mean(gains)))
    return np.array(out)


def test_pay_gain_equals_row_by_row_lookups():
    rng = np.random.default_rng(11)
    skills = ["ai_a", "ai_b", "ai_c"]
    countries = ["KOR", "USA", "CAN", "SGP"]  # SGP has no premiums: missing gains
    premiums = pd.DataFrame(
        [
            {"country": c, "skill": s, "estimate": rng.normal(0.1, 0.1)}
            for c in countries[:3]
            for s in [*skills, "all"]
            if (c, s) != ("CAN", "ai_b")  # a skill without a premium in one country
        ]
    )
    n = 400
    panel = pd.DataFrame(
        {
            "country": rng.choice(countries, n),
            "ai": rng.random(n) < 0.6,
            **{s: rng.random(n) < 0.3 for s in skills},
        }
    )
    gain = pay_gain(panel, premiums, skills=skills, destination="USA")
    expected = _pay_gain_row_by_row(panel, premiums, skills, "USA")
    assert np.isnan(expected).any() and not np.isnan(expected).all()
    np.testing.assert_array_equal(gain.to_numpy(), expected)
