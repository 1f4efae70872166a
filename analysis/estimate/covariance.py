"""Covariance estimators shared by the package's models: the sandwich, the small-sample
factors of heteroskedasticity-robust and clustered errors, the dyadic-robust meat for
country-pair data, and the delta method of a log-point coefficient as a percentage.

pyfixest computes the covariance of the models it fits; these are for the estimators it
does not cover (normal equations in DuckDB, sufficient statistics, the cell logit, the
joint pseudo-likelihood, the dyadic gravity), so that each uses the same formula and the
same small-sample conventions as pyfixest and fixest.

Dyadic-robust covariance for regressions on country-pair data. In bilateral data every
observation involves two countries, and errors of any two observations that share a
country (in either role) may be correlated: Korea->US and US->Korea are mirror images of
one move, Korea->US and Korea->Japan share Korea's denominator. Clustering by the base
country alone misses the first kind, two-way clustering by base and target country misses
the mirror pair (it sits in different base *and* different target clusters). The
dyadic-robust estimator (Fafchamps and Gubert 2007; Cameron and Miller 2014; Aronow,
Samii and Assenova 2015) sums the score cross-products of every pair of observations that
share at least one country:

    meat = sum_{a, b share a country} s_a s_b'
         = sum_c S_c S_c'  -  sum_d S_d S_d',

where ``S_c`` sums the scores of the observations involving country ``c`` and ``S_d`` those
of the unordered dyad ``d`` (pairs in the same dyad share two countries and would be
counted twice). The covariance is ``G / (G - 1) * bread @ meat @ bread`` with ``G`` the
number of countries.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, b = rng.integers(0, 8, 200), rng.integers(0, 8, 200)
>>> keep = a != b
>>> x = np.column_stack([np.ones(keep.sum()), rng.normal(size=keep.sum())])
>>> u = rng.normal(size=keep.sum())
>>> dyadic_vcov(x, u, a[keep], b[keep]).shape
(2, 2)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "crv1_factor",
    "delta_method_cov",
    "delta_method_se",
    "dyadic_vcov",
    "hc1_factor",
    "log_points_to_percent",
    "numerical_gradient",
    "sandwich",
]


def hc1_factor(nobs: int, k: int) -> float:
    """Small-sample factor of heteroskedasticity-robust errors, ``N / (N - K)`` (HC1,
    fixest's and pyfixest's ``"hetero"``).

    >>> hc1_factor(100, 4)
    1.0416666666666667
    """
    return nobs / (nobs - k)


def crv1_factor(clusters: int, nobs: int, k: int) -> float:
    """Small-sample factor of cluster-robust errors, ``G / (G - 1) * (N - 1) / (N - K)``
    (CRV1, as pyfixest, fixest and Stata).

    >>> round(crv1_factor(50, 1000, 5), 6)
    1.02451
    """
    return clusters / (clusters - 1) * (nobs - 1) / (nobs - k)


def sandwich(bread: np.ndarray, meat: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """``factor * bread @ meat @ bread``: the covariance of an M-estimator whose inverse
    Hessian (or ``(X'WX)^-1``) is ``bread`` and whose summed score cross-products are
    ``meat``.

    >>> sandwich(np.eye(2), 2 * np.eye(2), factor=0.5).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return factor * bread @ meat @ bread


def dyadic_vcov(
    x: np.ndarray,
    resid: np.ndarray,
    node_a: ArrayLike,
    node_b: ArrayLike,
    *,
    small_sample: bool = True,
) -> np.ndarray:
    """Dyadic-robust covariance of OLS coefficients.

    Parameters
    ----------
    x
        ``n x k`` regressors, already purged of any absorbed fixed effects (demeaned).
    resid
        OLS residuals (length ``n``).
    node_a, node_b
        The two countries (any hashable labels) of each observation; they must differ.
    small_sample
        Multiply by ``G / (G - 1)``, ``G`` the number of countries.

    Returns
    -------
    numpy.ndarray
        ``k x k`` covariance matrix.
    """
    x = np.asarray(x, dtype=float)
    resid = np.asarray(resid, dtype=float)
    n, k = x.shape
    a, b = np.asarray(node_a), np.asarray(node_b)
    if len(a) != n or len(b) != n or len(resid) != n:
        raise ValueError("x, resid, node_a and node_b must have the same length")
    codes, uniques = pd.factorize(np.concatenate([a, b]))
    ia, ib = codes[:n], codes[n:]
    if np.any(ia == ib):
        raise ValueError("an observation links a country to itself")
    g = len(uniques)
    scores = x * resid[:, None]
    by_country = np.zeros((g, k))
    np.add.at(by_country, ia, scores)
    np.add.at(by_country, ib, scores)
    dyad, _ = pd.factorize(np.minimum(ia, ib) * g + np.maximum(ia, ib))
    by_dyad = np.zeros((dyad.max() + 1, k))
    np.add.at(by_dyad, dyad, scores)
    meat = by_country.T @ by_country - by_dyad.T @ by_dyad
    cov = sandwich(np.linalg.inv(x.T @ x), meat)
    return cov * (g / (g - 1)) if small_sample else cov


def log_points_to_percent(
    estimate: float | np.ndarray, std_error: float | np.ndarray, level: float = 0.95
) -> dict[str, float | np.ndarray]:
    """Turn a log-point coefficient into a percentage with a delta-method interval.

    Parameters
    ----------
    estimate, std_error
        Coefficient ``b`` and its standard error, in log points.
    level
        Confidence level of the interval.

    Returns
    -------
    dict
        ``premium_pct = 100 (exp(b) - 1)``, ``premium_se = 100 exp(b) se``, and
        ``premium_conf_low/high = premium_pct -/+ z * premium_se``.

    Examples
    --------
    >>> out = log_points_to_percent(np.log(1.06), 0.01)
    >>> round(out["premium_pct"], 3), round(out["premium_se"], 3)
    (6.0, 1.06)
    """
    b = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    pct = 100.0 * np.expm1(b)
    pct_se = 100.0 * np.exp(b) * se
    z = stats.norm.ppf(0.5 + level / 2)
    out = {
        "premium_pct": pct,
        "premium_se": pct_se,
        "premium_conf_low": pct - z * pct_se,
        "premium_conf_high": pct + z * pct_se,
    }
    if np.ndim(estimate) == 0:
        return {k: float(v) for k, v in out.items()}
    return out


def numerical_gradient(func, beta: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of a vector function of the coefficients.

    >>> numerical_gradient(lambda b: np.array([b[0] * b[1]]), np.array([2.0, 3.0])).round(6)
    array([[3., 2.]])
    """
    return np.column_stack(
        [(func(beta + step * e) - func(beta - step * e)) / (2 * step) for e in np.eye(len(beta))]
    )


def delta_method_cov(func, theta: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Covariance of ``func(theta)`` by the delta method, ``G cov G'`` with ``G`` the
    numerical Jacobian at ``theta``."""
    grad = numerical_gradient(func, theta)
    return grad @ cov @ grad.T


def delta_method_se(func, theta: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Standard errors of ``func(theta)`` by the delta method (a tiny negative variance
    from rounding counts as zero).

    >>> delta_method_se(lambda t: 2 * t, np.array([1.0]), np.array([[0.25]])).round(6)
    array([1.])
    """
    return np.sqrt(np.maximum(np.diag(delta_method_cov(func, theta, cov)), 0.0))
