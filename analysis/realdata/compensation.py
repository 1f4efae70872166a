"""The compensation-mobility link on real numbers, and how little six points can show.

The BOK compares the AI wage premium of six countries (Korea 6%, US 25%, Canada 18%, UK,
France and Australia about 15% each) and argues that Korea's low premium pushes AI talent
abroad. :func:`compensation_mobility_link` puts each country's net AI migration from the
World Bank-LinkedIn workbook (skill group "Artificial Intelligence (AI)", per 10,000
members holding it in the country) against its published premium and fits

    net_AI_c = a + b * premium_c + e_c        (c = six countries),

by OLS. ``b > 0`` is the BOK's story: where AI pays more, AI talent arrives on net.

The migration measure is each country's **mean over 2015-2019** by default (five yearly
values of a noisy rate; one year, e.g. 2019, with ``year=2019``). The premiums are the
BOK's, for about 2024 (the coverage dates only Korea's), so the two sides are not even
from the same years: this is a cross-country association, not an effect.

Inference that does not pretend six points are many:

- the exact permutation p-value over all 6! = 720 assignments of the premiums to the
  countries (three premiums are tied at 15%, so there are only 120 distinct assignments,
  each counted six times);
- the wild bootstrap p-value with the null imposed and Rademacher weights, on the t
  statistic, enumerating all 2**6 = 64 sign vectors (so its smallest possible two-sided
  p-value is 2/64 = 0.031).

Examples
--------
>>> from analysis.sources.worldbank import load_talent_migration
>>> res = compensation_mobility_link(load_talent_migration())  # doctest: +SKIP
>>> res.points[["iso3", "premium_pct", "ai_net_per_10k_skill_members"]]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.estimate.results import RegressionResult
from analysis.realdata.common import AI_SKILL_GROUP, SKILL_VALUE
from analysis.realdata.inference import (
    SlopeTestResult,
    ols_slope,
    permutation_slope_test,
    wild_bootstrap_slope_test,
)
from analysis.sources.published import BOK_PREMIUM_IDS, get_figure, load_published_figures
from analysis.sources.worldbank import TalentMigration

__all__ = [
    "CompensationMobility",
    "compensation_mobility_link",
    "compensation_mobility_tests",
    "premium_points",
]

MIGRATION = "ai_net_per_10k_skill_members"
PREMIUM = "premium_pct"


@dataclass
class CompensationMobility(RegressionResult):
    """OLS slope of net AI migration on the AI wage premium, with small-sample p-values.

    A :class:`RegressionResult` (terms ``Intercept`` and ``premium_pct``, classical
    standard errors, t with ``n - 2`` df) plus:

    Attributes
    ----------
    points
        One row per country: ``iso3, country_name, premium_pct, premium_figure_id,
        ai_net_per_10k_skill_members, n_years, fitted, residual, slope_without`` (the
        slope when that country is left out).
    permutation
        :class:`~analysis.realdata.inference.SlopeTestResult` of the exact permutation
        test (720 permutations).
    wild_bootstrap
        The same for the wild bootstrap (64 Rademacher sign vectors).
    measure
        Which migration value was used (``"mean 2015-2019"`` or ``"2019"``...).
    note
        What six points can and cannot show.
    """

    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    permutation: SlopeTestResult | None = None
    wild_bootstrap: SlopeTestResult | None = None
    measure: str = ""
    note: str = ""

    @property
    def slope(self) -> float:
        return float(self.params[PREMIUM])

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Rows for the intercept and the slope; the slope row carries
        ``permutation_p_value`` and ``wild_bootstrap_p_value``."""
        table = super().tidy(level)
        is_slope = table["term"] == PREMIUM
        for column, test in (
            ("permutation_p_value", self.permutation),
            ("wild_bootstrap_p_value", self.wild_bootstrap),
        ):
            value = test.p_value if test is not None else np.nan
            table[column] = np.where(is_slope, value, np.nan)
        table["measure"] = self.measure
        return table


def premium_points(
    tm: TalentMigration,
    figures: pd.DataFrame,
    *,
    year: int | None = None,
    skill: str = AI_SKILL_GROUP,
    premium_ids: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per BOK country: its published premium and its net AI migration.

    Parameters
    ----------
    year
        ``None``: the mean over the workbook's years (2015-2019); else that year's value.
    premium_ids
        ISO3 -> registry id of the premium (default
        :data:`~analysis.sources.published.BOK_PREMIUM_IDS`).
    """
    premium_ids = dict(BOK_PREMIUM_IDS if premium_ids is None else premium_ids)
    skills = tm.skill_migration
    rows = skills[(skills["skill_group_name"] == skill) & skills["iso3"].isin(premium_ids)]
    if year is not None:
        rows = rows[rows["year"] == year]
    migration = rows.groupby("iso3").agg(
        country_name=("country_name", "first"),
        **{MIGRATION: (SKILL_VALUE, "mean")},
        n_years=("year", "nunique"),
    )
    missing = sorted(set(premium_ids) - set(migration.index))
    if missing:
        raise KeyError(f"no {skill!r} net migration in the workbook for {missing}")
    points = pd.DataFrame(
        {
            "iso3": list(premium_ids),
            PREMIUM: [float(get_figure(figures, i)["value"]) for i in premium_ids.values()],
            "premium_figure_id": list(premium_ids.values()),
        }
    ).join(migration, on="iso3")
    columns = ["iso3", "country_name", PREMIUM, "premium_figure_id", MIGRATION, "n_years"]
    return points[columns]


def compensation_mobility_link(
    tm: TalentMigration,
    figures: pd.DataFrame | None = None,
    *,
    year: int | None = None,
    skill: str = AI_SKILL_GROUP,
) -> CompensationMobility:
    """Slope of net AI migration on the published AI wage premium across the six countries.

    Parameters
    ----------
    tm
        The loaded workbook.
    figures
        The published-figures registry (default: :func:`load_published_figures`).
    year
        ``None`` (default): each country's mean 2015-2019; an int: that year only.
    skill
        The workbook's skill group.

    Returns
    -------
    CompensationMobility
        The OLS fit (``params``: ``Intercept``, ``premium_pct``; net migrants per 10,000
        AI-skill holders per percentage point of premium), ``points``, the exact
        ``permutation`` and ``wild_bootstrap`` tests, and a ``note``.
    """
    figures = load_published_figures() if figures is None else figures
    points = premium_points(tm, figures, year=year, skill=skill)
    x = points[PREMIUM].to_numpy(float)
    y = points[MIGRATION].to_numpy(float)
    fit = ols_slope(x, y)
    points["fitted"] = fit.intercept + fit.slope * x
    points["residual"] = y - points["fitted"]
    points["slope_without"] = [
        ols_slope(np.delete(x, i), np.delete(y, i)).slope if np.ptp(np.delete(x, i)) > 0 else np.nan
        for i in range(len(x))
    ]
    # Covariance of (intercept, slope) under iid errors: sigma^2 (X'X)^-1.
    design = np.column_stack([np.ones_like(x), x])
    sigma2 = float(points["residual"] @ points["residual"]) / (len(x) - 2)
    names = ["Intercept", PREMIUM]
    cov = pd.DataFrame(sigma2 * np.linalg.inv(design.T @ design), index=names, columns=names)
    measure = "mean 2015-2019" if year is None else str(year)
    result = CompensationMobility(
        params=pd.Series([fit.intercept, fit.slope], index=names),
        cov=cov,
        nobs=len(x),
        df_resid=float(len(x) - 2),
        vcov_type="iid",
        estimator="OLS across countries (numpy)",
        info={"countries": ", ".join(points["iso3"]), "measure": measure},
        points=points,
        permutation=permutation_slope_test(x, y),
        wild_bootstrap=wild_bootstrap_slope_test(x, y),
        measure=measure,
    )
    result.note = _note(result)
    return result


def _note(res: CompensationMobility) -> str:
    perm, wild = res.permutation, res.wild_bootstrap
    assert perm is not None and wild is not None
    pts = res.points
    distinct = pts[PREMIUM].nunique()
    loo = pts.dropna(subset=["slope_without"])
    low, high = loo.loc[loo["slope_without"].idxmin()], loo.loc[loo["slope_without"].idxmax()]
    return (
        f"Slope {res.slope:.1f} net AI migrants per 10,000 AI-skill holders per percentage "
        f"point of premium ({res.measure}); exact permutation p = {perm.p_value:.3f} "
        f"({perm.n_draws} permutations), wild bootstrap p = {wild.p_value:.3f} "
        f"({wild.n_draws} Rademacher sign vectors), classical t-test p = "
        f"{float(res.pvalues[PREMIUM]):.3f}. Six points, with only {distinct} distinct "
        f"premiums, can show very little: leaving out one country moves the slope between "
        f"{low['slope_without']:.1f} (without {low['iso3']}) and {high['slope_without']:.1f} "
        f"(without {high['iso3']}); the premiums (about 2024, Revelio data) and the migration "
        "(2015-2019, LinkedIn's World Bank extract) come from different years and data; and "
        "any country trait that raises both pay and attractiveness (language, size of the AI "
        "sector, firm structure) would produce the same slope. Read it as consistent with the "
        "BOK's story or not, never as a test of it."
    )


def compensation_mobility_tests(link: CompensationMobility) -> pd.DataFrame:
    """One row: the fitted line (intercept, slope), the slope's classical SE and p, the
    permutation and wild bootstrap p-values with their numbers of draws, and the range
    of the slope leaving one country out."""
    perm, wild = link.permutation, link.wild_bootstrap
    if perm is None or wild is None:
        raise ValueError("the compensation-mobility result has no small-sample tests")
    loo = link.points["slope_without"].dropna()
    return pd.DataFrame(
        {
            "measure": [link.measure],
            "countries": [link.nobs],
            "distinct_premiums": [int(link.points[PREMIUM].nunique())],
            "intercept": [float(link.params["Intercept"])],
            "slope": [link.slope],
            "std_error": [float(link.std_errors[PREMIUM])],
            "classical_p": [float(link.pvalues[PREMIUM])],
            "permutation_p": [perm.p_value],
            "permutations": [perm.n_draws],
            "wild_bootstrap_p": [wild.p_value],
            "sign_vectors": [wild.n_draws],
            "slope_leave_one_out_min": [float(loo.min())],
            "slope_leave_one_out_max": [float(loo.max())],
        }
    )
