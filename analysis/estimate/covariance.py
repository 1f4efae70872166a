"""Dyadic-robust covariance for regressions on country-pair data.

In bilateral data every observation involves two countries, and errors of any two
observations that share a country (in either role) may be correlated: Korea->US and
US->Korea are mirror images of one move, Korea->US and Korea->Japan share Korea's
denominator. Clustering by the base country alone misses the first kind, two-way
clustering by base and target country misses the mirror pair (it sits in different base
*and* different target clusters). The dyadic-robust estimator (Fafchamps and Gubert 2007;
Cameron and Miller 2014; Aronow, Samii and Assenova 2015) sums the score cross-products
of every pair of observations that share at least one country:

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

__all__ = ["dyadic_vcov"]


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
    bread = np.linalg.inv(x.T @ x)
    cov = bread @ meat @ bread
    return cov * (g / (g - 1)) if small_sample else cov
