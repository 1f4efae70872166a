"""The compensation-mobility model: pay and location choice estimated jointly.

Workers of one origin who work at home in year t emigrate in t + 1 with probability
``Lambda(x_i' c_e + alpha * g_i)``; those abroad return with probability
``Lambda(x_i' c_r + beta * g_i)``. ``g_i = z_i' d`` is the pay gain of the worker's own
skill set (:mod:`analysis.estimate.skillpay`): ``z_i`` the skill-set design,
``d = theta_destination - theta_home`` the difference of the skill-set premiums.
``x_i`` holds categorical controls (year; the current country for returns).

``d`` is not known: it is estimated from the wage regressions as ``d_hat`` with
covariance ``V``. Plugging ``d_hat`` into the logits (the *naive* estimator) treats an
estimate as data: its sampling error attenuates ``alpha`` and the standard errors
ignore it. The *joint* estimator maximises the two logits' (weighted) log-likelihoods
together with the wage equations' information on ``d``, summarised by its asymptotic
distribution ``d_hat ~ N(d, V)``:

    max over (c_e, c_r, alpha, beta, d):  l_e + l_r - (d - d_hat)' V^-1 (d - d_hat) / 2

This is the pseudo-maximum-likelihood of the system (wage equations in their quadratic
approximation, which is exact for least squares); it is consistent, and its sandwich
covariance ``H^-1 (S'S + V^-1) H^-1`` (``S``: the logits' scores summed by person)
carries the first step's uncertainty into ``alpha``, ``beta`` and every prediction.
``docs/compensation-mobility.md`` derives what each estimator converges to and shows
the Monte Carlo evidence behind the choice.

The logits are fitted on *cells*: person-years with the same controls and skill set
share one design row, so the log-likelihood is a sum over cells of
``A_c eta_c - B_c log(1 + exp(eta_c))`` (``A``: weighted events, ``B``: weights), exact
and independent of the number of rows; the person-level scores for the clustered
covariance come from a sparse persons x cells matrix. No library fits two logits that
share a parameter vector with a quadratic penalty; the optimiser is SciPy's
trust-region Newton with the analytic gradient and Hessian written here.

A categorical level whose person-years hold no event (or only events) would send its
intercept to infinity (separation); those rows are left out of the fit, counted in
``info["separated"]``, and keep their observed rate in predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special, stats

from analysis.errors import EstimationDataError
from analysis.estimate.counterfactual import scenario_table
from analysis.estimate.covariance import sandwich
from analysis.estimate.results import RegressionResult, Summary


@dataclass
class _Cells:
    """One logit's data, compressed to cells of identical design rows."""

    X: np.ndarray  # cells x controls (constant and dummies)
    Z: np.ndarray  # cells x skill-set terms
    events: np.ndarray  # A: sum of normalised weights x outcome
    exposure: np.ndarray  # B: sum of normalised weights
    raw_weight: np.ndarray  # sum of the original weights (for population rates)
    person: np.ndarray  # person code of every row kept
    cell: np.ndarray  # cell of every row kept
    residual_weight: np.ndarray  # normalised weight of every row kept
    outcome: np.ndarray  # outcome of every row kept
    control_names: list[str]
    fixed_rate_weight: float  # raw weight of separated rows
    fixed_rate_events: float  # raw weighted events of separated rows
    separated: int
    nobs: int
    years: int


def _separated_rows(frame: pd.DataFrame, outcome: str, categorical: Sequence[str]) -> pd.Series:
    """Rows in a categorical level with no event or only events, found iteratively."""
    keep = pd.Series(True, index=frame.index)
    while True:
        changed = False
        for col in categorical:
            events = frame.loc[keep].groupby(col, observed=True)[outcome].agg(["sum", "size"])
            bad = events.index[(events["sum"] == 0) | (events["sum"] == events["size"])]
            drop = keep & frame[col].isin(bad)
            if drop.any():
                keep &= ~drop
                changed = True
        if not changed:
            return ~keep


def _cells(
    frame: pd.DataFrame,
    outcome: str,
    terms: Sequence[str],
    categorical: Sequence[str],
    weights: str | None,
    person_codes: pd.Series,
    year: str,
) -> _Cells:
    y = frame[outcome].astype(float)
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError(f"outcome {outcome!r} must be 0/1")
    w_raw = frame[weights].astype(float) if weights else pd.Series(1.0, index=frame.index)
    separated = _separated_rows(frame.assign(_y=y), "_y", categorical)
    fixed_w = float(w_raw[separated].sum())
    fixed_e = float((w_raw * y)[separated].sum())
    kept = frame.loc[~separated]
    if kept.empty or y[~separated].sum() == 0:
        raise EstimationDataError(f"no {outcome} events left to estimate from")
    y, w_raw = y[~separated], w_raw[~separated]
    w = w_raw / w_raw.mean()
    cat = kept[list(categorical)].astype(str)
    dummies = (  # no controls: the constant alone
        pd.get_dummies(cat, drop_first=True, dtype=float, prefix_sep="=")
        if len(categorical)
        else pd.DataFrame(index=kept.index)
    )
    X = pd.concat([pd.Series(1.0, index=kept.index, name="const"), dummies], axis=1)
    design = pd.concat([X, kept[list(terms)].astype(float)], axis=1)
    codes = design.groupby(list(design.columns), sort=True).ngroup().to_numpy()
    n_cells = codes.max() + 1
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    rows = design.to_numpy()[first]
    return _Cells(
        X=rows[:, : X.shape[1]],
        Z=rows[:, X.shape[1] :],
        events=np.bincount(codes, weights=(w * y).to_numpy(), minlength=n_cells),
        exposure=np.bincount(codes, weights=w.to_numpy(), minlength=n_cells),
        raw_weight=np.bincount(codes, weights=w_raw.to_numpy(), minlength=n_cells),
        person=person_codes.loc[kept.index].to_numpy(),
        cell=codes,
        residual_weight=w.to_numpy(),
        outcome=y.to_numpy(),
        control_names=list(X.columns),
        fixed_rate_weight=fixed_w,
        fixed_rate_events=fixed_e,
        separated=int(separated.sum()),
        nobs=len(kept),
        years=int(frame[year].nunique()),
    )


@dataclass
class MobilityModel:
    """Fitted emigration and return logits sharing the pay gain ``z' d``.

    ``params``/``cov`` are the full parameter vector (``emig:<control>``,
    ``return:<control>``, ``alpha``, ``beta``, ``d:<term>``) and its covariance;
    :meth:`rates` predicts the population rates under a shift of the home premium.
    """

    params: pd.Series
    cov: pd.DataFrame
    method: str
    emigration: _Cells
    returns: _Cells
    terms: list[str]
    info: dict[str, object] = field(default_factory=dict)
    difference: np.ndarray = field(default_factory=lambda: np.zeros(0))  # d_hat
    precision: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # V^-1

    # ---- layout of the parameter vector ------------------------------------------------
    @property
    def _k(self) -> tuple[int, int, int]:
        return len(self.emigration.control_names), len(self.returns.control_names), len(self.terms)

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
        ke, kr, p = self._k
        return theta[:ke], theta[ke : ke + kr], theta[ke + kr], theta[ke + kr + 1], theta[-p:]

    def rates(self, shift: float = 0.0, theta: np.ndarray | None = None) -> dict[str, float]:
        """Emigration and return rates (fractions a year), workers at home and abroad
        (weighted, per year), when the home premium rises by ``shift`` log points."""
        theta = self.params.to_numpy() if theta is None else theta
        c_e, c_r, alpha, beta, d = self._split(theta)
        out = {}
        for name, cells, c, slope in (
            ("emigration", self.emigration, c_e, alpha),
            ("return", self.returns, c_r, beta),
        ):
            eta = cells.X @ c + slope * (cells.Z @ d - shift)
            p = special.expit(eta)
            total = cells.raw_weight.sum() + cells.fixed_rate_weight
            out[name] = float(((cells.raw_weight * p).sum() + cells.fixed_rate_events) / total)
            out[f"workers_{name}"] = total / cells.years
        return out

    def result(self, names: Sequence[str] = ("alpha", "beta")) -> RegressionResult:
        """The named parameters as a :class:`RegressionResult` (normal inference)."""
        names = list(names)
        return RegressionResult(
            params=self.params[names],
            cov=self.cov.loc[names, names],
            nobs=self.emigration.nobs + self.returns.nobs,
            df_resid=None,
            vcov_type=str(self.info.get("vcov", "")),
            estimator=self.method,
            info={k: v for k, v in self.info.items() if k != "vcov"},
        )

    def summary(self, level: float = 0.95) -> Summary:
        """:meth:`RegressionResult.summary` of :meth:`result`."""
        return self.result().summary(level)

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """:meth:`RegressionResult.tidy` of :meth:`result`."""
        return self.result().tidy(level)


def _objective(theta: np.ndarray, model: MobilityModel, d_hat, precision, fix_d: bool):
    """Negative penalised log-likelihood, its gradient and Hessian in theta."""
    ke, kr, p = model._k
    c_e, c_r, alpha, beta, d = model._split(theta)
    if fix_d:
        d = d_hat
    n_par = len(theta)
    value, grad, hess = 0.0, np.zeros(n_par), np.zeros((n_par, n_par))
    offsets = ((0, ke + kr), (ke, ke + kr + 1))  # where c and the slope sit
    for cells, c, slope, (c0, s_pos) in (
        (model.emigration, c_e, alpha, offsets[0]),
        (model.returns, c_r, beta, offsets[1]),
    ):
        g = cells.Z @ d
        eta = cells.X @ c + slope * g
        prob = special.expit(eta)
        value -= float(cells.events @ eta - cells.exposure @ np.logaddexp(0.0, eta))
        r = cells.events - cells.exposure * prob
        jac = np.zeros((len(eta), n_par))
        jac[:, c0 : c0 + cells.X.shape[1]] = cells.X
        jac[:, s_pos] = g
        if not fix_d:
            jac[:, -p:] = slope * cells.Z
        grad -= jac.T @ r
        hess += (jac * (cells.exposure * prob * (1 - prob))[:, None]).T @ jac
        if not fix_d:
            cross = cells.Z.T @ r  # d^2 eta / d slope d d = Z
            hess[s_pos, -p:] -= cross
            hess[-p:, s_pos] -= cross
    if not fix_d:
        gap = d - d_hat
        value += 0.5 * gap @ precision @ gap
        grad[-p:] += precision @ gap
        hess[-p:, -p:] += precision
    return value, grad, hess


def _person_scores(model: MobilityModel, theta: np.ndarray, fix_d: bool, n_persons: int):
    """persons x parameters: the logits' scores summed by person (both samples)."""
    ke, kr, p = model._k
    c_e, c_r, alpha, beta, d = model._split(theta)
    blocks = []
    for cells, c, slope, c0, s_pos in (
        (model.emigration, c_e, alpha, 0, ke + kr),
        (model.returns, c_r, beta, ke, ke + kr + 1),
    ):
        eta = cells.X @ c + slope * (cells.Z @ d)
        prob = special.expit(eta)
        jac = np.zeros((len(eta), len(theta)))
        jac[:, c0 : c0 + cells.X.shape[1]] = cells.X
        jac[:, s_pos] = cells.Z @ d
        if not fix_d:
            jac[:, -p:] = slope * cells.Z
        resid = cells.residual_weight * (cells.outcome - prob[cells.cell])
        by_person = sparse.coo_matrix(
            (resid, (cells.person, cells.cell)), shape=(n_persons, len(eta))
        ).tocsr()
        blocks.append(by_person @ jac)
    return blocks[0] + blocks[1]


def fit_mobility_model(
    at_home: pd.DataFrame,
    abroad: pd.DataFrame,
    *,
    design_terms: Sequence[str],
    difference: pd.Series,
    difference_cov: pd.DataFrame,
    emigrate: str = "emigrate_next",
    return_: str = "return_next",
    emigration_controls: Sequence[str] = ("year",),
    return_controls: Sequence[str] = ("year", "country"),
    weights: str | None = "weight",
    cluster: str = "user_id",
    year: str = "year",
    method: str = "joint",
) -> MobilityModel:
    """Fit the emigration and return logits on the skill-set pay gain.

    Parameters
    ----------
    at_home, abroad
        Person-years at risk of emigrating and of returning, with the 0/1 outcomes,
        the skill-set design columns ``design_terms``, the controls, weights and
        ``cluster`` (a person identifier).
    difference, difference_cov
        ``d_hat`` and ``V`` from
        :func:`analysis.estimate.skillpay.premium_difference`; terms of
        ``design_terms`` missing from ``difference`` are left out.
    emigration_controls, return_controls
        Categorical columns entered as dummies (with a constant).
    method
        ``"joint"`` (``d`` estimated with the logits, first-step uncertainty
        included) or ``"naive"`` (``d`` fixed at ``d_hat``, logit-only errors).

    Returns
    -------
    MobilityModel
    """
    if method not in ("joint", "naive"):
        raise ValueError(f"method must be 'joint' or 'naive', not {method!r}")
    terms = [t for t in design_terms if t in difference.index]
    d_hat = difference[terms].to_numpy(float)
    V = difference_cov.loc[terms, terms].to_numpy(float)
    precision = np.linalg.pinv(V)
    persons = pd.concat([at_home[cluster], abroad[cluster]])
    codes = pd.Series(pd.factorize(persons)[0], index=np.arange(len(persons)))
    home_codes = pd.Series(codes.to_numpy()[: len(at_home)], index=at_home.index)
    abroad_codes = pd.Series(codes.to_numpy()[len(at_home) :], index=abroad.index)
    n_persons = int(codes.max()) + 1
    emig = _cells(at_home, emigrate, terms, emigration_controls, weights, home_codes, year)
    ret = _cells(abroad, return_, terms, return_controls, weights, abroad_codes, year)
    names = (
        [f"emig:{n}" for n in emig.control_names]
        + [f"return:{n}" for n in ret.control_names]
        + ["alpha", "beta"]
        + [f"d:{t}" for t in terms]
    )
    model = MobilityModel(
        params=pd.Series(np.zeros(len(names)), index=names),
        cov=pd.DataFrame(),
        method=method,
        emigration=emig,
        returns=ret,
        terms=terms,
        difference=d_hat,
        precision=precision,
    )
    fix_d = method == "naive"
    theta0 = np.zeros(len(names))
    for cells, start in ((emig, 0), (ret, len(emig.control_names))):
        rate = cells.events.sum() / cells.exposure.sum()
        theta0[start] = np.log(rate / (1 - rate))
    theta0[-len(terms) :] = d_hat
    if not fix_d:  # start from the naive fit
        naive = fit_mobility_model(
            at_home,
            abroad,
            design_terms=terms,
            difference=difference,
            difference_cov=difference_cov,
            emigrate=emigrate,
            return_=return_,
            emigration_controls=emigration_controls,
            return_controls=return_controls,
            weights=weights,
            cluster=cluster,
            year=year,
            method="naive",
        )
        theta0 = naive.params.to_numpy().copy()

    def fun(theta):
        return _objective(theta, model, d_hat, precision, fix_d)[:2]

    def hess(theta):
        return _objective(theta, model, d_hat, precision, fix_d)[2]

    free = _free(model)
    # the optimiser works on the mean objective, so that its tolerances are relative
    scale = 1.0 / (emig.exposure.sum() + ret.exposure.sum())
    sol = optimize.minimize(
        lambda t: scale * fun(_full(t, theta0, free))[0],
        theta0[free],
        jac=lambda t: scale * fun(_full(t, theta0, free))[1][free],
        hess=lambda t: scale * hess(_full(t, theta0, free))[np.ix_(free, free)],
        method="trust-exact",
        options={"gtol": 1e-10, "maxiter": 500},
    )
    theta = _full(sol.x, theta0, free)
    _check_converged(sol, scale * fun(theta)[1][free])
    H = hess(theta)[np.ix_(free, free)]
    scores = _person_scores(model, theta, fix_d, n_persons)[:, free]
    g = scores.shape[0]
    meat = g / (g - 1) * scores.T @ scores
    if not fix_d:
        k = len(terms)
        meat[-k:, -k:] += precision
    bread = np.linalg.inv(H)
    cov = np.zeros((len(names), len(names)))
    cov[np.ix_(free, free)] = sandwich(bread, meat)
    if fix_d:
        cov[np.ix_(~free, ~free)] = V  # d_hat's own covariance, for reference
    model.params = pd.Series(theta, index=names)
    model.cov = pd.DataFrame(cov, index=names, columns=names)
    model.info = {
        "vcov": f"CRV1: {cluster}" + (" (first step included)" if not fix_d else ""),
        "emigration_events": float(emig.outcome.sum()),
        "return_events": float(ret.outcome.sum()),
        "emigration_nobs": emig.nobs,
        "return_nobs": ret.nobs,
        "separated": {"emigration": emig.separated, "return": ret.separated},
        "cells": {"emigration": len(emig.events), "return": len(ret.events)},
        "clusters": g,
        "iterations": int(sol.nit),
    }
    return model


def _full(sub: np.ndarray, base: np.ndarray, free: np.ndarray) -> np.ndarray:
    out = base.copy()
    out[free] = sub
    return out


def _check_converged(
    sol: optimize.OptimizeResult, scaled_gradient: np.ndarray, error: type = RuntimeError
) -> None:
    if not sol.success and float(np.max(np.abs(scaled_gradient))) > 1e-8:
        raise error(f"mobility model did not converge: {sol.message}")


def _free(model: MobilityModel) -> np.ndarray:
    free = np.ones(len(model.params), dtype=bool)
    if model.method == "naive":
        free[-len(model.terms) :] = False
    return free


def profile_interval(
    model: MobilityModel, name: str = "alpha", level: float = 0.95
) -> tuple[float, float]:
    """Robust profile-likelihood interval of one parameter of a fitted model.

    The interval is every value ``b`` at which the adjusted likelihood-ratio statistic

        LR(b) = 2 [F(b) - F(hat)] * H^-1_jj / Sigma_jj

    stays below the ``level`` quantile of chi-square(1); ``F`` is the negative
    penalised log-likelihood minimised over every other parameter with this one held
    at ``b``, ``H^-1_jj`` its model-based variance and ``Sigma_jj`` the sandwich
    variance of :func:`fit_mobility_model`. The factor makes the statistic
    chi-square(1) under weights and clustering (a weighted pseudo-likelihood's
    curvature is not its scores' variance); the likelihood's shape is kept, so the
    interval is asymmetric where the first step makes the joint ``alpha`` behave like
    a ratio of two estimates, whose distribution is skewed away from zero. Written
    here because the model itself is (no library fits it).

    Parameters
    ----------
    model
        A :class:`MobilityModel` from :func:`fit_mobility_model`.
    name
        ``"alpha"``, ``"beta"`` or another free parameter of ``model.params``.
    level
        Coverage of the interval.

    Returns
    -------
    tuple of float
        ``(low, high)``; an end is infinite when the statistic stays below the quantile
        up to 64 standard errors from the estimate, and NaN when a constrained fit on
        the way there does not converge (a likelihood too flat to profile: small
        samples).
    """
    names = list(model.params.index)
    if name not in names:
        raise ValueError(f"{name!r} is not a parameter of the model")
    free = _free(model)
    j = names.index(name)
    if not free[j]:
        raise ValueError(f"{name!r} is fixed in the {model.method} model")
    fix_d = model.method == "naive"
    theta_hat = model.params.to_numpy()

    def objective(theta):
        return _objective(theta, model, model.difference, model.precision, fix_d)

    value_hat, _, hess_hat = objective(theta_hat)
    bread = np.linalg.inv(hess_hat[np.ix_(free, free)])
    position = int(np.flatnonzero(free).tolist().index(j))
    adjust = bread[position, position] / model.cov.iloc[j, j]
    scale = 1.0 / (model.emigration.exposure.sum() + model.returns.exposure.sum())
    rest = free.copy()
    rest[j] = False
    critical = stats.chi2.ppf(level, 1)
    start = {"theta": theta_hat}

    def statistic(b: float) -> float:
        base = start["theta"].copy()
        base[j] = b
        sol = optimize.minimize(
            lambda t: scale * objective(_full(t, base, rest))[0],
            base[rest],
            jac=lambda t: scale * objective(_full(t, base, rest))[1][rest],
            hess=lambda t: scale * objective(_full(t, base, rest))[2][np.ix_(rest, rest)],
            method="trust-exact",
            options={"gtol": 1e-10, "maxiter": 500},
        )
        theta = _full(sol.x, base, rest)
        _check_converged(sol, scale * objective(theta)[1][rest], _ProfileNotConverged)
        start["theta"] = theta  # warm start for the next value
        return 2 * (objective(theta)[0] - value_hat) * adjust - critical

    se = float(np.sqrt(model.cov.iloc[j, j]))
    ends = []
    for sign in (-1.0, 1.0):
        start["theta"] = theta_hat
        inner, step = theta_hat[j], se
        try:
            while step <= 64 * se and statistic(theta_hat[j] + sign * step) < 0:
                inner, step = theta_hat[j] + sign * step, 2 * step
            if step > 64 * se:
                ends.append(sign * np.inf)
                continue
            outer = theta_hat[j] + sign * step
            ends.append(optimize.brentq(statistic, inner, outer, xtol=1e-6 * se))
        except _ProfileNotConverged:
            ends.append(np.nan)  # the likelihood is too flat there to profile
    return float(ends[0]), float(ends[1])


class _ProfileNotConverged(RuntimeError):
    """The constrained fit of one profile point did not converge."""


#: The counterfactual quantities, in the order :func:`counterfactual_table` reports them.
QUANTITIES = ("emigration_rate", "return_rate", "net_outflow", "overseas_share")


def _quantities(model: MobilityModel, theta: np.ndarray, shift: float) -> np.ndarray:
    r = model.rates(shift, theta)
    e, b = r["emigration"], r["return"]
    return np.array(
        [
            100 * e,
            100 * b,
            e * r["workers_emigration"] - b * r["workers_return"],
            100 * e / (e + b),
        ]
    )


def counterfactual_table(
    model: MobilityModel, scenarios: dict[str, float], level: float = 0.95
) -> pd.DataFrame:
    """Emigration and return rates (percent a year), the net outflow (weighted workers
    a year, at the sample's average numbers at home and abroad) and the long-run
    overseas share ``e / (e + r)`` (percent) under each premium scenario.

    ``scenarios`` maps a name to the rise of the home premium in log points (see
    :func:`analysis.estimate.counterfactual.scenario_shifts`). Standard errors are by
    the delta method over the model's full covariance, so a joint model's include the
    first step. Returns one row per scenario and quantity with ``estimate``,
    ``std_error``, ``conf_low``, ``conf_high``, ``change`` (from ``baseline``) and
    ``change_se``.
    """
    table = scenario_table(
        lambda t, s: _quantities(model, t, s),
        model.params.to_numpy(),
        model.cov.to_numpy(),
        QUANTITIES,
        scenarios,
        level,
    )
    return table.assign(model=model.method)
