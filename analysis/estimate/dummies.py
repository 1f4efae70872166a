"""Exact fixed-effects WLS when every fixed effect is a small categorical: the dummy
variable regression solved from its normal equations.

With a binary treatment ``x`` and fixed effects of a few dozen levels each (our premium
regressions: eight controls, under a hundred levels in all), the regression on dummies
needs only the weighted cross-tabulations of the levels (``D'WD``, ``D'Wx``, ``D'Wy``),
a matrix of about 100 x 100. Solving it directly (a pseudo-inverse, so redundant levels
are harmless) gives the exact within transformation by the Frisch-Waugh-Lovell theorem,
with no iteration and no tolerance; one pass over the rows then gives the residuals and
the clustered (or heteroskedasticity-robust) scores. It is what pyfixest computes, with
pyfixest's conventions, so the numbers equal :func:`analysis.estimate.premium.fit_feols`
with an exact demeaner (``tests/test_estimate_premium.py`` checks it to 1e-10):

- rows with a missing value in a used column are dropped, then singleton fixed-effect
  cells, repeatedly until none is left (``fixef_rm="singleton"``);
- clustered errors are CRV1 with pyfixest's default small-sample factor
  ``G / (G - 1) * (N - 1) / (N - K)``, heteroskedasticity-robust ones HC1
  (``N / (N - K)``), where ``K`` counts the treatment and every fixed-effect level less
  one per fixed effect after the first, leaving out fixed effects nested in the
  clusters; the t distribution has ``G - 1`` (clustered) or ``N - K`` degrees of
  freedom.

:class:`DummyDesign` factorises the fixed effects once so that many regressions on
subsets of the same rows (the premium of each skill cluster: its holders against the
non-AI workers) cost a few milliseconds each.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"ai": rng.integers(0, 2, 4000), "job": rng.integers(0, 5, 4000),
...                    "pid": np.arange(4000) // 2})
>>> df["y"] = 0.2 * df["ai"] + 0.1 * df["job"] + rng.normal(0, 0.3, 4000)
>>> res = DummyDesign(df, "y", ["job"], cluster="pid").fit(df["ai"])
>>> float(round(res.params["ai"], 2)), res.info["clusters"]
(0.2, 2000)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import linalg, sparse

from analysis.estimate.results import RegressionResult

#: Eigenvalues of ``D'WD`` below this fraction of the largest are taken as exact zeros
#: (redundant levels); the smallest genuine ones are about (smallest level weight) /
#: (total weight), many orders of magnitude above it.
RANK_TOL = 1e-12


class DummyDesign:
    """Outcome, weights, clusters and fixed effects of a frame, ready for exact fits of
    the outcome on one discrete regressor and the fixed effects, on any subset of rows.

    Parameters
    ----------
    data
        The frame (any index; rows are taken by position).
    outcome
        Outcome column.
    fixed_effects
        Categorical columns absorbed as fixed effects (any dtype; at least one).
    weights
        Analytic weights column (``None``: unweighted).
    cluster
        Column to cluster by (``None``: heteroskedasticity-robust, HC1).
    base
        Optional boolean mask of rows that most fits share (the non-AI workers of the
        premium of each skill): their cross-tabulation is computed once, and each fit
        only adds or removes the rows where it differs (the same sums, in another order).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        outcome: str,
        fixed_effects: Sequence[str],
        *,
        weights: str | None = None,
        cluster: str | None = None,
        base: np.ndarray | pd.Series | None = None,
    ) -> None:
        if not fixed_effects:
            raise ValueError("DummyDesign needs at least one fixed effect")
        self.fixed_effects = list(fixed_effects)
        self.cluster_name = cluster
        used = [outcome, *self.fixed_effects] + [c for c in (weights, cluster) if c]
        self.complete = data[list(dict.fromkeys(used))].notna().all(axis=1).to_numpy()
        self.y = data[outcome].to_numpy(dtype=float)
        self.w = np.ones(len(data)) if weights is None else data[weights].to_numpy(dtype=float)
        # one contiguous array per fixed effect: its level codes (-1 only on incomplete
        # rows) and the column of each row's level in the dummy matrix D
        self.codes = [pd.factorize(data[f])[0] for f in self.fixed_effects]
        self.sizes = [max(int(c.max()) + 1, 1) for c in self.codes]
        self.n_levels = int(sum(self.sizes))
        offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(int)
        self.columns = [c + o for c, o in zip(self.codes, offsets, strict=True)]
        self.cluster = pd.factorize(data[cluster])[0] if cluster else None
        self.base: np.ndarray | None = None
        if base is not None:
            self.base = np.flatnonzero(np.asarray(base, dtype=bool) & self.complete)
            self.base_gram = self._gram(self.base)

    def _gram(self, idx: np.ndarray) -> np.ndarray:
        """``D'WD`` on the rows ``idx`` (the weighted cross-tabulation of the levels)."""
        n, k = len(idx), len(self.columns)
        cols = np.column_stack([c[idx] for c in self.columns])
        dummies = sparse.csr_matrix(
            (np.ones(n * k), cols.ravel(), np.arange(0, n * k + 1, k)),
            shape=(n, self.n_levels),
        )
        return (dummies.T @ dummies.multiply(self.w[idx][:, None]).tocsr()).toarray()

    def _gram_of(self, idx: np.ndarray) -> np.ndarray:
        if self.base is None:
            return self._gram(idx)
        chosen = np.zeros(len(self.w), dtype=bool)
        chosen[idx] = True
        in_base = np.zeros(len(self.w), dtype=bool)
        in_base[self.base] = True
        extra, missing = idx[~in_base[idx]], self.base[~chosen[self.base]]
        gram = self.base_gram
        if len(missing):
            gram = gram - self._gram(missing)
        if len(extra):
            gram = gram + self._gram(extra)
        return gram

    def _drop_singletons(self, idx: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Rows of ``idx`` left after removing singleton cells, repeatedly, and the row
        count of every level of every fixed effect on them."""
        while True:
            single = np.zeros(len(idx), dtype=bool)
            counts = []
            for codes, size in zip(self.codes, self.sizes, strict=True):
                code = codes[idx]
                counts.append(np.bincount(code, minlength=size))
                single |= counts[-1][code] == 1
            if not single.any():
                return idx, counts
            idx = idx[~single]

    def fit(
        self, treatment: pd.Series | np.ndarray, rows: np.ndarray | pd.Series | None = None
    ) -> RegressionResult:
        """Regress the outcome on ``treatment`` (a column of the frame, any numeric or
        boolean dtype) and the fixed effects, on the rows where ``rows`` is true (all
        rows if ``None``).

        Raises
        ------
        ValueError
            If no rows are left or the treatment is collinear with the fixed effects.
        """
        name = str(getattr(treatment, "name", None) or "x")
        x_all = np.asarray(treatment, dtype=float)
        keep = self.complete & ~np.isnan(x_all)
        if rows is not None:
            rows = np.asarray(rows, dtype=bool)
            keep &= rows
        idx = np.flatnonzero(keep)
        n_complete = len(idx)
        idx, counts = self._drop_singletons(idx)
        n = len(idx)
        if n == 0:
            raise ValueError("no observations left")
        x, y, w = x_all[idx], self.y[idx], self.w[idx]
        cols = [c[idx] for c in self.columns]
        n_fe = len(cols)

        # the exact within transformation: project x and y on the dummies
        gram = self._gram_of(idx)
        wx, wy = w * x, w * y
        rhs = np.zeros((self.n_levels, 2))  # D'Wx, D'Wy
        for c in cols:
            rhs[:, 0] += np.bincount(c, weights=wx, minlength=self.n_levels)
            rhs[:, 1] += np.bincount(c, weights=wy, minlength=self.n_levels)
        eigval, eigvec = linalg.eigh(gram)
        rank = eigval > RANK_TOL * eigval[-1]
        coef = eigvec[:, rank] @ ((eigvec[:, rank].T @ rhs) / eigval[rank][:, None])
        x_within, y_within = x.copy(), y.copy()
        coef_x, coef_y = coef[:, 0].copy(), coef[:, 1].copy()
        for c in cols:
            x_within -= coef_x[c]
            y_within -= coef_y[c]
        sxx = float(np.sum(w * x_within * x_within))
        if sxx <= 1e-10 * max(float(np.sum(w * x * x)), np.finfo(float).tiny):
            raise ValueError(f"{name} is collinear with the fixed effects")
        beta = float(np.sum(w * x_within * y_within)) / sxx
        score = w * x_within * (y_within - beta * x_within)

        present = [int(np.count_nonzero(c)) for c in counts]
        df_k = 1 + sum(present) - (n_fe - 1)
        info: dict[str, object] = {
            "dropped_missing": int((len(x_all) if rows is None else rows.sum()) - n_complete),
            "dropped_singletons": int(n_complete - n),
        }
        if self.cluster is None:
            meat = float(np.sum(score * score))
            factor = n / (n - df_k)
            df_resid = float(n - df_k)
            vcov_type = "hetero"
        else:
            cluster = self.cluster[idx]
            g = int(np.count_nonzero(np.bincount(cluster)))
            meat = float(np.sum(np.bincount(cluster, weights=score) ** 2))
            # fixest's K leaves out fixed effects whose every level lies in one cluster
            # (which needs at least as many levels as clusters)
            nested = [
                j
                for j in range(n_fe)
                if present[j] >= g
                and len(
                    np.unique(self.codes[j][idx].astype(np.int64) * (cluster.max() + 1) + cluster)
                )
                == present[j]
            ]
            if nested:
                df_k += -sum(present[j] for j in nested) + len(nested)
            factor = g / (g - 1) * (n - 1) / (n - df_k)
            df_resid = float(g - 1)
            vcov_type = f"cluster: {self.cluster_name}"
            info["clusters"] = g
        variance = factor * meat / sxx**2
        return RegressionResult(
            params=pd.Series({name: beta}, dtype=float),
            cov=pd.DataFrame([[variance]], index=[name], columns=[name]),
            nobs=n,
            df_resid=df_resid,
            vcov_type=vcov_type,
            estimator="exact dummy-variable WLS (normal equations)",
            info=info,
        )
