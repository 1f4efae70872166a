"""Bilateral talent flows: Korea's main partners, and a gravity regression of net flows.

The country sheet gives, for each base country, its net gain (+) or loss (-) of LinkedIn
members to each target country, per 10,000 members of the base country. Within one base
country the denominator is common, so ranking partners by this rate ranks them by head
count. Every pair appears twice, once from each side, with opposite signs and different
sizes (each side divides by its own membership). LinkedIn reports a pair only with 50 or
more movers, so the pairs present are selected on the size of the flow.

Why not PPML. Poisson pseudo-maximum likelihood, the workhorse of gravity equations
(Santos Silva and Tenreyro 2006), needs a non-negative outcome; a *net* flow is negative
for one side of every pair. :func:`gravity_bilateral` therefore fits

- ``signed_income`` (headline): OLS of the signed net flow on log distance and World Bank
  income-group indicators of the base and of the target country (high income is the
  reference), with year fixed effects. Distance is symmetric, so it cannot say which way
  talent flows: on a sample holding both sides of every pair, its coefficient on a signed
  flow is zero up to the asymmetry of the denominators. The income indicators carry the
  direction (talent moves from poorer to richer countries).
- ``signed_fe``: the same outcome on log distance with base-year and target-year fixed
  effects (which absorb the income groups and each country's overall attractiveness).
- ``abs_ppml``: the *size* of the net flow, ``|net|`` (non-negative, so PPML applies),
  on log distance with base-year and target-year fixed effects: the gravity question
  proper (do nearer countries exchange more talent?). ``|net|`` understates gross flows.

Standard errors. Observations sharing a country are correlated (mirror pairs, common
denominators), so the headline covariance is dyadic-robust
(:func:`~analysis.estimate.covariance.dyadic_vcov`); rows clustered by base country and
two-way by base and target country are shown beside it for comparison. The PPML model
is clustered by unordered country pair.

Examples
--------
>>> from analysis.sources.worldbank import load_talent_migration
>>> tm = load_talent_migration()  # doctest: +SKIP
>>> korea_bilateral(tm, top=5)["partner_iso3"].unique().tolist()  # doctest: +SKIP
['USA', 'CAN', 'DEU', 'CHN', 'IND']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyfixest.estimation import demean

from analysis.config import FOCAL_COUNTRY
from analysis.estimate.covariance import dyadic_vcov
from analysis.estimate.mobility import gravity_ppml
from analysis.estimate.premium import exact_demeaner, fit_feols, premium_formula
from analysis.estimate.results import RegressionResult
from analysis.realdata.common import COUNTRY_VALUE, ModelSet, feols_multiway
from analysis.realdata.geo import great_circle_km
from analysis.sources.worldbank import INCOME_GROUPS, TalentMigration

__all__ = [
    "INCOME_TERMS",
    "bilateral_net_total",
    "bilateral_panel",
    "gravity_bilateral",
    "korea_bilateral",
]

# "Low income" -> "low", ..., every group but the reference (high income, the last).
_INCOME_SLUGS = {g: g.lower().removesuffix(" income").replace(" ", "_") for g in INCOME_GROUPS[:-1]}
INCOME_TERMS: tuple[str, ...] = tuple(
    f"{side}_{slug}" for side in ("base", "target") for slug in _INCOME_SLUGS.values()
)
"""Income indicators of the gravity regression (reference: high income)."""


def bilateral_panel(tm: TalentMigration) -> pd.DataFrame:
    """The country sheet with distance, income indicators and fixed-effect cells.

    Adds ``distance_km`` (great circle between the workbook's country coordinates, which
    are centroids), ``log_distance``, ``abs_net``, the :data:`INCOME_TERMS` indicators,
    ``year_fe``, ``base_year``, ``target_year`` and ``dyad`` (the unordered pair).
    """
    panel = tm.country_migration.copy()
    panel["distance_km"] = great_circle_km(
        panel["base_lat"], panel["base_lon"], panel["target_lat"], panel["target_lon"]
    )
    panel["log_distance"] = np.log(panel["distance_km"])
    panel["abs_net"] = panel[COUNTRY_VALUE].abs()
    for side in ("base", "target"):
        group = panel[f"{side}_income_group"].astype(str)
        for label, slug in _INCOME_SLUGS.items():
            panel[f"{side}_{slug}"] = (group == label).astype(float)
    year = panel["year"].astype(str)
    panel["year_fe"] = year
    panel["base_year"] = panel["base_iso3"] + "_" + year
    panel["target_year"] = panel["target_iso3"] + "_" + year
    low = panel[["base_iso3", "target_iso3"]].min(axis=1)
    high = panel[["base_iso3", "target_iso3"]].max(axis=1)
    panel["dyad"] = low + "-" + high
    return panel


def korea_bilateral(
    tm: TalentMigration, *, country: str = FOCAL_COUNTRY, top: int = 10
) -> pd.DataFrame:
    """``country``'s net flows with its ``top`` partners by mean absolute net flow.

    Parameters
    ----------
    tm
        The loaded workbook.
    country
        Base country (ISO3).
    top
        Number of partners kept, ranked by the mean over years of ``|net|`` from
        ``country``'s side (per 10,000 of its members, so proportional to head counts).

    Returns
    -------
    DataFrame
        One row per partner x year, ordered by ``rank``: ``rank, partner_iso3,
        partner_name, partner_income_group, partner_region, distance_km, year,
        net_per_10k_base_members`` (``country``'s gain from the partner per 10,000 of
        ``country``'s members), ``partner_view_net_per_10k_partner_members`` (the same pair
        from the partner's side, per 10,000 of the partner's members: opposite sign,
        different size), ``signs_mirror`` (the two views have opposite signs, or one is
        zero), ``mean_net`` and ``mean_abs_net`` over the years.
    """
    panel = bilateral_panel(tm)
    own = panel[panel["base_iso3"] == country]
    if own.empty:
        raise KeyError(f"{country} is not a base country in the country-migration sheet")
    mirror = panel.loc[
        panel["target_iso3"] == country, ["base_iso3", "year", COUNTRY_VALUE]
    ].rename(
        columns={
            "base_iso3": "target_iso3",
            COUNTRY_VALUE: "partner_view_net_per_10k_partner_members",
        }
    )
    out = own.merge(mirror, on=["target_iso3", "year"], how="left")
    stats = out.groupby("target_iso3")[COUNTRY_VALUE].agg(
        mean_net="mean", mean_abs_net=lambda v: v.abs().mean()
    )
    stats = stats.sort_values(["mean_abs_net", "mean_net"], ascending=[False, True])
    stats["rank"] = np.arange(1, len(stats) + 1)
    out = out.join(stats, on="target_iso3")
    out = out[out["rank"] <= top]
    own_sign = np.sign(out[COUNTRY_VALUE])
    partner_sign = np.sign(out["partner_view_net_per_10k_partner_members"])
    out["signs_mirror"] = (own_sign * partner_sign <= 0) | partner_sign.isna()
    out = out.rename(
        columns={
            "target_iso3": "partner_iso3",
            "target_name": "partner_name",
            "target_income_group": "partner_income_group",
            "target_region": "partner_region",
        }
    )
    columns = [
        "rank",
        "partner_iso3",
        "partner_name",
        "partner_income_group",
        "partner_region",
        "distance_km",
        "year",
        COUNTRY_VALUE,
        "partner_view_net_per_10k_partner_members",
        "signs_mirror",
        "mean_net",
        "mean_abs_net",
    ]
    return out[columns].sort_values(["rank", "year"], ignore_index=True)


def bilateral_net_total(tm: TalentMigration, *, country: str = FOCAL_COUNTRY) -> pd.DataFrame:
    """``country``'s net gain summed over the partners listed for it, by year.

    The rates share one denominator (``country``'s membership), so they add up: the sum
    is the net gain per 10,000 members *with the listed partners* (pairs under LinkedIn's
    50-mover threshold are missing, so this is not the total net migration).

    Returns
    -------
    DataFrame
        ``year, partners, net_per_10k_base_members, partners_gaining, partners_losing``.
    """
    own = tm.country_migration[tm.country_migration["base_iso3"] == country]
    if own.empty:
        raise KeyError(f"{country} is not a base country in the country-migration sheet")
    grouped = own.groupby("year")[COUNTRY_VALUE]
    return pd.DataFrame(
        {
            "partners": grouped.size(),
            COUNTRY_VALUE: grouped.sum().round(6),
            "partners_gaining": grouped.agg(lambda v: int((v > 0).sum())),
            "partners_losing": grouped.agg(lambda v: int((v < 0).sum())),
        }
    ).reset_index()


def _with_dyadic(
    panel: pd.DataFrame, outcome: str, terms: list[str], fixed_effects: list[str]
) -> RegressionResult:
    """OLS by pyfixest (clustered by base country), then the dyadic covariance."""
    base, _ = fit_feols(
        panel,
        premium_formula(outcome, terms, fixed_effects),
        vcov={"CRV1": "base_iso3"},
        demeaner=exact_demeaner(),
    )
    flist = np.column_stack([pd.factorize(panel[f])[0] for f in fixed_effects]).astype(np.uint64)
    columns = panel[[outcome, *terms]].to_numpy(float)
    demeaned, converged = demean(columns, flist, np.ones(len(panel)), tol=1e-12)
    if not converged:  # pragma: no cover
        raise RuntimeError("demeaning did not converge")
    y, x = demeaned[:, 0], demeaned[:, 1:]
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    if not np.allclose(beta, base.params[terms].to_numpy(), rtol=1e-6, atol=1e-8):
        raise RuntimeError("demeaned OLS does not reproduce pyfixest's coefficients")
    cov = dyadic_vcov(x, y - x @ beta, panel["base_iso3"], panel["target_iso3"])
    countries = pd.unique(pd.concat([panel["base_iso3"], panel["target_iso3"]]))
    names = list(base.params.index)
    return RegressionResult(
        params=base.params,
        cov=pd.DataFrame(cov, index=names, columns=names),
        nobs=base.nobs,
        df_resid=float(len(countries) - 1),
        vcov_type="dyadic: base_iso3, target_iso3",
        estimator="pyfixest.feols + dyadic-robust covariance",
        info={
            "formula": base.info.get("formula", ""),
            "countries": len(countries),
            "dyads": int(panel["dyad"].nunique()),
        },
    )


def gravity_bilateral(tm: TalentMigration) -> ModelSet:
    """Gravity regressions of bilateral net flows on distance and income groups.

    Parameters
    ----------
    tm
        The loaded workbook.

    Returns
    -------
    ModelSet
        ``models`` (see the module docstring for why each is there):

        - ``signed_income``: ``net ~ log_distance + INCOME_TERMS | year``, dyadic-robust
          (headline);
        - ``signed_income_cluster_base``: same, clustered by base country;
        - ``signed_income_cluster_base_target``: same, two-way clustered;
        - ``signed_fe``: ``net ~ log_distance | base-year + target-year``, dyadic-robust;
        - ``abs_ppml``: PPML of ``|net| ~ log_distance | base-year + target-year``,
          clustered by unordered pair (coefficient: elasticity of the size of the net
          flow with respect to distance).

        ``tidy()`` gives one row per model and term; ``note`` reads the results.
    """
    panel = bilateral_panel(tm)
    terms = ["log_distance", *INCOME_TERMS]
    outcome = COUNTRY_VALUE
    models: dict[str, RegressionResult] = {
        "signed_income": _with_dyadic(panel, outcome, terms, ["year_fe"]),
    }
    models["signed_income_cluster_base"], _ = fit_feols(
        panel,
        premium_formula(outcome, terms, ["year_fe"]),
        vcov={"CRV1": "base_iso3"},
        demeaner=exact_demeaner(),
    )
    models["signed_income_cluster_base_target"] = feols_multiway(
        panel, outcome, terms, fixed_effects=["year_fe"], clusters=["base_iso3", "target_iso3"]
    )
    models["signed_fe"] = _with_dyadic(
        panel, outcome, ["log_distance"], ["base_year", "target_year"]
    )
    models["abs_ppml"] = gravity_ppml(
        panel,
        count="abs_net",
        regressors=("log_distance",),
        origin="base_iso3",
        destination="target_iso3",
        year="year",
        vcov={"CRV1": "dyad"},
    )
    descriptions = {
        "signed_income": "OLS, signed net flow per 10,000 base members; year FE; "
        "dyadic-robust errors (headline)",
        "signed_income_cluster_base": "same; errors clustered by base country",
        "signed_income_cluster_base_target": "same; two-way clustered by base and target",
        "signed_fe": "OLS, signed net flow; base-year and target-year FE; dyadic-robust",
        "abs_ppml": "PPML, |net flow|; base-year and target-year FE; clustered by pair",
    }
    result = ModelSet(models=models, descriptions=descriptions)
    result.note = _note(result)
    return result


def _gain(value: float) -> str:
    return f"gains {value:.2f}" if value >= 0 else f"loses {-value:.2f}"


def _note(result: ModelSet) -> str:
    head = result.models["signed_income"]
    b, se = head.params, head.std_errors
    ppml = result.models["abs_ppml"]
    return (
        f"Signed net flows: log distance {b['log_distance']:.3f} (dyadic SE "
        f"{se['log_distance']:.3f}), as expected for a symmetric regressor on an "
        "antisymmetric outcome. Income groups carry the direction: a base country in the "
        f"upper-middle-income group {_gain(b['base_upper_middle'])} per 10,000 members a year "
        f"to each listed partner relative to a high-income base (SE "
        f"{se['base_upper_middle']:.2f}), and a base {_gain(b['target_upper_middle'])} from "
        "an upper-middle-income partner relative to a high-income one (SE "
        f"{se['target_upper_middle']:.2f}): talent moves from poorer to richer countries. "
        "The size of net flows falls with distance: PPML elasticity "
        f"{float(ppml.params['log_distance']):.2f} (SE "
        f"{float(ppml.std_errors['log_distance']):.2f}). Pairs below LinkedIn's 50-mover "
        "threshold are missing, distances are between country centroids, and net flows "
        "hide gross flows both ways: the estimates describe the listed pairs, not all "
        "migration."
    )
