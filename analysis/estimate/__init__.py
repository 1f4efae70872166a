"""Estimation: pure functions from a frame to a result (premiums, workforce, mobility).

Every estimator takes any DataFrame and names its columns as arguments, so it serves
any panel, not only ours; results follow the conventions of linearmodels and
pyfixest (``params``, ``std_errors``, ``conf_int()``, ``nobs``, ``summary``,
``tidy()``).
"""

from analysis.estimate.premium import (
    PremiumResult,
    estimate_premium,
    log_points_to_percent,
    premium_by,
)
from analysis.estimate.results import RegressionResult

__all__ = [
    "PremiumResult",
    "RegressionResult",
    "estimate_premium",
    "log_points_to_percent",
    "premium_by",
]
