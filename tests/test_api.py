"""The estimators as a library: generic arguments, formulas, vcov, checked inputs and one
results family, on public data (Wooldridge's wage panel from linearmodels, pyfixest's
example data) and small frames built to break them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from linearmodels.datasets import wage_panel
from linearmodels.panel import PanelOLS, PooledOLS

import analysis.estimate as est
from analysis.errors import ArgumentError, EstimationDataError

POOLED = "lwage ~ union + educ + black + hisp + exper + expersq + married + C(year)"
WITHIN = "lwage ~ union + expersq + married + C(year) | nr"


@pytest.fixture(scope="module")
def wages() -> pd.DataFrame:
    return wage_panel.load()


# --------------------------------------------------------------------------- Wooldridge
def test_wooldridge_example_14_4_through_formulas(wages):
    """Wooldridge, Introductory Econometrics, Example 14.4 (Table 14.2): the union premium
    is .182 (.017) pooled and .080 (.019) with person fixed effects, iid errors."""
    pooled = est.estimate_premium(wages, POOLED, vcov="iid")
    within = est.estimate_premium(wages, WITHIN, vcov="iid")
    assert round(pooled.estimate, 6) == 0.182461
    assert round(pooled.std_error, 3) == 0.017
    assert round(within.estimate, 6) == 0.080002
    assert round(within.std_error, 3) == 0.019
    # and equal to linearmodels, estimated independently
    panel = wages.set_index(["nr", "year"])
    exog = ["union", "educ", "black", "hisp", "exper", "expersq", "married"]
    dummies = pd.get_dummies(panel.index.get_level_values("year"), prefix="y", drop_first=True)
    dummies.index = panel.index
    X = pd.concat([panel[exog], dummies.astype(float)], axis=1).assign(const=1.0)
    ref = PooledOLS(panel["lwage"], X).fit(cov_type="unadjusted")
    assert pooled.estimate == pytest.approx(ref.params["union"], abs=1e-10)
    assert pooled.std_error == pytest.approx(ref.std_errors["union"], rel=1e-8)
    fe_x = pd.concat([panel[["union", "expersq", "married"]], dummies.astype(float)], axis=1)
    ref_fe = PanelOLS(panel["lwage"], fe_x, entity_effects=True).fit(cov_type="unadjusted")
    assert within.estimate == pytest.approx(ref_fe.params["union"], abs=1e-10)
    # what was used is recorded
    assert within.fixed_effects == ("nr",) and within.weights is None
    assert within.vcov_type == "iid" and within.depvar == "lwage"


def test_formula_and_keyword_forms_agree(wages):
    formula = est.estimate_premium(wages, "lwage ~ union + educ + exper | year")
    keywords = est.estimate_premium(
        wages, outcome="lwage", treatment="union", controls="educ + exper", fixed_effects="year"
    )
    pd.testing.assert_series_equal(formula.params, keywords.params)
    assert list(formula.params.index) == ["union", "educ", "exper"]


def test_i_terms_and_a_named_treatment(wages):
    res = est.estimate_premium(wages, "lwage ~ married + union + i(year) | nr", treatment="union")
    assert res.treatment == "union"
    assert any("year" in t for t in res.params.index)  # the year indicators are there


@pytest.mark.parametrize(
    ("vcov", "label"),
    [
        ("iid", "iid"),
        ("hetero", "hetero"),
        ({"CRV1": "nr"}, "CRV1: nr"),
        ({"CRV1": "nr + year"}, "CRV1: nr + year"),
    ],
)
def test_every_vcov_matches_pyfixest_and_is_recorded(wages, vcov, label):
    res = est.estimate_premium(wages, "lwage ~ union + educ | year", vcov=vcov)
    ref = pf.feols("lwage ~ union + educ | year", data=wages, vcov=vcov)
    assert res.std_error == pytest.approx(float(ref.se()["union"]), rel=1e-10)
    assert res.vcov_type == label


def test_a_column_called_weight_is_not_used_unless_asked(wages):
    data = wages.assign(weight=np.linspace(50, 120, len(wages)))  # body weight, say
    plain = est.estimate_premium(data, "lwage ~ union + educ")
    assert plain.weights is None
    assert plain.params["union"] == est.estimate_premium(wages, "lwage ~ union + educ").estimate
    weighted = est.estimate_premium(data, "lwage ~ union + educ", weights="weight")
    assert weighted.weights == "weight" and weighted.estimate != plain.estimate


# --------------------------------------------------------------------------- checked inputs
def test_a_control_given_as_text_is_one_column(wages):
    res = est.estimate_premium(wages, outcome="lwage", treatment="union", controls="educ")
    assert list(res.params.index) == ["Intercept", "union", "educ"]


def test_no_fixed_effects_is_none_or_empty(wages):
    a = est.estimate_premium(wages, outcome="lwage", treatment="union", fixed_effects=None)
    b = est.estimate_premium(wages, outcome="lwage", treatment="union")
    assert a.estimate == b.estimate and a.fixed_effects == ()


@pytest.mark.parametrize("values", [[0, 2], [0.3, 1.7]], ids=["zero-two", "continuous"])
def test_a_treatment_that_is_not_binary_is_refused(wages, values):
    data = wages.assign(t=np.resize(values, len(wages)))
    with pytest.raises(ArgumentError, match=r"treatment 't' must be binary.*holds"):
        est.estimate_premium(data, "lwage ~ t")


def test_a_missing_column_names_the_argument(wages):
    with pytest.raises(ArgumentError, match=r"'tenure' \(controls\) not in the data"):
        est.estimate_premium(wages, outcome="lwage", treatment="union", controls=["tenure"])
    with pytest.raises(ArgumentError, match=r"vcov"):
        est.estimate_premium(wages, "lwage ~ union", vcov={"CRV1": "firm"})
    with pytest.raises(ArgumentError, match="vcov must be one of"):
        est.estimate_premium(wages, "lwage ~ union", vcov="cluster")


def test_missing_values_are_dropped_and_counted(wages):
    data = wages.copy()
    data.loc[:24, "educ"] = np.nan
    res = est.estimate_premium(data, "lwage ~ union + educ")
    assert res.nobs == len(data) - 25 and res.info["dropped_missing"] == 25


def test_collinear_control_is_reported_and_warned(wages):
    data = wages.assign(educ2=2 * wages["educ"])
    with pytest.warns(UserWarning, match="multicollinearity"):
        res = est.estimate_premium(data, "lwage ~ union + educ + educ2")
    assert res.info["dropped_collinear"] == ["educ2"]
    assert "educ2" not in res.params.index
    assert "multicollinearity" in str(res.summary())


def test_an_absorbed_treatment_is_a_named_error(wages):
    data = wages.assign(treated=(wages["nr"] % 2).astype(int))  # constant within person
    with pytest.raises(EstimationDataError, match="'treated'"):
        est.estimate_premium(data, "lwage ~ treated | nr")


def test_premium_by_refuses_a_mistyped_keyword_and_notes_a_group(wages):
    with pytest.raises(ArgumentError, match="fixed_effect"):
        est.premium_by(wages, "black", "lwage ~ union", fixed_effect=["year"])
    data = wages.copy()
    data.loc[data["black"] == 1, "union"] = 0  # no variation in one group
    table = est.premium_by(data, "black", "lwage ~ union + educ").set_index("black")
    assert table.loc[1, "note"] == "treatment does not vary"
    assert np.isfinite(table.loc[0, "estimate"])


def test_logit_and_lpm_outcomes_must_be_binary(wages):
    data = wages.assign(y=np.resize([0, 1, 2], len(wages)))
    with pytest.raises(ArgumentError, match="outcome 'y' must be binary"):
        est.logit_ame(data, "y", ["educ"])
    with pytest.raises(ArgumentError, match="outcome 'y' must be binary"):
        est.mobility_lpm(data, "y ~ educ")


def test_workforce_refuses_missing_ai_flags_and_duplicate_person_years():
    panel = pd.DataFrame(
        {
            "user_id": [1, 2, 3],
            "year": [2024] * 3,
            "country": ["KOR"] * 3,
            "origin": ["KOR"] * 3,
            "ai": [True, np.nan, False],
        }
    )
    with pytest.raises(ArgumentError, match="ai 'ai' has 1 missing"):
        est.stocks(panel)
    with pytest.raises(ArgumentError, match="ai 'ai' has 1 missing"):
        est.overseas_share(panel)
    twice = pd.concat([panel.fillna({"ai": True})] * 2)
    with pytest.raises(ArgumentError, match=r"share their \(user_id, year\)"):
        est.stocks(twice)


def test_compressed_without_fixed_effects_is_ols():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"ai": rng.integers(0, 2, 500)})
    df["y"] = 0.3 * df["ai"] + rng.normal(size=500)
    res = est.compressed_feols(df, "y", "ai")
    ref = pf.feols("y ~ ai", data=df, vcov="hetero")
    assert res.params["ai"] == pytest.approx(float(ref.coef()["ai"]), abs=1e-10)
    assert res.std_errors["ai"] == pytest.approx(float(ref.se()["ai"]), rel=1e-8)


def test_gravity_refuses_negative_flows_instead_of_refitting():
    flows = pd.DataFrame(
        {
            "origin": ["KOR", "KOR", "USA", "USA"] * 2,
            "destination": ["USA", "CAN", "KOR", "CAN"] * 2,
            "year": [2020] * 4 + [2021] * 4,
            "moves": [3.0, -1.0, 2.0, 1.0, 4.0, 2.0, 1.0, 0.0],
            "premium_gap": [0.1, 0.2, -0.1, 0.1, 0.1, 0.2, -0.1, 0.1],
        }
    )
    with pytest.raises(ArgumentError, match="non-negative"):
        est.gravity_ppml(flows, count="moves", regressors=["premium_gap"])


# --------------------------------------------------------------------------- results
def test_results_family_summary_repr_and_tables(wages):
    res = est.estimate_premium(wages, WITHIN, vcov={"CRV1": "nr"})
    summary = res.summary()
    text, html_, latex = summary.as_text(), summary.as_html(), summary.as_latex()
    assert "union" in text and "CRV1: nr" in text and "Fixed effects: nr" in text
    assert "<table" in html_ and res._repr_html_() == html_
    assert "\\begin{tabular}" in latex and "95\\%" in latex
    assert repr(res).startswith("PremiumResult") and "params=" not in repr(res)
    ci = res.conf_int()
    assert ci.loc["union", "lower"] < res.estimate < ci.loc["union", "upper"]


def test_wald_test_by_formula_and_matrix(wages):
    res = est.estimate_premium(wages, "lwage ~ union + married + educ")
    by_formula = res.wald_test(formula="union = 0, married = 0")
    restriction = pd.DataFrame([[1.0, 0.0], [0.0, 1.0]], columns=["union", "married"])
    by_matrix = res.wald_test(restriction.reindex(columns=res.params.index, fill_value=0.0))
    assert by_formula.stat == pytest.approx(by_matrix.stat)
    # pyfixest reports the chi-square form W for these restrictions; ours is F = W / q
    ref = pf.feols("lwage ~ union + married + educ", data=wages, vcov="iid")
    with pytest.warns(UserWarning, match="chi2"):
        chi2 = ref.wald_test(R=np.array([[0, 1, 0, 0], [0, 0, 1, 0]]), distribution="F")
    assert 2 * by_formula.stat == pytest.approx(float(chi2["statistic"]), rel=1e-8)
    assert by_formula.df == 2 and by_formula.df_denom == res.df_resid
    single = res.wald_test(formula="union = 0")
    assert single.stat == pytest.approx(res.tstats["union"] ** 2)


def test_etable_takes_our_result_beside_a_pyfixest_model(wages):
    ours = est.estimate_premium(wages, WITHIN, vcov={"CRV1": "nr"})
    theirs = pf.feols("lwage ~ union + expersq + married | nr + year", data=wages)
    table = est.etable([theirs, ours], type="df")
    cells = table.to_string()
    assert "union" in cells
    assert f"{ours.estimate:.3f}" in cells and f"{float(theirs.coef()['union']):.3f}" in cells
    tex = est.etable({"pyfixest": theirs, "ours": ours}, type="tex")
    assert "union" in tex and "ours" in tex


def test_pf_etable_takes_our_result_through_the_adapter(wages):
    """pyfixest's own etable checks the models' class: our result goes in through
    :func:`as_pyfixest`, and the same fit gives the same cells as pyfixest's."""
    theirs = pf.feols(WITHIN, data=wages, vcov={"CRV1": "nr"})
    ours = est.estimate_premium(wages, WITHIN, vcov={"CRV1": "nr"})
    with pytest.raises(TypeError):
        pf.etable([theirs, ours], type="df")
    table = pf.etable([theirs, est.as_pyfixest(ours)], type="df")
    rows = {label: list(row) for label, row in zip(table.index, table.to_numpy(), strict=True)}
    union = next(cells for label, cells in rows.items() if "union" in str(label))
    assert union[0] == union[1] and f"{ours.estimate:.3f}" in union[1]
    fixed = [cells for label, cells in rows.items() if label[0] == "fe"]
    assert fixed and all(cells[0] == cells[1] == "x" for cells in fixed)
    observations = next(cells for label, cells in rows.items() if "Observations" in str(label))
    assert observations[0] == observations[1]


def test_compare_lines_results_up(wages):
    a = est.estimate_premium(wages, "lwage ~ union + educ")
    b = est.estimate_premium(wages, "lwage ~ union + educ | year", weights=None, vcov="hetero")
    table = est.compare({"pooled": a, "year FE": b})
    assert list(table.columns) == ["pooled", "year FE"]
    assert table.loc["Fixed effects", "year FE"] == "year"
    assert table.loc["Covariance", "year FE"] == "hetero"
    assert table.loc["union", "pooled"].startswith(f"{a.estimate:.4f}")


def test_the_public_api_is_exported():
    names = ("logit_ame", "mobility_lpm", "premium_by_skill", "stocks", "etable", "as_pyfixest")
    for name in names:
        assert name in est.__all__ and callable(getattr(est, name))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from analysis.estimate import logit_ame  # noqa: F401


def test_fit_logit_gives_a_result_of_the_family(wages):
    """``fit_logit``'s coefficients, as a :class:`RegressionResult`, equal statsmodels'
    logit, its errors the HC0 sandwich times ``sqrt(N / (N - K))`` (HC1), and the result
    carries the outcome and weights."""
    import statsmodels.api as sm

    fit = est.fit_logit(wages, "union", ["educ", "exper"])
    res = fit.result()
    assert isinstance(res, est.RegressionResult)
    assert res.depvar == "union" and res.weights is None and res.vcov_type == "hetero"
    design = sm.add_constant(wages[["educ", "exper"]].astype(float))
    ref = sm.Logit(wages["union"].astype(float), design).fit(disp=0, cov_type="HC0")
    hc1 = np.sqrt(len(design) / (len(design) - design.shape[1]))
    np.testing.assert_allclose(res.params[["educ", "exper"]], ref.params[["educ", "exper"]],
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(res.std_errors[["educ", "exper"]],
                               hc1 * ref.bse[["educ", "exper"]], rtol=1e-5)  # fmt: skip
    assert "union" in fit.summary().as_text()
    assert list(fit.tidy()["term"]) == list(res.params.index)


def test_every_fitted_model_joins_the_results_family(wages):
    """``LogitFit`` is :class:`Fitted` (``result()``, ``summary()``, ``tidy()``);
    ``SkillPay`` and ``ModelSet`` are :class:`FittedSet` (``models``, ``summary()``),
    and their results hold the numbers of their own tables."""
    from analysis.estimate.results import Fitted, FittedSet
    from analysis.estimate.skillpay import SkillPay
    from analysis.realdata.common import ModelSet

    fit = est.fit_logit(wages, "union", ["educ", "exper"])
    assert isinstance(fit, Fitted) and isinstance(fit.result(), est.RegressionResult)
    pd.testing.assert_frame_equal(fit.tidy(), fit.result().tidy())
    assert "union" in fit.summary().as_text()

    terms = ["share_ml", "clusters_2"]
    pay = SkillPay(
        params=pd.DataFrame([[0.1, 0.2], [0.3, np.nan]], index=["KOR", "USA"], columns=terms),
        cov={
            "KOR": pd.DataFrame([[0.04, 0.01], [0.01, 0.09]], index=terms, columns=terms),
            "USA": pd.DataFrame([[0.16, 0.0], [0.0, 0.0]], index=terms, columns=terms),
        },
        nobs={"KOR": 50, "USA": 40},
        n_ai={"KOR": 10, "USA": 8},
        info={"outcome": "log_salary", "vcov": "CRV1: user_id", "weights": "weight"},
    )
    assert isinstance(pay, FittedSet) and sorted(pay.models) == ["KOR", "USA"]
    kor, usa = pay.models["KOR"], pay.models["USA"]
    np.testing.assert_allclose(kor.std_errors, [0.2, 0.3])
    assert list(usa.params.index) == ["share_ml"] and usa.nobs == 40  # unidentified: out
    tidy = pay.tidy().set_index(["country", "term"])
    assert kor.std_errors["share_ml"] == tidy.loc[("KOR", "share_ml"), "std_error"]
    assert kor.vcov_type == "CRV1: user_id" and kor.depvar == "log_salary"
    assert "[KOR]" in pay.summary() and "[USA]" in pay.summary()

    models = ModelSet(models={"a": fit.result(), "b": kor})
    assert isinstance(models, FittedSet) and models.summary().startswith("[a]")
