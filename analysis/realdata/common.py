"""Shared pieces of the real-data analyses: names, a set of fitted models, pyfixest glue.

Examples
--------
>>> sign_of(-142.87), sign_of(0.0), sign_of(17.02)
(-1, 0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyfixest as pf

from analysis.estimate.premium import exact_demeaner
from analysis.estimate.results import RegressionResult, summarize_set

AI_SKILL_GROUP: str = "Artificial Intelligence (AI)"
"""The workbook's AI skill group (``skill_group_name``; id 2407, category
"Disruptive Tech Skills")."""

SKILL_VALUE: str = "net_per_10k_skill_members"
COUNTRY_VALUE: str = "net_per_10k_base_members"


def sign_of(value: float) -> int:
    """-1, 0 or +1 (``0`` for exact zeros; raises on NaN)."""
    if np.isnan(value):
        raise ValueError("sign of NaN")
    return int(np.sign(value))


def wrap_pyfixest(
    fit: object, *, vcov_type: str, estimator: str, **info: object
) -> RegressionResult:
    """A fitted pyfixest model as a :class:`RegressionResult`."""
    return RegressionResult.from_pyfixest(
        fit,
        vcov_type=vcov_type,
        estimator=estimator,
        info={"formula": fit._fml, **info},  # type: ignore[attr-defined]
    )


def feols_multiway(
    data: pd.DataFrame,
    outcome: str,
    terms: Sequence[str],
    *,
    fixed_effects: Sequence[str],
    clusters: Sequence[str],
) -> RegressionResult:
    """OLS with absorbed fixed effects and multi-way clustered errors (pyfixest ``CRV1``).

    :func:`analysis.estimate.premium.fit_feols` clusters on one column; this is its
    multi-way sibling (Cameron, Gelbach and Miller 2011), used for robustness rows.
    """
    used = list(dict.fromkeys([outcome, *terms, *fixed_effects, *clusters]))
    frame = data[used].dropna()
    fml = f"{outcome} ~ {' + '.join(terms)}"
    if fixed_effects:
        fml += f" | {' + '.join(fixed_effects)}"
    label = "+".join(clusters)
    # the fixed effects solved to 1e-12, so the result does not depend on their order
    fit = pf.feols(fml, data=frame, vcov={"CRV1": label}, demeaner=exact_demeaner())
    return wrap_pyfixest(
        fit,
        vcov_type=f"CRV1: {label}",
        estimator="pyfixest.feols",
        clusters={c: int(frame[c].nunique()) for c in clusters},
    )


@dataclass
class ModelSet:
    """Several fits of one question (variants, or one model under several covariances).

    Attributes
    ----------
    models
        Label -> :class:`RegressionResult`. The first is the headline.
    descriptions
        Label -> one sentence on what the model is and why it is there.
    note
        Plain-language reading of the results and their limits.
    """

    models: dict[str, RegressionResult]
    descriptions: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def main(self) -> RegressionResult:
        """The headline model (the first)."""
        return next(iter(self.models.values()))

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """All models' ``tidy()`` rows, with ``model`` and ``description`` first."""
        frames = []
        for label, result in self.models.items():
            table = result.tidy(level)
            table.insert(0, "model", label)
            table.insert(1, "description", self.descriptions.get(label, ""))
            frames.append(table)
        return pd.concat(frames, ignore_index=True)

    def summary(self, level: float = 0.95) -> str:
        """Every model's summary, under its label."""
        return summarize_set(self.models, level)
