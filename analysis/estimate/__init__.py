"""Estimation: functions from any DataFrame to a result (premiums, workforce, mobility).

Every estimator takes the user's data and names its columns as arguments; the optional
ones default to nothing (no weights, no fixed effects, a stated covariance). Regression
estimators take a pyfixest formula (``"lwage ~ union + educ | year"``) and a ``vcov=``
argument (``"iid"``, ``"hetero"``, ``{"CRV1": "col"}``, multiway ``{"CRV1": "a + b"}``),
and return one results family (:class:`RegressionResult`: ``params``, ``std_errors``,
``conf_int()``, ``tidy()``, ``summary()``, ``wald_test()``) that goes into
:func:`etable` next to pyfixest models. The analysis's own specification lives in
:mod:`analysis.estimate.specification`.

Examples
--------
>>> from linearmodels.datasets import wage_panel
>>> from analysis.estimate import estimate_premium
>>> df = wage_panel.load()
>>> fe = estimate_premium(df, "lwage ~ union + expersq + married + C(year) | nr")
>>> round(fe.estimate, 6), round(fe.std_error, 3)
(0.080002, 0.019)

.. include:: ../../docs/api-examples.md
"""

from analysis.estimate.compressed import compressed_feols
from analysis.estimate.counterfactual import premium_counterfactual
from analysis.estimate.mobility import fit_logit, gravity_ppml, logit_ame, mobility_lpm
from analysis.estimate.premium import (
    PremiumResult,
    estimate_premium,
    exact_demeaner,
    fit_feols,
    log_points_to_percent,
    premium_by,
    premium_by_skill,
)
from analysis.estimate.results import RegressionResult, Summary, as_pyfixest, compare, etable
from analysis.estimate.workforce import (
    flows,
    overseas_by_destination,
    overseas_share,
    stocks,
    transitions,
)

__all__ = [
    "PremiumResult",
    "RegressionResult",
    "Summary",
    "as_pyfixest",
    "compare",
    "compressed_feols",
    "estimate_premium",
    "etable",
    "exact_demeaner",
    "fit_feols",
    "fit_logit",
    "flows",
    "gravity_ppml",
    "log_points_to_percent",
    "logit_ame",
    "mobility_lpm",
    "overseas_by_destination",
    "overseas_share",
    "premium_by",
    "premium_by_skill",
    "premium_counterfactual",
    "stocks",
    "transitions",
]
