"""The estimate stage's specifications: every modelling choice the tables depend on.

The Bank of Korea's note fixes some choices (the comparison, the weights, the year); the
others are stated here once: the premium regression (:class:`PremiumModel`), the
compensation-mobility model (:data:`MOBILITY_MODEL`), the emigration logit
(:data:`EMIGRATION_LOGIT`) and the counterfactual targets (in :data:`SPEC`, which the
estimates manifest records). The table builders (:mod:`analysis.estimate.tables`) read
them from here; nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis import config
from analysis.estimate.panel_frame import CONTROL_COLUMNS
from analysis.estimate.premium import EXACT_FIXEF_TOL, exact_demeaner

#: Specification choices the report does not pin down, in one place.
SPEC: dict[str, object] = {
    "premium_controls": "fixed effects for seniority, job category, highest degree, field of "
    "study, sex, industry and position start year (when in the panel) and year (pooled "
    "samples)",
    "premium_year_by_country": config.DEFAULT_YEARS[1],
    "weights": "weight (sampling weight of the person)",
    "cluster": "user_id",
    "fixed_effects_solver": "normal equations in DuckDB with every fixed effect as "
    "indicators (analysis.estimate.normal_equations), clustered scores by a second pass; "
    "equal to pyfixest's dummy-variable regression with fixef_rm='none' (singleton rows "
    "are kept: they change no estimate; pyfixest's default drops them from N and K)",
    "mobility_model": "joint pseudo-likelihood of the skill-set pay equations (home and "
    "destination) and the emigration and return logits of AI workers of Korean origin; "
    "the naive plug-in estimator beside it (docs/compensation-mobility.md)",
    "counterfactual_targets_pct": {"Canada's level (18%)": 18.0, "US level (25%)": 25.0},
}


def fixed_effects_of(panel: pd.DataFrame, pooled: bool) -> list[str]:
    candidates = [*CONTROL_COLUMNS, "start_year"]
    fes = [c for c in candidates if c in panel.columns]
    return [*fes, "year"] if pooled else fes


@dataclass(frozen=True)
class PremiumModel:
    """The premium regression of the estimate stage (the BOK's comparison): log salary
    on the AI flag, weighted by the sampling weight, clustered by person, with the
    controls of :func:`fixed_effects_of` as fixed effects."""

    outcome: str = "log_salary"
    treatment: str = "ai"
    weights: str = "weight"
    cluster: str = "user_id"

    def keywords(self, panel: pd.DataFrame, pooled: bool) -> dict[str, object]:
        """:func:`analysis.estimate.premium.estimate_premium`'s keywords on ``panel``
        (the treatment aside: the skill premiums change it)."""
        return {
            "outcome": self.outcome,
            "fixed_effects": fixed_effects_of(panel, pooled),
            "weights": self.weights,
            "vcov": {"CRV1": self.cluster},
            "demeaner": exact_demeaner(EXACT_FIXEF_TOL),
        }


#: The one premium specification of the stage.
PREMIUM_MODEL = PremiumModel()


def premium_keywords(panel: pd.DataFrame, pooled: bool) -> dict[str, object]:
    return PREMIUM_MODEL.keywords(panel, pooled)


#: The compensation-mobility model (:mod:`analysis.estimate.mobility_model`): the pay gain
#: of the worker's own skill set in the destination over home, and the controls of the
#: emigration and return logits (AI-skilled workers of Korean origin).
MOBILITY_MODEL: dict[str, object] = {
    "destination": "USA",
    "emigration_controls": ["year"],
    "return_controls": ["year", "country"],
    "methods": ["joint", "naive"],
}

#: The individual emigration logit: regressors and categorical controls.
EMIGRATION_LOGIT: dict[str, list[str]] = {"regressors": ["ai", "pay_gain"], "categorical": ["year"]}

#: The fewest persons a group must hold for the estimate stage to run: the premiums
#: need AI and non-AI workers in Korea and the destination in the premium year, the
#: mobility model AI workers of Korean origin at home and abroad. Fewer is a named
#: error up front, not a failure deep inside an estimator.
MINIMUM_PERSONS: int = 2
