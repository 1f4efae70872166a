"""The joint compensation-mobility estimator against a known data-generating process.

Workers hold 1-3 of six skill clusters; the emigration log-odds are
``c_t + alpha * z_i' d`` and the return log-odds ``c_t + beta * z_i' d``, with ``z_i``
the skill-set shares. The estimators see ``d_hat = d + e``, ``e ~ N(0, V)``: the
first-stage error. The samples are large (the logits' own standard errors are small)
and the first-stage error large enough that plugging ``d_hat`` in attenuates ``alpha``
by about a third, so the tests can see the bias the joint estimator removes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimate.mobility_model import (
    _objective,
    counterfactual_table,
    fit_mobility_model,
    profile_interval,
)
from analysis.estimate.skillpay import skill_set_design

SKILLS = [f"ai_{k}" for k in "abcdefghijkl"]
D = pd.Series(
    np.random.default_rng(0).normal(0.0, 0.2, len(SKILLS)), index=[f"share_{s}" for s in SKILLS]
)
ALPHA, BETA = 2.0, -1.5
FIRST_STAGE_SD = 0.05
YEARS = range(2015, 2021)


def _sample(rng, n: int, intercept: float, slope: float, outcome: str) -> pd.DataFrame:
    count = rng.integers(1, 4, n)
    keys = rng.random((n, len(SKILLS)))
    ranks = keys.argsort(axis=1).argsort(axis=1)
    frame = pd.DataFrame(ranks < count[:, None], columns=SKILLS)
    frame["ai"] = True
    frame["year"] = rng.choice(list(YEARS), n)
    design = skill_set_design(frame, SKILLS)
    gain = design[D.index].to_numpy() @ D.to_numpy()
    eta = intercept + 0.2 * (frame["year"] - 2015) + slope * gain
    frame[outcome] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    frame["weight"] = rng.uniform(1, 3, n)
    frame["user_id"] = rng.integers(0, n // 3, n)  # about three person-years a person
    frame["country"] = "USA"
    return pd.concat([frame, design], axis=1), eta


def _world(seed: int):
    rng = np.random.default_rng(seed)
    home, eta_home = _sample(rng, 250_000, -3.0, ALPHA, "emigrate_next")
    abroad, eta_abroad = _sample(rng, 100_000, -2.0, BETA, "return_next")
    terms = [*D.index, "clusters_2", "clusters_3plus"]
    truth = pd.Series(0.0, index=terms)
    truth[D.index] = D
    V = pd.DataFrame(np.eye(len(terms)) * FIRST_STAGE_SD**2, index=terms, columns=terms)
    d_hat = truth + rng.normal(0, FIRST_STAGE_SD, len(terms))
    return home, abroad, terms, d_hat, V, (eta_home, eta_abroad)


def _fit(seed: int, method: str):
    home, abroad, terms, d_hat, V, _ = _world(seed)
    return fit_mobility_model(
        home,
        abroad,
        design_terms=terms,
        difference=d_hat,
        difference_cov=V,
        return_controls=("year",),
        method=method,
    )


SEEDS = range(1, 13)


@pytest.fixture(scope="module")
def fits():
    return {m: [_fit(s, m) for s in SEEDS] for m in ("joint", "naive")}


def test_joint_estimator_removes_the_first_stage_attenuation(fits):
    joint = np.array([f.params["alpha"] for f in fits["joint"]])
    naive = np.array([f.params["alpha"] for f in fits["naive"]])
    # Monte Carlo standard errors of the two means, from the replications themselves
    mc_joint, mc_naive = (
        joint.std(ddof=1) / np.sqrt(len(joint)),
        naive.std(ddof=1) / np.sqrt(len(naive)),
    )
    assert abs(joint.mean() - ALPHA) < 3 * mc_joint, (joint.mean(), mc_joint)
    # plugging d_hat in attenuates alpha, by far more than its Monte Carlo error
    assert naive.mean() < ALPHA - 3 * mc_naive, (naive.mean(), mc_naive)
    betas = np.array([f.params["beta"] for f in fits["joint"]])
    assert abs(betas.mean() - BETA) < 3 * betas.std(ddof=1) / np.sqrt(len(betas)), betas


def test_joint_standard_error_carries_the_first_step():
    """Holding the choice data fixed, alpha's spread over draws of d_hat is the first
    step's share of its variance; the joint standard error must contain it, the naive
    one does not."""
    home, abroad, terms, _, V, _ = _world(1)
    truth = pd.Series(0.0, index=terms)
    truth[D.index] = D
    rng = np.random.default_rng(99)
    draws, ses, naive_ses = [], [], []
    for _ in range(12):
        d_hat = truth + rng.normal(0, FIRST_STAGE_SD, len(terms))
        kwargs = dict(design_terms=terms, difference=d_hat, difference_cov=V)
        joint = fit_mobility_model(home, abroad, return_controls=("year",), **kwargs)
        naive = fit_mobility_model(
            home, abroad, return_controls=("year",), method="naive", **kwargs
        )
        draws.append(joint.params["alpha"])
        ses.append(np.sqrt(joint.cov.loc["alpha", "alpha"]))
        naive_ses.append(np.sqrt(naive.cov.loc["alpha", "alpha"]))
    first_step = np.std(draws, ddof=1)
    assert first_step > 2 * np.mean(naive_ses)  # the first step dominates here ...
    assert 0.6 < np.mean(ses) / first_step < 1.6  # ... and the joint error carries it


def test_counterfactual_change_recovers_the_truth(fits):
    shift = np.log(1.25 / 1.06)
    for seed, fit in zip(SEEDS, fits["joint"], strict=True):
        home, abroad, *_, (eta_home, eta_abroad) = _world(seed)
        table = counterfactual_table(fit, {"baseline": 0.0, "us": shift}).set_index(
            ["scenario", "quantity"]
        )
        for quantity, frame, eta, slope in (
            ("emigration_rate", home, eta_home, ALPHA),
            ("return_rate", abroad, eta_abroad, BETA),
        ):
            w = frame["weight"].to_numpy()
            before = np.average(1 / (1 + np.exp(-eta)), weights=w)
            after = np.average(1 / (1 + np.exp(-(eta - slope * shift))), weights=w)
            row = table.loc[("us", quantity)]
            assert abs(row["change"] - 100 * (after - before)) < 3.5 * row["change_se"]
        assert table.loc[("us", "emigration_rate"), "change"] < 0
        assert table.loc[("us", "return_rate"), "change"] > 0


def test_separated_levels_are_counted_and_keep_their_rate():
    home, abroad, terms, d_hat, V, _ = _world(1)
    # no emigration at all in 2015: its intercept would diverge
    home.loc[home["year"] == 2015, "emigrate_next"] = 0.0
    fit = fit_mobility_model(
        home,
        abroad,
        design_terms=terms,
        difference=d_hat,
        difference_cov=V,
        return_controls=("year",),
    )
    assert fit.info["separated"]["emigration"] == int((home["year"] == 2015).sum())
    rate = fit.rates()["emigration"]
    assert rate == pytest.approx(np.average(home["emigrate_next"], weights=home["weight"]))


def test_bad_arguments_are_named():
    home, abroad, terms, d_hat, V, _ = _world(1)
    with pytest.raises(ValueError, match="method"):
        fit_mobility_model(
            home, abroad, design_terms=terms, difference=d_hat, difference_cov=V, method="x"
        )
    with pytest.raises(ValueError, match="0/1"):
        fit_mobility_model(
            home.assign(emigrate_next=2.0),
            abroad,
            design_terms=terms,
            difference=d_hat,
            difference_cov=V,
        )


def test_profile_interval_is_the_wald_interval_when_the_likelihood_is_quadratic():
    """With d fixed (naive) and many events, alpha's log-likelihood is nearly quadratic,
    so the robust profile interval must match the sandwich Wald interval. The weights
    are very unequal, so the curvature understates the sandwich variance by far more
    than the tolerance: a profile without the adjustment fails here."""
    home, abroad, terms, d_hat, V, _ = _world(3)
    rng = np.random.default_rng(3)
    home["weight"] = rng.lognormal(0.0, 1.2, len(home))
    abroad["weight"] = rng.lognormal(0.0, 1.2, len(abroad))
    fit = fit_mobility_model(
        home,
        abroad,
        design_terms=terms,
        difference=d_hat,
        difference_cov=V,
        return_controls=("year",),
        method="naive",
    )
    names = list(fit.params.index)
    free = [i for i, n in enumerate(names) if not n.startswith("d:")]
    hess = _objective(fit.params.to_numpy(), fit, fit.difference, fit.precision, True)[2]
    curvature = np.linalg.inv(hess[np.ix_(free, free)])
    for name in ("alpha", "beta"):
        se = np.sqrt(fit.cov.loc[name, name])
        position = free.index(names.index(name))
        model_based = np.sqrt(curvature[position, position])
        assert abs(model_based / se - 1) > 0.15  # the adjustment matters here
        low, high = profile_interval(fit, name)
        estimate = fit.params[name]
        assert low == pytest.approx(estimate - 1.959964 * se, abs=0.03 * se)
        assert high == pytest.approx(estimate + 1.959964 * se, abs=0.03 * se)


def test_joint_profile_interval_is_skewed_away_from_zero(fits):
    """With a noisy first step the joint alpha behaves like a ratio (choice response
    over premium difference): its profile interval reaches further from zero than
    towards it, for alpha > 0 up and for beta < 0 down; the naive one is symmetric."""
    for joint, naive in zip(fits["joint"][:3], fits["naive"][:3], strict=True):
        for name, sign in (("alpha", 1.0), ("beta", -1.0)):
            low, high = profile_interval(joint, name)
            estimate = joint.params[name]
            away, towards = (high - estimate, estimate - low)[:: int(sign)]
            assert away > 1.2 * towards, (name, low, estimate, high)
            low, high = profile_interval(naive, name)
            estimate = naive.params[name]
            assert high - estimate == pytest.approx(estimate - low, rel=0.02)


def test_profile_interval_names_bad_parameters(fits):
    with pytest.raises(ValueError, match="not a parameter"):
        profile_interval(fits["joint"][0], "gamma")
    with pytest.raises(ValueError, match="fixed in the naive model"):
        profile_interval(fits["naive"][0], "d:share_ai_a")


@pytest.mark.slow
def test_profile_intervals_cover_with_balanced_tails():
    """Over 200 draws of the noisy-first-step design the joint model's profile
    intervals of alpha and beta cover 95%, with each tail missing 2.5%, all within
    three Monte Carlo standard errors; the Wald tails are printed for contrast."""
    rows = []
    for seed in range(1, 201):
        fit = _fit(seed, "joint")
        for name, truth in (("alpha", ALPHA), ("beta", BETA)):
            low, high = profile_interval(fit, name)
            se = np.sqrt(fit.cov.loc[name, name])
            estimate = fit.params[name]
            rows.append(
                {
                    "name": name,
                    "profile_below": truth < low,
                    "profile_above": truth > high,
                    "wald_below": truth < estimate - 1.959964 * se,
                    "wald_above": truth > estimate + 1.959964 * se,
                }
            )
    rates = pd.DataFrame(rows).groupby("name").mean()
    print("\n", rates.round(3).to_string())
    tail = 3 * np.sqrt(0.025 * 0.975 / 200)
    both = 3 * np.sqrt(0.05 * 0.95 / 200)
    for name in ("alpha", "beta"):
        below, above = rates.loc[name, ["profile_below", "profile_above"]]
        assert abs(below + above - 0.05) < both, rates
        assert abs(below - 0.025) < tail and abs(above - 0.025) < tail, rates


def test_the_model_joins_the_results_family(fits):
    from analysis.estimate.results import Fitted

    model = fits["joint"][0]
    assert isinstance(model, Fitted)
    pd.testing.assert_frame_equal(model.tidy(), model.result().tidy())
    assert list(model.tidy()["term"]) == ["alpha", "beta"]
    assert "beta" in model.summary().as_text()
