"""Small-sample inference for a bivariate OLS slope: exact permutation and wild bootstrap.

With a handful of points (the BOK compares six countries) the usual t-test leans on
normal errors that nobody can check. Two alternatives that do not:

- :func:`permutation_slope_test`: under the null that ``y`` is unrelated to ``x``, every
  assignment of the ``x`` values to the points is equally likely; the p-value is the
  share of all ``n!`` assignments whose slope is at least as extreme as the observed one
  (exact, by enumeration, for ``n <= 9``; Monte Carlo beyond).
- :func:`wild_bootstrap_slope_test`: the wild bootstrap with the null imposed
  (restricted residuals ``y - mean(y)``, Rademacher weights; Davidson and Flachaire
  2008, Cameron, Gelbach and Miller 2008), on the classical t-statistic. With ``n``
  points there are only ``2**n`` Rademacher sign vectors, so for small ``n`` all of them
  are enumerated and the p-value is exact for that bootstrap distribution.

Both p-values are discrete: with ``n`` points the smallest attainable permutation
p-value is ``1/n!`` (two-sided: about ``2/n!``, more with tied ``x``), the smallest wild
bootstrap p-value ``2/2**n``.

Examples
--------
>>> x = [6.0, 25.0, 18.0, 15.0, 15.0, 15.0]
>>> y = [-62.8, 226.3, 266.5, 140.1, 16.0, 340.2]
>>> round(ols_slope(x, y).slope, 2)
16.07
>>> permutation_slope_test(x, y).n_permutations
720
>>> wild_bootstrap_slope_test(x, y).n_draws
64
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from analysis import config

Alternative = Literal["two-sided", "greater", "less"]

#: Largest n enumerated exactly by the permutation test (9! = 362,880).
MAX_EXACT_PERMUTATION_N: int = 9
#: Largest n enumerated exactly by the wild bootstrap (2**16 = 65,536 sign vectors).
MAX_EXACT_WILD_N: int = 16
_RTOL = 1e-10


@dataclass(frozen=True)
class SlopeFit:
    """OLS of ``y`` on a constant and ``x``, with the classical (iid) standard error."""

    slope: float
    intercept: float
    std_error: float
    nobs: int

    @property
    def tstat(self) -> float:
        return (
            self.slope / self.std_error if self.std_error > 0 else math.copysign(np.inf, self.slope)
        )


@dataclass(frozen=True)
class SlopeTestResult:
    """A p-value and how it was obtained."""

    statistic: float
    p_value: float
    n_draws: int
    exact: bool
    alternative: str
    method: str

    @property
    def n_permutations(self) -> int:
        return self.n_draws


def _arrays(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError("x and y must be 1-d and of the same length")
    if len(xa) < 3:
        raise ValueError("need at least 3 points")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ValueError("x and y must be finite")
    if np.ptp(xa) == 0:
        raise ValueError("x does not vary: the slope is not identified")
    return xa, ya


def ols_slope(x: Sequence[float], y: Sequence[float]) -> SlopeFit:
    """Slope, intercept and classical standard error of the slope (``n - 2`` df)."""
    xa, ya = _arrays(x, y)
    xc = xa - xa.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ ya) / sxx
    intercept = float(ya.mean() - slope * xa.mean())
    resid = ya - intercept - slope * xa
    sigma2 = float(resid @ resid) / (len(xa) - 2)
    return SlopeFit(slope, intercept, math.sqrt(sigma2 / sxx), len(xa))


def _p_value(stat: float, draws: np.ndarray, alternative: Alternative) -> float:
    tol = _RTOL * max(1.0, abs(stat))
    if alternative == "two-sided":
        hits = np.abs(draws) >= abs(stat) - tol
    elif alternative == "greater":
        hits = draws >= stat - tol
    elif alternative == "less":
        hits = draws <= stat + tol
    else:  # pragma: no cover - guarded by the Literal
        raise ValueError(f"unknown alternative {alternative!r}")
    return float(hits.mean())


def _slopes(xs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slopes of ``y`` on each row of ``xs`` (same multiset of x values in every row)."""
    xc = xs - xs.mean(axis=1, keepdims=True)
    return (xc @ y) / np.einsum("ij,ij->i", xc, xc)


def permutation_slope_test(
    x: Sequence[float],
    y: Sequence[float],
    *,
    alternative: Alternative = "two-sided",
    draws: int = 100_000,
    seed: int = config.DEFAULT_SEED,
) -> SlopeTestResult:
    """Permutation p-value of the OLS slope of ``y`` on ``x``.

    Parameters
    ----------
    x, y
        The points.
    alternative
        ``"two-sided"`` (``|b*| >= |b|``), ``"greater"`` (``b* >= b``) or ``"less"``.
    draws, seed
        Monte Carlo permutations when ``n > MAX_EXACT_PERMUTATION_N`` (the observed
        assignment is counted among them).

    Returns
    -------
    SlopeTestResult
        ``statistic`` is the observed slope; ``n_draws`` the number of permutations
        (``n!`` when exact). Tied ``x`` values are permuted as distinct points, so each
        distinct assignment is counted as often as it occurs among the ``n!``.
    """
    xa, ya = _arrays(x, y)
    observed = ols_slope(xa, ya).slope
    n = len(xa)
    if n <= MAX_EXACT_PERMUTATION_N:
        xs = np.array(list(itertools.permutations(xa)))
        exact = True
    else:
        rng = np.random.default_rng(seed)
        xs = np.vstack([xa, rng.permuted(np.tile(xa, (draws - 1, 1)), axis=1)])
        exact = False
    p = _p_value(observed, _slopes(xs, ya), alternative)
    return SlopeTestResult(observed, p, len(xs), exact, alternative, "permutation of x")


def wild_bootstrap_slope_test(
    x: Sequence[float],
    y: Sequence[float],
    *,
    alternative: Alternative = "two-sided",
    draws: int | None = None,
    seed: int = config.DEFAULT_SEED,
) -> SlopeTestResult:
    """Wild bootstrap p-value of the slope's t-statistic, null imposed, Rademacher weights.

    The bootstrap samples are ``y* = mean(y) + v * (y - mean(y))`` with ``v`` a vector of
    independent +-1 signs; each is refitted and its classical t-statistic compared with
    the observed one.

    Parameters
    ----------
    draws
        ``None`` (default): enumerate all ``2**n`` sign vectors when
        ``n <= MAX_EXACT_WILD_N`` (else 9,999 random draws). An integer: that many random
        sign vectors, plus the observed sample.
    """
    xa, ya = _arrays(x, y)
    observed = ols_slope(xa, ya).tstat
    n = len(xa)
    if draws is None and n <= MAX_EXACT_WILD_N:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        exact = True
    else:
        rng = np.random.default_rng(seed)
        random_signs = rng.choice((-1.0, 1.0), size=(draws or 9_999, n))
        signs = np.vstack([np.ones(n), random_signs])
        exact = False
    restricted = ya - ya.mean()
    ystar = ya.mean() + signs * restricted
    xc = xa - xa.mean()
    sxx = float(xc @ xc)
    slopes = (ystar @ xc) / sxx
    resid = ystar - ystar.mean(axis=1, keepdims=True) - np.outer(slopes, xc)
    se = np.sqrt(np.einsum("ij,ij->i", resid, resid) / (n - 2) / sxx)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstats = np.where(se > 0, slopes / se, np.sign(slopes) * np.inf)
    p = _p_value(observed, tstats, alternative)
    return SlopeTestResult(
        observed, p, len(signs), exact, alternative, "wild bootstrap (Rademacher)"
    )
