"""Mobility and the compensation-mobility link.

Three levels, each a generic function of a frame:

- **individual**: the probability of working abroad, or of emigrating next year, on AI
  status and on the pay gain from moving, as a linear probability model with fixed
  effects (:func:`mobility_lpm`, pyfixest) and as a logit with average marginal effects
  (:func:`logit_ame`, statsmodels' GLM with analytic weights and clustered covariance;
  the marginal effects and their delta-method errors are computed here because
  statsmodels' ``get_margeff`` ignores weights);
- **across skills or countries**: a share (abroad, emigrating) against the domestic
  premium, with the slope, its standard error and the points for a plot
  (:func:`share_premium_slope`);
- **bilateral flows**: origin x destination x skill x year counts by Poisson
  pseudo-maximum likelihood in gravity form, with the premium differential as the
  regressor and origin-year and destination-year fixed effects (:func:`gravity_ppml`,
  pyfixest's ``fepois``).

:func:`pay_gain` builds the regressor the report's argument turns on: for each worker,
the premium their AI skills would earn in a destination minus what they earn at home.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyfixest as pf
import statsmodels.api as sm
from pyfixest.errors import NonConvergenceError
from scipy import sparse

from analysis.errors import ArgumentError
from analysis.estimate.checks import (
    as_columns,
    check_binary,
    check_frame,
    check_vcov,
    formula_columns,
    require_columns,
    split_formula,
)
from analysis.estimate.covariance import crv1_factor, delta_method_cov, hc1_factor, sandwich
from analysis.estimate.premium import exact_demeaner, fit_feols, premium_formula
from analysis.estimate.results import RegressionResult, Summary


# --------------------------------------------------------------------------- regressors
def pay_gain(
    panel: pd.DataFrame,
    premiums: pd.DataFrame,
    *,
    skills: Sequence[str],
    destination: str = "USA",
    home: str = "country",
    ai: str = "ai",
    premium_column: str = "estimate",
) -> pd.Series:
    """Log-point premium gain from moving, for each row of ``panel``, from by-skill
    premiums of *holders* (``premium_by_skill``).

    Holders' premiums absorb the premiums of the clusters held with each one, so this
    gain is a squeezed proxy of a worker's own gain; the compensation-mobility model
    uses :func:`analysis.estimate.skillpay.pay_gain_from_design` instead
    (``docs/compensation-mobility.md``).

    For an AI worker holding skill clusters ``k`` (boolean columns ``skills``) and working
    in ``home``, the gain is the mean over their clusters of
    ``premium[destination, k] - premium[home, k]``; a worker flagged AI without a listed
    cluster gets the country-level difference (rows of ``premiums`` with ``skill ==
    "all"``); non-AI workers get 0.

    Parameters
    ----------
    premiums
        Tidy premiums with ``country``, ``skill`` (cluster column names, or ``"all"``) and
        ``premium_column`` (log points), e.g. from :func:`premium_by`.
    """
    table = premiums.set_index(["country", "skill"])[premium_column]
    gain = np.zeros(len(panel))
    held = np.zeros(len(panel))
    home_country = pd.Series(panel[home].to_numpy())

    def premium_at_home(skill: str) -> np.ndarray:
        # one look-up per country, not per row (the same values as table.get per row)
        by_country = {c: table.get((c, skill), np.nan) for c in home_country.dropna().unique()}
        return home_country.map(by_country).to_numpy(dtype=float, na_value=np.nan)

    for skill in skills:
        has = panel[skill].astype(bool).to_numpy() & panel[ai].astype(bool).to_numpy()
        dest = table.get((destination, skill), np.nan)
        gain += np.where(has, dest - premium_at_home(skill), 0.0)
        held += has
    overall = table.get((destination, "all"), np.nan) - premium_at_home("all")
    is_ai = panel[ai].astype(bool).to_numpy()
    out = np.where(held > 0, gain / np.maximum(held, 1), np.where(is_ai, overall, 0.0))
    return pd.Series(out, index=panel.index, name="pay_gain")


# --------------------------------------------------------------------------- individual
def mobility_lpm(
    data: pd.DataFrame,
    formula: str | None = None,
    *,
    outcome: str | None = None,
    regressors: str | Sequence[str] | None = (),
    fixed_effects: str | Sequence[str] | None = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "iid",
    demeaner: object | None = None,
    engine: str = "pyfixest",
) -> RegressionResult:
    """Linear probability model of a 0/1 outcome with fixed effects.

    Give the model as a pyfixest formula (``"emigrate ~ ai + pay_gain | year"``) or as
    ``outcome=``, ``regressors=`` and ``fixed_effects=``. ``engine="pyfixest"`` fits it
    in memory (any formula term, any ``vcov``; ``demeaner`` as in
    :func:`analysis.estimate.premium.fit_feols`); ``engine="duckdb"`` from its normal
    equations in DuckDB (:func:`analysis.estimate.normal_equations.feols_by`), with the
    same estimates and standard errors (singleton rows kept) and memory that does not
    grow with the fixed-effect demeaning of every row; it takes plain column terms and
    ``vcov={"CRV1": column}`` only.

    Raises
    ------
    analysis.errors.ArgumentError
        An outcome that is not 0/1, a column not in ``data``, an argument the engine
        does not take.

    Examples
    --------
    >>> from linearmodels.datasets import wage_panel
    >>> df = wage_panel.load()
    >>> res = mobility_lpm(df, "union ~ married + educ | year", vcov={"CRV1": "nr"})
    >>> res.depvar, res.fixed_effects, res.vcov_type
    ('union', ('year',), 'CRV1: nr')
    """
    function = "mobility_lpm"
    check_frame(data, function)
    if engine not in ("pyfixest", "duckdb"):
        raise ArgumentError(f"{function}: engine must be 'pyfixest' or 'duckdb', got {engine!r}")
    if formula is not None:
        if outcome is not None or as_columns(regressors, "regressors"):
            raise ArgumentError(f"{function}: give a formula or outcome/regressors, not both")
        outcome, terms, fixed = split_formula(formula, function)
    else:
        if not isinstance(outcome, str):
            raise ArgumentError(f"{function}: name the outcome (a column) or give a formula")
        terms = as_columns(regressors, "regressors")
        fixed = as_columns(fixed_effects, "fixed_effects")
        if not terms:
            raise ArgumentError(f"{function}: name at least one regressor")
        formula = premium_formula(outcome, terms, fixed)
    require_columns(data, {"outcome": [outcome], "weights": [weights] if weights else []}, function)
    clusters = check_vcov(vcov, data, function)
    check_binary(data, outcome, "outcome", function)
    used = [*formula_columns(formula, data), *([weights] if weights else []), *clusters]
    frame = data[list(dict.fromkeys(used))].copy()
    for col in frame.columns:
        if frame[col].dtype == bool:
            frame[col] = frame[col].astype(float)
    if engine == "duckdb":
        plain = all(t in data.columns for t in terms) and all(f in data.columns for f in fixed)
        if not plain or len(clusters) != 1:
            raise ArgumentError(
                f"{function}: engine='duckdb' takes column terms and vcov={{'CRV1': column}} "
                f"only; got {formula!r} and vcov={vcov!r}"
            )
        import duckdb

        from analysis.estimate.normal_equations import feols_by

        con = duckdb.connect(config={"memory_limit": "1GB"})
        try:
            con.register("lpm_rows", frame)
            result = feols_by(
                con,
                "lpm_rows",
                outcome,
                list(terms),
                fixed_effects=fixed,
                weights=weights,
                cluster=clusters[0],
            )[()]
        finally:
            con.close()
        result.estimator = "normal equations in DuckDB (linear probability model)"
        result.depvar, result.weights, result.fixed_effects = outcome, weights, tuple(fixed)
        return result
    result, _ = fit_feols(
        frame, formula, weights=weights, vcov=vcov, demeaner=demeaner, function=function
    )
    result.estimator = "pyfixest.feols (linear probability model)"
    return result


@dataclass
class LogitFit:
    """A weighted logit: coefficients, their sandwich covariance and the design used."""

    beta: np.ndarray
    cov: np.ndarray
    names: list[str]
    X: np.ndarray
    weights: np.ndarray
    nobs: int
    vcov_type: str
    depvar: str | None = None
    weights_column: str | None = None

    def predict(self, X: np.ndarray | None = None, beta: np.ndarray | None = None) -> np.ndarray:
        X = self.X if X is None else X
        b = self.beta if beta is None else beta
        return 1 / (1 + np.exp(-X @ b))

    def result(self) -> RegressionResult:
        """The coefficients as a :class:`RegressionResult` (normal inference), with
        ``summary()``, ``tidy()``, ``wald_test()`` and the table plug-ins."""
        params = pd.Series(self.beta, index=self.names)
        return RegressionResult(
            params=params,
            cov=pd.DataFrame(self.cov, index=self.names, columns=self.names),
            nobs=self.nobs,
            df_resid=None,
            vcov_type=self.vcov_type,
            estimator="logit (coefficients)",
            depvar=self.depvar,
            weights=self.weights_column,
        )

    def summary(self, level: float = 0.95) -> Summary:
        """:meth:`RegressionResult.summary` of :meth:`result`."""
        return self.result().summary(level)

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """:meth:`RegressionResult.tidy` of :meth:`result`."""
        return self.result().tidy(level)


def fit_logit(
    data: pd.DataFrame,
    outcome: str,
    regressors: Sequence[str],
    *,
    controls: Sequence[str] = (),
    categorical: Sequence[str] = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "hetero",
    function: str = "fit_logit",
) -> LogitFit:
    """Weighted logit (GLM point estimates) with a sandwich covariance written out here,
    because statsmodels does not fully support robust covariances with ``var_weights``:
    clustered by ``cluster`` (factor G/(G-1) (N-1)/(N-K), the convention of statsmodels
    and Stata) or HC1 (factor N/(N-K)). Rows with missing values are dropped.

    The fit runs on cells: rows with the same regressors, controls and categories share
    a design row, so the GLM sees one row per cell (its weighted mean outcome, weighted
    by its sum of weights), which has the same estimating equations as the rows; the
    clustered scores sum each row's ``w (y - p)`` by person and cell (a sparse matrix).
    Memory grows with the cells, not with the rows. ``LogitFit.X`` and ``.weights`` are
    the cells' design and weights, so weighted averages over them are averages over
    the rows. ``vcov`` is ``"hetero"`` (HC1, the default) or ``{"CRV1": column}``.
    """
    check_frame(data, function)
    regressors = as_columns(regressors, "regressors")
    controls = as_columns(controls, "controls")
    categorical = as_columns(categorical, "categorical")
    require_columns(
        data,
        {
            "outcome": [outcome],
            "regressors": regressors,
            "controls": controls,
            "categorical": categorical,
            "weights": [weights] if weights else [],
        },
        function,
    )
    clusters = check_vcov(vcov, data, function)
    if vcov != "hetero" and len(clusters) != 1:
        raise ArgumentError(
            f"{function}: vcov must be 'hetero' or {{'CRV1': column}}, got {vcov!r}"
        )
    check_binary(data, outcome, "outcome", function)
    cluster = clusters[0] if clusters else None
    used = list(
        dict.fromkeys(
            [outcome, *regressors, *controls, *categorical] + [c for c in (weights, cluster) if c]
        )
    )
    frame = data[used].dropna()
    keys = list(dict.fromkeys([*regressors, *controls, *categorical]))
    codes = frame.groupby(keys, sort=True, observed=True).ngroup().to_numpy()
    n_cells = int(codes.max()) + 1 if len(codes) else 0
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    cells = frame.iloc[first]
    X = cells[list(regressors) + list(controls)].astype(float)
    if categorical:
        X = pd.concat(
            [X, pd.get_dummies(cells[list(categorical)].astype(str), drop_first=True, dtype=float)],
            axis=1,
        )
    X = sm.add_constant(X, has_constant="add")
    y = frame[outcome].astype(float).to_numpy()
    w = frame[weights].to_numpy(float) if weights else np.ones(len(frame))
    cell_w = np.bincount(codes, weights=w, minlength=n_cells)
    cell_y = np.bincount(codes, weights=w * y, minlength=n_cells) / cell_w
    beta = (
        sm.GLM(cell_y, X, family=sm.families.Binomial(), var_weights=cell_w).fit().params.to_numpy()
    )
    Xv = X.to_numpy()
    p = 1 / (1 + np.exp(-Xv @ beta))
    bread = np.linalg.inv((Xv * (cell_w * p * (1 - p))[:, None]).T @ Xv)
    u = w * (y - p[codes])  # each row's score is u x_(its cell)
    n, k = len(frame), Xv.shape[1]
    if cluster:
        person = pd.factorize(frame[cluster])[0]
        g = int(person.max()) + 1
        by_person = sparse.csr_matrix((u, (person, codes)), shape=(g, n_cells))
        summed = by_person @ Xv
        meat = summed.T @ summed
        factor = crv1_factor(g, n, k)
    else:
        meat = (Xv * np.bincount(codes, weights=u**2, minlength=n_cells)[:, None]).T @ Xv
        factor = hc1_factor(n, k)
    return LogitFit(
        beta=beta,
        cov=sandwich(bread, meat, factor),
        names=list(X.columns),
        X=Xv,
        weights=cell_w,
        nobs=n,
        vcov_type=f"CRV1: {cluster}" if cluster else "hetero",
        depvar=outcome,
        weights_column=weights,
    )


def logit_ame(
    data: pd.DataFrame,
    outcome: str,
    regressors: Sequence[str],
    *,
    controls: Sequence[str] = (),
    categorical: Sequence[str] = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "hetero",
) -> RegressionResult:
    """Logit of a 0/1 ``outcome``; returns average marginal effects of ``regressors``.

    ``weights`` default to none and ``vcov`` to ``"hetero"`` (HC1); ``{"CRV1": column}``
    clusters.

    Binary regressors (two distinct values) get the average discrete change
    ``mean_w[F(x_k = 1) - F(x_k = 0)]``; others the average derivative
    ``mean_w[beta_k f(x'b)]``. The coefficient covariance is :func:`fit_logit`'s
    sandwich; the AMEs' standard errors follow by the delta method with a numerical
    gradient.

    Returns
    -------
    RegressionResult
        ``params`` are the AMEs (probability points); ``info["coefficients"]`` holds the
        logit coefficients.
    """
    fit = fit_logit(
        data,
        outcome,
        regressors,
        controls=controls,
        categorical=categorical,
        weights=weights,
        vcov=vcov,
        function="logit_ame",
    )
    regressors = as_columns(regressors, "regressors")
    Xm, w = fit.X, fit.weights
    binary = {r: set(np.unique(Xm[:, fit.names.index(r)])) <= {0.0, 1.0} for r in regressors}
    # the designs with a binary regressor set to 1 and to 0, made once for every call
    switched = {}
    for r in regressors:
        if binary[r]:
            x1, x0 = Xm.copy(), Xm.copy()
            x1[:, fit.names.index(r)], x0[:, fit.names.index(r)] = 1.0, 0.0
            switched[r] = (x1, x0)

    def ames(b: np.ndarray) -> np.ndarray:
        out = []
        for r in regressors:
            j = fit.names.index(r)
            if binary[r]:
                x1, x0 = switched[r]
                out.append(np.average(fit.predict(x1, b) - fit.predict(x0, b), weights=w))
            else:
                p = fit.predict(Xm, b)
                out.append(np.average(b[j] * p * (1 - p), weights=w))
        return np.array(out)

    est = ames(fit.beta)
    cov = delta_method_cov(ames, fit.beta, fit.cov)
    return RegressionResult(
        params=pd.Series(est, index=list(regressors)),
        cov=pd.DataFrame(cov, index=list(regressors), columns=list(regressors)),
        nobs=fit.nobs,
        df_resid=None,
        vcov_type=fit.vcov_type,
        estimator="weighted logit (GLM), average marginal effects (delta method)",
        info={"coefficients": dict(zip(fit.names, fit.beta.round(8), strict=True))},
        depvar=outcome,
        weights=weights,
    )


#: :func:`gravity_ppml`'s default covariance: clustered by origin-destination pair.
PAIR_CLUSTERS: dict[str, str] = {"CRV1": "pair"}


# --------------------------------------------------------------------------- aggregate
def share_premium_slope(
    points: pd.DataFrame,
    *,
    share: str,
    premium: str,
    weights: str | None = None,
    label: str | None = None,
) -> tuple[RegressionResult, pd.DataFrame]:
    """Slope of a share (abroad, emigrating) on the domestic premium across points.

    Parameters
    ----------
    points
        One row per skill cluster (or country): the share, the premium, optional weights.
    weights
        Weights of the points (e.g. number of workers), ``None`` for equal weights.

    Returns
    -------
    (RegressionResult, DataFrame)
        WLS with heteroskedasticity-robust (HC1) errors, and the points for a plot
        (with the fitted line).
    """
    data = points.dropna(subset=[share, premium])
    X = sm.add_constant(data[[premium]].astype(float))
    w = data[weights].to_numpy(float) if weights else np.ones(len(data))
    fit = sm.WLS(data[share].astype(float), X, weights=w).fit(cov_type="HC1")
    result = RegressionResult(
        params=fit.params,
        cov=fit.cov_params(),
        nobs=len(data),
        df_resid=float(fit.df_resid),
        vcov_type="hetero (HC1)",
        estimator="statsmodels WLS across points",
        info={"points": len(data)},
    )
    plot = data[[c for c in [label, premium, share, weights] if c]].copy()
    plot["fitted"] = fit.fittedvalues
    return result, plot


def gravity_ppml(
    flows: pd.DataFrame,
    *,
    count: str = "flow",
    regressors: Sequence[str] = ("premium_gap",),
    origin: str = "origin",
    destination: str = "destination",
    year: str = "year",
    vcov: str | Mapping[str, str] = PAIR_CLUSTERS,
    demeaner: object | None = None,
) -> RegressionResult:
    """Poisson pseudo-maximum likelihood gravity regression of bilateral flows.

    ``count ~ regressors | origin^year + destination^year``, with zero flows kept (PPML
    is consistent with zeros and heteroskedasticity, Santos Silva and Tenreyro 2006).
    Observations in an origin-year or destination-year group whose flows are all zero are
    perfectly predicted and dropped first, as ppmlhdfe does (counted in
    ``info["dropped_zero_groups"]``). Standard errors are clustered by origin-destination
    pair by default (a ``pair`` column is added if missing). pyfixest fits it; on small,
    sparse grids where its alternating projections do not converge, the same model is fitted
    with explicit dummies by statsmodels (``info["fallback"]`` says so). The fixed
    effects are projected out by :func:`~analysis.estimate.premium.exact_demeaner`
    unless ``demeaner`` says otherwise: pyfixest's default stops at 1e-6, which moved
    the standard error by about 1% and from run to run.
    """
    check_frame(flows, "gravity_ppml")
    require_columns(
        flows,
        {"count": [count], "regressors": list(regressors), "origin": [origin],
         "destination": [destination], "year": [year]},
        "gravity_ppml",
    )  # fmt: skip
    values = pd.to_numeric(flows[count], errors="coerce")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ArgumentError(
            f"gravity_ppml: count {count!r} must be a non-negative number of moves; "
            f"{int(bad.sum())} row(s) are negative or missing (rows "
            f"{', '.join(map(str, flows.index[bad.to_numpy()][:5]))})"
        )
    data = flows.copy()
    if vcov == PAIR_CLUSTERS and "pair" not in data:
        data["pair"] = data[origin].astype(str) + "-" + data[destination].astype(str)
    clusters = check_vcov(vcov, data, "gravity_ppml")
    if vcov != "hetero" and len(clusters) != 1:
        raise ArgumentError(
            f"gravity_ppml: vcov must be 'hetero' or {{'CRV1': column}}, got {vcov!r}"
        )
    cluster = clusters[0] if clusters else None
    data["_oy"] = data[origin].astype(str) + "_" + data[year].astype(str)
    data["_dy"] = data[destination].astype(str) + "_" + data[year].astype(str)
    before = len(data)
    while True:
        keep = (data.groupby("_oy")[count].transform("sum") > 0) & (
            data.groupby("_dy")[count].transform("sum") > 0
        )
        if keep.all():
            break
        data = data[keep]
    info: dict[str, object] = {"dropped_zero_groups": before - len(data)}
    fml = f"{count} ~ {' + '.join(regressors)} | _oy + _dy"
    info["formula"] = fml
    vcov_type = f"CRV1: {cluster}" if cluster else "hetero"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = pf.fepois(
                fml,
                data=data,
                vcov={"CRV1": cluster} if cluster else "hetero",
                demeaner=demeaner if demeaner is not None else exact_demeaner(),
            )
        separated = [str(w.message) for w in caught if "separation" in str(w.message)]
        if separated:
            info["separation"] = separated[0]
        return RegressionResult.from_pyfixest(
            fit,
            vcov_type=vcov_type,
            estimator="pyfixest.fepois (PPML gravity)",
            info=info,
        )
    except (ValueError, NonConvergenceError) as exc:
        # only a failure to converge falls back; any other error is the data's or ours
        converged = isinstance(exc, ValueError) and "Demeaning failed" not in str(exc)
        if converged:
            raise
        info["fallback"] = f"pyfixest: {exc}; fitted by statsmodels GLM Poisson with dummies"
    dummies = pd.get_dummies(data[["_oy", "_dy"]], drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([data[list(regressors)].astype(float), dummies], axis=1))
    glm = sm.GLM(data[count].astype(float), X, family=sm.families.Poisson())
    if cluster:
        res = glm.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data[cluster])[0]})
    else:
        res = glm.fit(cov_type="HC1")
    names = list(regressors)
    return RegressionResult(
        params=res.params[names].astype(float),
        cov=res.cov_params().loc[names, names],
        nobs=len(data),
        df_resid=None,
        vcov_type=vcov_type,
        estimator="statsmodels GLM Poisson with dummies (PPML gravity)",
        info=info,
    )
