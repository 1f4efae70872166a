"""Exact regression on compressed data, for premiums on 10^8 person-years in bounded memory.

When every regressor is discrete (the AI indicator and categorical fixed effects), the
rows of a cell (one combination of regressor values) share one row of the design
matrix, so weighted least squares on the cells, each weighted by its sum of weights
and with the cell's weighted mean outcome, gives *exactly* the coefficients of the
full regression. The sufficient statistics per cell are computed by DuckDB in one
``GROUP BY`` over the parquet files (out of core), so memory grows with the number of
cells, not rows. This is the idea of duckreg (prior art); we write it by hand because
no maintained library exposes it for weighted, clustered fixed-effects regressions.

Standard errors need within-cell variation too; with per-cell sums of ``w``, ``w y``,
``w^2``, ``w^2 y`` and ``w^2 y^2`` they are exact:

- heteroskedasticity-robust (HC1): the meat is ``sum_c x_c x_c' sum_{i in c} w_i^2 e_i^2``
  and ``sum_{i in c} w_i^2 e_i^2 = S(w^2 y^2) - 2 yhat_c S(w^2 y) + yhat_c^2 S(w^2)``;
- clustered, when the cluster variable is one of the cell keys (a coarse cluster such as
  country or firm): the score of a cell is ``x_c (S(w y) - yhat_c S(w))``, summed by
  cluster. Clustering by person leaves nothing to compress: use
  :func:`analysis.estimate.premium.estimate_premium` for that.

Fixed effects are absorbed by pyfixest on the cell table (``x_c`` above is the
regressor after absorbing them, by the Frisch-Waugh-Lovell theorem), and the
small-sample factors are pyfixest's, so the results equal pyfixest's on the full data.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"ai": rng.integers(0, 2, 5000), "job": rng.integers(0, 4, 5000)})
>>> df["y"] = 0.2 * df["ai"] + 0.1 * df["job"] + rng.normal(0, 0.3, 5000)
>>> res = compressed_feols(df, "y", "ai", fixed_effects=["job"])
>>> res.info["cells"]
8
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyfixest as pf

from analysis.errors import ArgumentError, EstimationDataError
from analysis.estimate.covariance import crv1_factor, hc1_factor, sandwich
from analysis.estimate.results import RegressionResult
from analysis.sql import identifier


def sufficient_statistics(
    source: str | Path | pd.DataFrame,
    outcome: str,
    keys: Sequence[str],
    *,
    weights: str | None = None,
    where: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Per-cell sums for compressed regression, computed by DuckDB.

    Parameters
    ----------
    source
        A DataFrame, or a parquet file / glob (read by DuckDB without loading it).
    outcome
        Outcome column.
    keys
        The discrete columns that define a cell (regressors, fixed effects, cluster).
    weights
        Weight column (``None``: every row weighs 1).
    where
        Optional SQL filter (e.g. ``"country = 'KOR' AND year = 2024"``).

    Returns
    -------
    DataFrame
        ``keys`` plus ``n``, ``sw``, ``swy``, ``sw2``, ``sw2y``, ``sw2y2``; rows with a
        missing value in any used column are left out (``n`` counts what is used).
    """
    con = con or duckdb.connect()
    if isinstance(source, pd.DataFrame):
        con.register("_compress_source", source)
        relation = "_compress_source"
    else:
        relation = f"read_parquet('{source}')"
    w = f"CAST({identifier(weights)} AS DOUBLE)" if weights else "1.0"
    y = f"CAST({identifier(outcome)} AS DOUBLE)"
    used = [outcome, *keys] + ([weights] if weights else [])
    conditions = [f"{identifier(c)} IS NOT NULL" for c in used] + ([f"({where})"] if where else [])
    key_list = ", ".join(identifier(k) for k in keys)
    sql = f"""
        SELECT {key_list}, count(*) AS n, sum({w}) AS sw, sum({w} * {y}) AS swy,
               sum({w} * {w}) AS sw2, sum({w} * {w} * {y}) AS sw2y,
               sum({w} * {w} * {y} * {y}) AS sw2y2
        FROM {relation} WHERE {" AND ".join(conditions)}
        GROUP BY {key_list} ORDER BY {key_list}"""
    cells = con.sql(sql).df()
    if isinstance(source, pd.DataFrame):
        con.unregister("_compress_source")
    return cells


def compressed_feols(
    source: str | Path | pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    fixed_effects: Sequence[str] = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "hetero",
    where: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> RegressionResult:
    """Exact WLS of ``outcome`` on a discrete ``treatment`` and fixed effects, from cells.

    Parameters
    ----------
    source
        DataFrame or parquet path/glob.
    outcome, treatment
        Outcome and the discrete regressor of interest (e.g. the AI indicator).
    fixed_effects
        Categorical columns absorbed as fixed effects.
    weights
        Analytic weights column.
    vcov
        ``"hetero"`` (HC1, the default) or ``{"CRV1": column}``; the cluster column
        becomes a cell key, so it must be coarse.
    where
        SQL filter applied before compressing.

    Returns
    -------
    RegressionResult
        ``info`` holds the number of cells and of observations behind them.
    """
    if isinstance(vcov, Mapping) and len(vcov) == 1 and "CRV1" in vcov:
        cluster: str | None = str(vcov["CRV1"]).strip()
    elif vcov == "hetero":
        cluster = None
    else:
        raise ArgumentError(
            f"compressed_feols: vcov must be 'hetero' or {{'CRV1': column}}, got {vcov!r}"
        )
    keys = list(dict.fromkeys([treatment, *fixed_effects, *([cluster] if cluster else [])]))
    cells = sufficient_statistics(source, outcome, keys, weights=weights, where=where, con=con)
    cells["_ybar"] = cells["swy"] / cells["sw"]
    cells[treatment] = cells[treatment].astype(float)
    rhs = treatment + (f" | {' + '.join(fixed_effects)}" if fixed_effects else "")
    sw = cells["sw"].to_numpy()
    if fixed_effects:
        # only the point estimates and the design after absorbing the fixed effects are
        # taken from pyfixest (the covariance is built below from the cells' sums), so
        # its small-sample factor, with no room when cells are few, is switched off
        fit = pf.feols(
            f"_ybar ~ {rhs}", data=cells, weights="sw", vcov="iid", ssc=pf.ssc(k_adj=False)
        )
        names = list(fit.coef().index)
        beta = fit.coef().to_numpy()
        x = np.asarray(fit._X) / np.sqrt(sw)[:, None]  # regressors after absorbing FEs
        yhat = fit.predict()
        n_coef = len(names)
    else:
        # no fixed effect: weighted least squares on the cells (pyfixest's fit
        # statistics divide by cells - coefficients, which can be zero here)
        names = ["Intercept", treatment]
        x = np.column_stack([np.ones(len(cells)), cells[treatment].to_numpy(float)])
        beta = np.linalg.lstsq(x * np.sqrt(sw)[:, None], cells["_ybar"] * np.sqrt(sw), rcond=None)[
            0
        ]
        yhat = x @ beta
        n_coef = 2
    bread = np.linalg.inv((x * sw[:, None]).T @ x)
    n_obs = int(cells["n"].sum())
    if n_obs <= _n_params(n_coef, cells, fixed_effects):
        raise EstimationDataError(
            f"compressed_feols: {n_obs} observations for "
            f"{_n_params(n_coef, cells, fixed_effects)} parameters; nothing to estimate from"
        )
    if cluster is None:
        k = _n_params(n_coef, cells, fixed_effects)
        e2 = (cells["sw2y2"] - 2 * yhat * cells["sw2y"] + yhat**2 * cells["sw2"]).to_numpy()
        meat = (x * e2[:, None]).T @ x
        factor = hc1_factor(n_obs, k)
        vcov_type = "hetero"
        extra: dict[str, object] = {}
    else:
        score = x * (cells["swy"] - yhat * cells["sw"]).to_numpy()[:, None]
        by_cluster = pd.DataFrame(score).groupby(cells[cluster].to_numpy()).sum().to_numpy()
        meat = by_cluster.T @ by_cluster
        g = by_cluster.shape[0]
        # fixest's K leaves out fixed effects nested in the cluster ("nonnested")
        nonnested = [
            f
            for f in fixed_effects
            if f != cluster and cells.groupby(f)[cluster].nunique().max() > 1
        ]
        k = _n_params(n_coef, cells, nonnested)
        factor = crv1_factor(g, n_obs, k)
        vcov_type = f"CRV1: {cluster}"
        extra = {"clusters": g}
    cov = sandwich(bread, meat, factor)
    return RegressionResult(
        params=pd.Series(beta, index=names, dtype=float),
        cov=pd.DataFrame(cov, index=names, columns=names),
        nobs=n_obs,
        df_resid=float((extra.get("clusters", n_obs - k + 1)) - 1) if cluster else float(n_obs - k),
        vcov_type=vcov_type,
        estimator="compressed (DuckDB sufficient statistics) + pyfixest",
        info={"cells": len(cells), **extra, **({"cluster": cluster} if cluster else {})},
        depvar=outcome,
        weights=weights,
        fixed_effects=tuple(fixed_effects),
    )


def _n_params(n_coef: int, cells: pd.DataFrame, fixed_effects: Sequence[str]) -> int:
    """Coefficients plus fixed-effect parameters (levels minus one per extra FE), as
    fixest counts them for the (N - 1) / (N - K) factor."""
    k = n_coef
    if fixed_effects:
        levels = [cells[f].nunique() for f in fixed_effects]
        k += sum(levels) - (len(levels) - 1)
    return k
