"""A results object shaped like linearmodels' and pyfixest's, and its tidy table.

Reports are built from :meth:`RegressionResult.tidy`, a long DataFrame with one row
per term (``term, estimate, std_error, statistic, p_value, conf_low, conf_high``),
so every number a table shows can be traced to the estimator that produced it.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from analysis.estimate.results import RegressionResult
>>> res = RegressionResult(params=pd.Series({"x": 0.5}), cov=pd.DataFrame([[0.01]],
...     index=["x"], columns=["x"]), nobs=100, df_resid=98, vcov_type="iid",
...     estimator="example")
>>> res.tidy()[["term", "estimate", "std_error"]].to_dict("records")
[{'term': 'x', 'estimate': 0.5, 'std_error': 0.1}]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class RegressionResult:
    """Coefficients, their covariance and what is needed to make inference.

    Attributes
    ----------
    params
        Estimated coefficients, indexed by term.
    cov
        Their covariance matrix (same index and columns).
    nobs
        Observations used.
    df_resid
        Degrees of freedom of the t distribution used for intervals and p-values
        (``None``: use the normal distribution).
    vcov_type
        ``iid``, ``hetero`` or ``cluster: <column>``.
    estimator
        Which implementation produced the numbers (``pyfixest.feols``, ...).
    info
        Anything else worth keeping (formula, number of clusters, fixed effects).
    """

    params: pd.Series
    cov: pd.DataFrame
    nobs: int
    df_resid: float | None
    vcov_type: str
    estimator: str
    info: dict[str, object] = field(default_factory=dict)

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors (square roots of the covariance diagonal)."""
        return pd.Series(
            np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index, name="std_error"
        )

    bse = std_errors  # statsmodels' name

    @property
    def tstats(self) -> pd.Series:
        return self.params / self.std_errors

    def _dist(self):
        return stats.norm if self.df_resid is None else stats.t(self.df_resid)

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * self._dist().sf(np.abs(self.tstats)), index=self.params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals, one row per term (``lower``, ``upper``)."""
        q = self._dist().ppf(0.5 + level / 2)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - q * se, "upper": self.params + q * se})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per term: estimate, standard error, statistic, p-value, interval."""
        # the numbers of tstats, pvalues and conf_int(), with one distribution object
        dist = self._dist()
        params = self.params.to_numpy()
        se = np.sqrt(np.diag(self.cov.to_numpy()))
        statistic = params / se
        q = dist.ppf(0.5 + level / 2)
        return pd.DataFrame(
            {
                "term": self.params.index,
                "estimate": params,
                "std_error": se,
                "statistic": statistic,
                "p_value": 2 * dist.sf(np.abs(statistic)),
                "conf_low": params - q * se,
                "conf_high": params + q * se,
                "nobs": self.nobs,
                "vcov": self.vcov_type,
            }
        )

    @property
    def summary(self) -> str:
        """A plain-text table (``tidy()`` is the machine-readable form)."""
        table = self.tidy()[
            ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
        ]
        head = f"{self.estimator}   N = {self.nobs:,}   vcov: {self.vcov_type}" + "".join(
            f"   {k}: {v}" for k, v in self.info.items()
        )
        return head + "\n" + table.to_string(index=False, float_format=lambda v: f"{v:.4f}")

    def __repr__(self) -> str:  # pragma: no cover - display only
        return self.summary
