"""The pay of a worker's own AI skill set, country by country: the first stage of the
compensation-mobility model.

The published "premium of skill k" compares *holders* of k with non-AI workers
(:func:`analysis.estimate.premium.premium_by_skill`). Holders of k usually hold other
clusters too, so that premium mixes k's own pay with the pay of the clusters it is held
with; built into a worker's pay gain it gives a squeezed copy of the gain
(``docs/compensation-mobility.md`` derives by how much). The mobility model needs each
cluster's *own* premium instead, estimated with all clusters at once.

The design (:func:`skill_set_design`), for an AI worker holding the set ``K`` of clusters:

- ``share_<k> = 1[k in K] / |K|``: the worker's premium is the average of the premiums
  ``theta_k`` of the clusters held (for one cluster, its own premium; the shares sum to
  one, so they replace the AI indicator);
- ``clusters_2`` and ``clusters_3plus``: indicators of holding two, or three or more,
  clusters, which let a broader skill set earn more (or less) than the average of its
  parts;
- ``ai_unlisted``: AI-skilled with no listed cluster.

The premium of skill set ``K`` in country ``c`` is then ``z_K' theta_c``: exactly the
rule of the synthetic world when the count effects are zero, and a first-order
approximation of any other combination rule (additive premiums make the count effects
positive). :func:`skill_set_premiums` estimates ``theta_c`` by one weighted
fixed-effects regression per country (pyfixest, clustered by person), and
:func:`premium_difference` gives ``d = theta_destination - theta_home`` with its
covariance, which is what the pay gain ``z_i' d`` of every worker is built from.

Examples
--------
>>> import pandas as pd
>>> panel = pd.DataFrame({"ai": [True, True, False], "ai_dl": [True, True, False],
...                       "ai_pr": [False, True, False]})
>>> skill_set_design(panel, ["ai_dl", "ai_pr"]).round(2).to_dict("list")
... # doctest: +NORMALIZE_WHITESPACE
{'share_ai_dl': [1.0, 0.5, 0.0], 'share_ai_pr': [0.0, 0.5, 0.0],
 'clusters_2': [0.0, 1.0, 0.0], 'clusters_3plus': [0.0, 0.0, 0.0]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import EstimationDataError
from analysis.estimate.checks import check_vcov
from analysis.estimate.premium import fit_feols, premium_formula
from analysis.estimate.results import RegressionResult, describe_vcov, summarize_set

#: Name of the share column of a skill cluster column.
SHARE_PREFIX = "share_"
#: Count-effect columns (AI workers holding two, three or more clusters).
COUNT_TERMS: tuple[str, ...] = ("clusters_2", "clusters_3plus")
#: AI-skilled without any listed cluster.
UNLISTED = "ai_unlisted"


def skill_set_design(data: pd.DataFrame, skills: Sequence[str], *, ai: str = "ai") -> pd.DataFrame:
    """The skill-set regressors ``z`` of every row (zeros for non-AI workers).

    Parameters
    ----------
    data
        Rows with the boolean AI flag ``ai`` and one boolean column per cluster.
    skills
        The cluster columns.

    Returns
    -------
    DataFrame
        ``share_<skill>`` for each skill, ``clusters_2``, ``clusters_3plus`` and, when
        some AI row holds no listed cluster, ``ai_unlisted``; same index as ``data``.
    """
    is_ai = data[ai].astype(bool).to_numpy()
    held = data[list(skills)].astype(bool).to_numpy() & is_ai[:, None]
    count = held.sum(axis=1)
    shares = held / np.maximum(count, 1)[:, None]
    out = pd.DataFrame(shares, index=data.index, columns=[SHARE_PREFIX + s for s in skills])
    out[COUNT_TERMS[0]] = (count == 2).astype(float)
    out[COUNT_TERMS[1]] = (count >= 3).astype(float)
    unlisted = is_ai & (count == 0)
    if unlisted.any():
        out[UNLISTED] = unlisted.astype(float)
    return out


@dataclass
class SkillPay:
    """Each country's premiums of the skill-set design, with their covariances.

    Attributes
    ----------
    params
        countries x terms: ``theta_c`` in log points over non-AI workers.
    cov
        Country -> covariance matrix of its row of ``params`` (clustered by person).
    nobs, n_ai
        Rows used and AI rows among them, by country.
    info
        Specification: fixed effects, weights, clustering, terms dropped as
        unidentified in a country.
    """

    params: pd.DataFrame
    cov: dict[str, pd.DataFrame]
    nobs: dict[str, int]
    n_ai: dict[str, int]
    info: dict[str, object] = field(default_factory=dict)

    @property
    def models(self) -> dict[str, RegressionResult]:
        """Each country's regression as a :class:`RegressionResult` (normal inference;
        terms unidentified in a country left out), by country."""
        out = {}
        for country, row in self.params.iterrows():
            terms = row.dropna().index
            out[str(country)] = RegressionResult(
                params=row[terms],
                cov=self.cov[country].loc[terms, terms],
                nobs=self.nobs[country],
                df_resid=None,
                vcov_type=str(self.info.get("vcov", "")),
                estimator=str(self.info.get("estimator", "skill-set premiums")),
                depvar=str(self.info.get("outcome", "")) or None,
                weights=self.info.get("weights"),  # type: ignore[arg-type]
                fixed_effects=tuple(self.info.get("fixed_effects", ())),  # type: ignore[arg-type]
            )
        return out

    def summary(self, level: float = 0.95) -> str:
        """Every country's regression summary, under its code."""
        return summarize_set(self.models, level)

    def tidy(self) -> pd.DataFrame:
        """One row per country and term: estimate and standard error."""
        rows = []
        for country, row in self.params.iterrows():
            se = np.sqrt(np.diag(self.cov[country].loc[row.index, row.index].to_numpy()))
            for term, est, s in zip(row.index, row.to_numpy(), se, strict=True):
                rows.append(
                    {
                        "country": country,
                        "term": term,
                        "estimate": est,
                        "std_error": s,
                        "nobs": self.nobs[country],
                        "n_ai": self.n_ai[country],
                    }
                )
        return pd.DataFrame(rows)


def skill_set_premiums(
    data: pd.DataFrame,
    design: pd.DataFrame,
    *,
    countries: Sequence[str],
    outcome: str = "log_salary",
    country: str = "country",
    fixed_effects: Sequence[str] = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "hetero",
    demeaner: object | None = None,
) -> SkillPay:
    """Regress ``outcome`` on the skill-set design, one regression per country.

    Parameters
    ----------
    data
        Person-years with ``outcome``, ``country``, the fixed effects, weights and
        cluster columns.
    design
        :func:`skill_set_design` of ``data`` (same index).
    countries
        Countries to estimate (each must have AI workers).
    fixed_effects, weights, vcov, demeaner
        As in :func:`analysis.estimate.premium.estimate_premium` (``vcov`` defaults to
        ``"hetero"``, HC1).

    Returns
    -------
    SkillPay
        A design term that no AI worker of a country has (a cluster nobody there
        holds) cannot be estimated there: it is left out of that country's
        regression and listed in ``info["unidentified"]``; its premium is missing.
    """
    if not design.index.equals(data.index):
        raise ValueError("design must have the index of data (use skill_set_design(data))")
    terms = list(design.columns)
    clusters = check_vcov(vcov, data, "skill_set_premiums")
    used = [outcome, *fixed_effects, *([weights] if weights else []), *clusters]
    params, covs, nobs, n_ai, unidentified = {}, {}, {}, {}, {}
    for c in countries:
        rows = data[country] == c
        frame = pd.concat([data.loc[rows, list(dict.fromkeys(used))], design.loc[rows]], axis=1)
        present = [t for t in terms if frame[t].abs().sum() > 0]
        missing = [t for t in terms if t not in present]
        if not any(t.startswith(SHARE_PREFIX) for t in present):
            raise EstimationDataError(f"no AI worker with a listed skill cluster in {c}")
        result, _ = fit_feols(
            frame,
            premium_formula(outcome, present, fixed_effects),
            weights=weights,
            vcov=vcov,
            demeaner=demeaner,
            function="skill_set_premiums",
        )
        lost = [t for t in present if t not in result.params.index]
        params[c] = result.params.reindex(terms)
        covs[c] = result.cov.reindex(index=terms, columns=terms)
        nobs[c] = result.nobs
        n_ai[c] = int((frame[[t for t in present if t.startswith(SHARE_PREFIX)]].sum(1) > 0).sum())
        if missing or lost:
            unidentified[c] = missing + lost
    return SkillPay(
        params=pd.DataFrame(params).T.loc[list(countries)],
        cov=covs,
        nobs=nobs,
        n_ai=n_ai,
        info={
            "outcome": outcome,
            "fixed_effects": list(fixed_effects),
            "weights": weights,
            "vcov": describe_vcov(vcov),
            "unidentified": unidentified,
        },
    )


def premium_difference(
    pay: SkillPay, *, destination: str, home: str
) -> tuple[pd.Series, pd.DataFrame]:
    """``d = theta_destination - theta_home`` and its covariance.

    The two countries' regressions are fitted on different person-years; their
    covariance is taken as the sum of the two (a worker observed in both countries
    makes the estimates slightly positively correlated, so the sum is conservative).
    Terms not identified in either country are left out.
    """
    d = (pay.params.loc[destination] - pay.params.loc[home]).dropna()
    terms = list(d.index)
    cov = pay.cov[destination].loc[terms, terms] + pay.cov[home].loc[terms, terms]
    return d.rename("premium_difference"), cov


def pay_gain_from_design(design: pd.DataFrame, difference: pd.Series) -> pd.Series:
    """Each row's pay gain ``z_i' d`` (log points); terms missing from ``difference``
    count as zero, and rows that hold only such terms get a missing gain."""
    terms = [t for t in design.columns if t in difference.index]
    gain = design[terms].to_numpy(float) @ difference[terms].to_numpy(float)
    uncovered = (design.drop(columns=terms).abs().sum(axis=1) > 0) & (
        design[terms].abs().sum(axis=1) == 0
    )
    return pd.Series(np.where(uncovered, np.nan, gain), index=design.index, name="pay_gain")


def skill_set_design_terms(skills: list[str]) -> list[str]:
    """Every column :func:`analysis.estimate.skillpay.skill_set_design` can make."""
    return [SHARE_PREFIX + s for s in skills] + [*COUNT_TERMS, UNLISTED]
