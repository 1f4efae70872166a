"""The premium estimator against independent implementations and a known truth.

References: statsmodels (WLS with dummy variables, the textbook estimator) and
linearmodels' AbsorbingLS (a different absorption algorithm) on the same data; they
must agree with our pyfixest-based estimator to 1e-6, weighted and clustered
included. Recovery: on data simulated with a known premium the estimate lies within
3.5 standard errors of the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels.iv.absorbing import AbsorbingLS

from analysis.estimate import estimate_premium, log_points_to_percent, premium_by
from analysis.estimate.premium import premium_by_skill


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(20251205)
    n = 4000
    df = pd.DataFrame(
        {
            "ai": rng.integers(0, 2, n).astype(float),
            "job": rng.integers(0, 6, n),
            "year": rng.integers(2010, 2015, n),
            "pid": rng.integers(0, 500, n),
            "w": rng.uniform(0.5, 2.0, n),
            "x": rng.normal(size=n),
            "country": rng.choice(["KOR", "USA", "CAN"], n),
        }
    )
    truth = df["country"].map({"KOR": np.log(1.06), "USA": np.log(1.25), "CAN": np.log(1.18)})
    df["y"] = (
        1
        + truth * df["ai"]
        + 0.1 * df["job"]
        + 0.02 * (df["year"] - 2010)
        + 0.3 * df["x"]
        + rng.normal(0, 0.4, n)
    )
    df["truth"] = truth
    return df


def _statsmodels(df: pd.DataFrame, weights: bool, cov: str):
    dummies = pd.get_dummies(df[["job", "year"]].astype(str), drop_first=True).astype(float)
    X = sm.add_constant(pd.concat([df[["ai", "x"]], dummies], axis=1))
    model = sm.WLS(df["y"], X, weights=df["w"]) if weights else sm.OLS(df["y"], X)
    if cov == "cluster":
        return model.fit(cov_type="cluster", cov_kwds={"groups": df["pid"]})
    return model.fit(cov_type="HC1")


def _linearmodels(df: pd.DataFrame, weights: bool, cov: str):
    model = AbsorbingLS(
        df["y"],
        df[["ai", "x"]],
        absorb=df[["job", "year"]].astype("category"),
        weights=df["w"] if weights else None,
    )
    if cov == "cluster":
        return model.fit(cov_type="clustered", clusters=df["pid"], debiased=True)
    return model.fit(cov_type="robust", debiased=True)


@pytest.mark.parametrize("weights", [True, False], ids=["weighted", "unweighted"])
@pytest.mark.parametrize("cov", ["cluster", "hetero"])
def test_agrees_with_statsmodels_and_linearmodels(frame, weights, cov):
    ours = estimate_premium(
        frame,
        outcome="y",
        treatment="ai",
        controls=["x"],
        fixed_effects=["job", "year"],
        weights="w" if weights else None,
        vcov={"CRV1": "pid"} if cov == "cluster" else "hetero",
    )
    ref_sm = _statsmodels(frame, weights, cov)
    for term in ("ai", "x"):
        assert ours.params[term] == pytest.approx(ref_sm.params[term], abs=1e-6)
        assert ours.std_errors[term] == pytest.approx(ref_sm.bse[term], abs=1e-6)
    ref_lm = _linearmodels(frame, weights, cov)
    for term in ("ai", "x"):
        assert ours.params[term] == pytest.approx(ref_lm.params[term], abs=1e-6)
        if cov == "cluster":  # linearmodels' robust small-sample factor differs (N-K vs N-1)
            assert ours.std_errors[term] == pytest.approx(ref_lm.std_errors[term], abs=1e-6)
    assert ours.nobs == len(frame)


def test_delta_method_against_finite_differences():
    b, se = 0.2, 0.03
    out = log_points_to_percent(b, se)
    h = 1e-6
    derivative = (100 * np.expm1(b + h) - 100 * np.expm1(b - h)) / (2 * h)
    assert out["premium_pct"] == pytest.approx(100 * (np.exp(b) - 1))
    assert out["premium_se"] == pytest.approx(derivative * se, rel=1e-6)
    assert out["premium_conf_high"] - out["premium_pct"] == pytest.approx(
        1.959964 * out["premium_se"], rel=1e-5
    )


def test_recovers_known_premiums_by_country(frame):
    table = premium_by(
        frame,
        "country",
        outcome="y",
        treatment="ai",
        controls=["x"],
        fixed_effects=["job", "year"],
        weights="w",
        vcov={"CRV1": "pid"},
    )
    truth = frame.groupby("country")["truth"].first()
    for row in table.itertuples(index=False):
        z = (row.estimate - truth[row.country]) / row.std_error
        assert abs(z) < 3.5, (row.country, row.estimate, truth[row.country])
    assert list(table["country"]) == ["CAN", "KOR", "USA"]
    # each row is the same as estimating on that subset alone
    kor = estimate_premium(
        frame[frame["country"] == "KOR"],
        outcome="y",
        treatment="ai",
        controls=["x"],
        fixed_effects=["job", "year"],
        weights="w",
        vcov={"CRV1": "pid"},
    )
    got = table.set_index("country").loc["KOR"]
    assert got["estimate"] == pytest.approx(kor.estimate, abs=1e-12)
    assert got["premium_pct"] == pytest.approx(kor.premium_pct, abs=1e-10)


def test_group_without_variation_is_kept_with_a_note(frame):
    data = frame.copy()
    data.loc[data["country"] == "CAN", "ai"] = 0.0
    table = premium_by(
        data,
        "country",
        outcome="y",
        treatment="ai",
        fixed_effects=["job"],
        weights=None,
        vcov="hetero",
    )
    can = table.set_index("country").loc["CAN"]
    assert np.isnan(can["estimate"]) and can["note"] == "treatment does not vary"
    assert can["nobs"] == (data["country"] == "CAN").sum()


def test_missing_values_are_counted_not_hidden(frame):
    data = frame.copy()
    data.loc[:9, "y"] = np.nan
    res = estimate_premium(
        data, outcome="y", treatment="ai", fixed_effects=["job"], weights=None, vcov="hetero"
    )
    assert res.nobs == len(data) - 10
    assert res.info["dropped_missing"] == 10


def test_premium_by_skill_compares_holders_with_non_ai():
    rng = np.random.default_rng(3)
    n = 6000
    ai = rng.random(n) < 0.4
    deep = ai & (rng.random(n) < 0.5)
    pattern = ai & ~deep
    y = 10 + np.log(1.02) * deep + np.log(1.18) * pattern + rng.normal(0, 0.2, n)
    df = pd.DataFrame(
        {
            "ai": ai,
            "ai_deep_learning": deep,
            "ai_pattern_recognition": pattern,
            "y": y,
            "g": rng.integers(0, 3, n),
        }
    )
    table = premium_by_skill(
        df,
        ["ai_deep_learning", "ai_pattern_recognition"],
        outcome="y",
        fixed_effects=["g"],
        weights=None,
        vcov="hetero",
    ).set_index("skill")
    assert table.loc["ai_deep_learning", "nobs"] == (~ai | deep).sum()
    for skill, truth in (("ai_deep_learning", 2.0), ("ai_pattern_recognition", 18.0)):
        row = table.loc[skill]
        assert abs(row["premium_pct"] - truth) < 3.5 * row["premium_se"]


def test_tidy_and_summary_shape(frame):
    res = estimate_premium(
        frame, outcome="y", treatment="ai", fixed_effects=["job"], weights="w", vcov={"CRV1": "pid"}
    )
    tidy = res.tidy()
    assert list(tidy.columns[:7]) == [
        "term",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert {"premium_pct", "premium_conf_low", "premium_conf_high"} <= set(tidy.columns)
    ci = res.conf_int()
    assert ci.loc["ai", "lower"] < res.estimate < ci.loc["ai", "upper"]
    text = str(res.summary())
    assert "pyfixest.feols" in text and "CRV1: pid" in text


# --------------------------------------------------------------------------- compressed
@pytest.mark.parametrize("weights", ["w", None], ids=["weighted", "unweighted"])
@pytest.mark.parametrize("cluster", ["region", None], ids=["clustered", "hc1"])
def test_compressed_equals_full_regression(tmp_path, weights, cluster):
    from analysis.estimate.compressed import compressed_feols

    rng = np.random.default_rng(11)
    n = 30000
    df = pd.DataFrame(
        {
            "ai": rng.integers(0, 2, n),
            "job": rng.integers(0, 7, n),
            "year": rng.integers(2010, 2025, n),
            "region": rng.integers(0, 40, n),
            "w": rng.uniform(0.2, 3.0, n),
        }
    )
    df["y"] = (
        0.06 * df["ai"]
        + 0.05 * df["job"]
        + 0.01 * (df["year"] - 2010)
        + 0.02 * df["region"]
        + rng.normal(0, 0.5, n)
    )
    path = tmp_path / "panel.parquet"
    df.to_parquet(path)
    fes = ["job", "year", "region"]
    vcov = {"CRV1": cluster} if cluster else "hetero"
    full = estimate_premium(
        df, outcome="y", treatment="ai", fixed_effects=fes, weights=weights, vcov=vcov
    )
    comp = compressed_feols(path, "y", "ai", fixed_effects=fes, weights=weights, vcov=vcov)
    assert comp.info["cells"] < n / 2
    assert comp.nobs == full.nobs
    assert comp.params["ai"] == pytest.approx(full.params["ai"], abs=1e-10)
    assert comp.std_errors["ai"] == pytest.approx(full.std_errors["ai"], rel=1e-8)
    np.testing.assert_allclose(comp.conf_int().loc["ai"], full.conf_int().loc["ai"], rtol=1e-8)


def test_compressed_filter_and_missing_values():
    from analysis.estimate.compressed import compressed_feols

    rng = np.random.default_rng(12)
    n = 5000
    df = pd.DataFrame(
        {
            "ai": rng.integers(0, 2, n),
            "job": rng.integers(0, 3, n),
            "country": rng.choice(["KOR", "USA"], n),
        }
    )
    df["y"] = 0.1 * df["ai"] + rng.normal(0, 0.3, n)
    df.loc[:99, "y"] = np.nan
    comp = compressed_feols(df, "y", "ai", fixed_effects=["job"], where="country = 'KOR'")
    sub = df[(df["country"] == "KOR")]
    full = estimate_premium(
        sub, outcome="y", treatment="ai", fixed_effects=["job"], weights=None, vcov="hetero"
    )
    assert comp.nobs == full.nobs == sub["y"].notna().sum()
    assert comp.params["ai"] == pytest.approx(full.params["ai"], abs=1e-10)


# --------------------------------------------------------------------------- exact and lean
def _crossed(seed: int = 8) -> pd.DataFrame:
    """Person-years with several crossed text fixed effects (one with missing values),
    weights, clusters and two skill clusters, like the panel the stage runs on."""
    rng = np.random.default_rng(seed)
    n, persons = 3000, 700
    pid = rng.integers(0, persons, n)
    ai = (pid % 3 == 0) & (rng.random(n) < 0.9)
    skill_a = ai & (pid % 2 == 0)
    df = pd.DataFrame(
        {
            "pid": pid,
            "ai": ai,
            "ai_a": skill_a,
            "ai_b": ai & ~skill_a,
            "job": rng.choice(["eng", "sales", "ops", "admin", "research"], n),
            "degree": rng.choice(["BA", "MA", "PhD", None], n, p=[0.5, 0.3, 0.15, 0.05]),
            "sex": np.where(pid % 2 == 0, "F", "M"),
            "start": rng.integers(2000, 2012, n).astype(str),
            "year": rng.integers(2015, 2022, n),
            "w": rng.uniform(0.5, 3.0, n),
        }
    )
    level = df[["job", "start"]].apply(lambda c: pd.factorize(c)[0]).sum(axis=1)
    df["y"] = (
        10
        + 0.15 * df["ai_a"]
        + 0.3 * df["ai_b"]
        + 0.05 * level
        + 0.02 * (df["year"] - 2015)
        + rng.normal(0, 0.3, n)
    )
    return df


CROSSED_FE = ["job", "degree", "sex", "start", "year"]


def _statsmodels_cluster(df: pd.DataFrame, treatment: str):
    """The textbook estimator: WLS on dummies of every fixed effect, clustered by person."""
    df = df.dropna(subset=CROSSED_FE)
    dummies = pd.get_dummies(df[CROSSED_FE].astype(str), drop_first=True).astype(float)
    X = sm.add_constant(pd.concat([df[[treatment]].astype(float), dummies], axis=1))
    fit = sm.WLS(df["y"], X, weights=df["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": df["pid"]}
    )
    return fit.params[treatment], fit.bse[treatment], len(df)


def test_exact_demeaner_equals_dummy_regression_by_skill():
    from analysis.estimate.premium import exact_demeaner

    df = _crossed()
    kwargs = {"outcome": "y", "fixed_effects": CROSSED_FE, "weights": "w", "vcov": {"CRV1": "pid"}}
    table = premium_by_skill(df, ["ai_a", "ai_b"], **kwargs, demeaner=exact_demeaner())
    overall = premium_by(
        df.assign(g="all"), "g", treatment="ai", **kwargs, demeaner=exact_demeaner()
    )
    for skill, row in table.set_index("skill").iterrows():
        sample = df[~df["ai"] | df[skill]]
        b, se, nobs = _statsmodels_cluster(sample, skill)
        assert row["estimate"] == pytest.approx(b, abs=1e-10)
        assert row["std_error"] == pytest.approx(se, abs=1e-10)
        assert row["nobs"] == nobs
        assert row["n_treated"] == sample[skill].sum()
    b, se, nobs = _statsmodels_cluster(df, "ai")
    assert overall["estimate"].iloc[0] == pytest.approx(b, abs=1e-10)
    assert overall["std_error"].iloc[0] == pytest.approx(se, abs=1e-10)
    assert overall["nobs"].iloc[0] == nobs


def test_lean_frames_change_nothing():
    """premium_by and premium_by_skill fit on the model's columns with text fixed effects
    as codes: the same numbers, to rounding, as the model on the frame as given."""
    from analysis.estimate.premium import _model_frame, exact_demeaner

    df = _crossed(9).assign(unused=lambda d: d["job"] + "!", g="all")
    kwargs = {"outcome": "y", "fixed_effects": CROSSED_FE, "weights": "w", "vcov": {"CRV1": "pid"}}
    lean = _model_frame(df, ["g", "ai", "y", *CROSSED_FE, "w", "pid"], CROSSED_FE)
    assert lean["job"].dtype.kind == "i" and lean["degree"].dtype == object  # missing kept
    assert "unused" not in lean
    for demeaner in (None, exact_demeaner()):
        table = premium_by(df, "g", treatment="ai", **kwargs, demeaner=demeaner)
        # the frame as given
        res = estimate_premium(df, treatment="ai", **kwargs, demeaner=demeaner)
        # fixed effects as codes or as text change the order pyfixest sums in: equal to
        # rounding (a few units in the last place), nothing more
        assert table["estimate"].iloc[0] == pytest.approx(res.estimate, rel=1e-12)
        assert table["std_error"].iloc[0] == pytest.approx(res.std_error, rel=1e-12)


@pytest.mark.parametrize("df_resid", [None, 40.0])
def test_tidy_equals_the_properties(df_resid):
    from analysis.estimate.results import RegressionResult

    rng = np.random.default_rng(5)
    a = rng.normal(size=(3, 3))
    names = ["a", "b", "c"]
    res = RegressionResult(
        params=pd.Series(rng.normal(size=3), index=names),
        cov=pd.DataFrame(a @ a.T / 10, index=names, columns=names),
        nobs=50,
        df_resid=df_resid,
        vcov_type="hetero",
        estimator="test",
    )
    tidy = res.tidy(0.9).set_index("term")
    ci = res.conf_int(0.9)
    assert tidy["std_error"].equals(res.std_errors.rename(None))
    assert tidy["statistic"].equals(res.tstats)
    assert tidy["p_value"].equals(res.pvalues)
    assert tidy["conf_low"].equals(ci["lower"]) and tidy["conf_high"].equals(ci["upper"])
