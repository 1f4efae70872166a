"""Is AI talent more mobile out of Korea than Korea's other skills, relative to elsewhere?

On the country x skill-group x year panel of the World Bank-LinkedIn workbook,

    net_cst = b * 1[c = KOR, s = AI] + a_ct + g_st + e_cst,

with country-year fixed effects ``a_ct`` (everything that moves all of a country's skills
together in a year: its overall attractiveness, its LinkedIn coverage) and skill-year
fixed effects ``g_st`` (everything that moves a skill group everywhere: the global market
for AI talent). ``b`` is a difference in differences: Korea's AI net migration minus
Korea's other skills, minus the same gap elsewhere. ``b < 0`` means AI leaves Korea on net
more than Korea's other skills do, relative to other countries. The outcome is *net*
migration per 10,000 holders of the skill in the country; gross mobility (how many move
either way) is not in the workbook.

Inference. Errors are clustered by country: a country's skill groups share its movers
(one person holds many skills, so one move counts in many skill groups) and its
denominators, so their errors are correlated within a country-year and across years.
Clustering by skill group (the AI group's errors are correlated across countries through
the global AI market) and two-way clustering are robustness rows. But every one of these
is fragile here: the treatment is one cell (Korea x AI, five observations), in one cluster,
and cluster-robust errors with a single treated cluster understate the uncertainty
(Conley and Taber 2011; MacKinnon and Webb 2017). The honest yardstick is therefore the
placebo distribution: the same coefficient for every other country's AI cell, with the same
fixed effects (randomization inference across countries). Its p-value is the share of
countries whose AI difference-in-differences is at least as large in absolute value.

Examples
--------
>>> from analysis.sources.worldbank import load_talent_migration
>>> out = ai_vs_other_skills(load_talent_migration())  # doctest: +SKIP
>>> out.tidy()[["model", "estimate", "std_error", "p_value"]]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyfixest.estimation import demean

from analysis.config import FOCAL_COUNTRY
from analysis.estimate.premium import exact_demeaner, fit_feols, premium_formula
from analysis.estimate.results import RegressionResult
from analysis.realdata.common import (
    AI_SKILL_GROUP,
    SKILL_VALUE,
    ModelSet,
    feols_multiway,
)
from analysis.sources.worldbank import TalentMigration

__all__ = ["SkillComparison", "ai_vs_other_skills", "placebo_by_country", "skill_panel"]

TERM = "country_x_skill"


@dataclass
class SkillComparison(ModelSet):
    """:class:`~analysis.realdata.common.ModelSet` plus the placebo distribution.

    Attributes
    ----------
    placebo
        One row per country that has the skill group: ``iso3, estimate`` (its own
        ``country x skill`` coefficient in the same model), ``abs_rank`` (1 = largest in
        absolute value), ``is_target``.
    ri_p_value
        Two-sided randomization-inference p-value: the share of countries (the target
        included) whose ``|estimate|`` is at least the target's.
    cells
        The raw difference in differences by year (``target_skill``, ``target_other``
        (mean over the target country's other skill groups), ``others_skill``,
        ``others_other``, ``did``) to read the regression against.
    """

    placebo: pd.DataFrame = field(default_factory=pd.DataFrame)
    ri_p_value: float = float("nan")
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Model rows, plus ``ri_p_value`` (the same for every row of the treatment term)."""
        table = super().tidy(level)
        table["ri_p_value"] = np.where(table["term"] == TERM, self.ri_p_value, np.nan)
        table["ri_countries"] = len(self.placebo)
        return table


def skill_panel(
    tm: TalentMigration, *, country: str = FOCAL_COUNTRY, skill: str = AI_SKILL_GROUP
) -> pd.DataFrame:
    """The skill sheet with the treatment dummy and the fixed-effect cells.

    Adds ``country_x_skill`` (1.0 for ``country`` x ``skill``), ``country_year`` and
    ``skill_year``.
    """
    panel = tm.skill_migration.copy()
    in_skill = panel["skill_group_name"] == skill
    treated = (panel["iso3"] == country) & in_skill
    if not treated.any():
        raise KeyError(f"no {skill!r} rows for {country} in the skill-migration sheet")
    panel[TERM] = treated.astype(float)
    year = panel["year"].astype(str)
    panel["country_year"] = panel["iso3"] + "_" + year
    panel["skill_year"] = panel["skill_group_id"].astype(str) + "_" + year
    return panel


def placebo_by_country(panel: pd.DataFrame, skill: str, country: str) -> pd.DataFrame:
    """The ``c x skill`` coefficient for every country ``c`` that has the skill group.

    Each coefficient is the one a separate regression with the same two sets of fixed
    effects would give; all are computed at once by demeaning the outcome and every
    country's dummy on the fixed effects (pyfixest's alternating projections) and
    applying Frisch-Waugh-Lovell: ``b_c = <d_c, y> / <d_c, d_c>`` on demeaned columns.
    """
    in_skill = (panel["skill_group_name"] == skill).to_numpy()
    countries = sorted(panel.loc[in_skill, "iso3"].unique())
    iso3 = panel["iso3"].to_numpy()
    dummies = np.column_stack([(iso3 == c) & in_skill for c in countries]).astype(float)
    columns = np.column_stack([panel[SKILL_VALUE].to_numpy(float), dummies])
    flist = np.column_stack(
        [pd.factorize(panel["country_year"])[0], pd.factorize(panel["skill_year"])[0]]
    ).astype(np.uint64)
    demeaned, converged = demean(columns, flist, np.ones(len(panel)), tol=1e-10)
    if not converged:  # pragma: no cover - the panel converges in a few iterations
        raise RuntimeError("demeaning did not converge")
    y, d = demeaned[:, 0], demeaned[:, 1:]
    estimates = (d * y[:, None]).sum(axis=0) / (d * d).sum(axis=0)
    out = pd.DataFrame({"iso3": countries, "estimate": estimates})
    out["abs_rank"] = out["estimate"].abs().rank(ascending=False, method="min").astype(int)
    out["is_target"] = out["iso3"] == country
    return out.sort_values("estimate", ignore_index=True)


def _cells(panel: pd.DataFrame, skill: str, country: str) -> pd.DataFrame:
    in_skill = panel["skill_group_name"] == skill
    in_country = panel["iso3"] == country
    groups = {
        "target_skill": in_country & in_skill,
        "target_other": in_country & ~in_skill,
        "others_skill": ~in_country & in_skill,
        "others_other": ~in_country & ~in_skill,
    }
    cells = pd.DataFrame(
        {k: panel.loc[m].groupby("year")[SKILL_VALUE].mean() for k, m in groups.items()}
    )
    cells["did"] = (cells["target_skill"] - cells["target_other"]) - (
        cells["others_skill"] - cells["others_other"]
    )
    return cells.reset_index()


def ai_vs_other_skills(
    tm: TalentMigration,
    *,
    country: str = FOCAL_COUNTRY,
    skill: str = AI_SKILL_GROUP,
    placebo: bool = True,
) -> SkillComparison:
    """Difference-in-differences of ``country`` x ``skill`` net migration, with fixed effects.

    Parameters
    ----------
    tm
        The loaded workbook.
    country, skill
        The treated cell (default Korea x "Artificial Intelligence (AI)").
    placebo
        Also estimate the coefficient for every other country with the skill group and
        report the randomization-inference p-value.

    Returns
    -------
    SkillComparison
        ``models``: ``cluster_country`` (headline), ``cluster_skill``,
        ``cluster_country_skill`` (two-way); the term is ``country_x_skill``, in net
        migrants per 10,000 skill holders. ``placebo``, ``ri_p_value``, ``cells`` and a
        ``note``. ``tidy()`` gives one row per model.
    """
    panel = skill_panel(tm, country=country, skill=skill)
    fe = ["country_year", "skill_year"]
    formula = premium_formula(SKILL_VALUE, [TERM], fe)
    # solved to 1e-12 (pyfixest's default stops where the order of the fixed effects,
    # which varies with the hash seed, moves the standard errors in the 4th digit)
    by_country, _ = fit_feols(panel, formula, vcov={"CRV1": "iso3"}, demeaner=exact_demeaner())
    by_skill, _ = fit_feols(
        panel, formula, vcov={"CRV1": "skill_group_id"}, demeaner=exact_demeaner()
    )
    twoway = feols_multiway(
        panel, SKILL_VALUE, [TERM], fixed_effects=fe, clusters=["iso3", "skill_group_id"]
    )
    models: dict[str, RegressionResult] = {
        "cluster_country": by_country,
        "cluster_skill": by_skill,
        "cluster_country_skill": twoway,
    }
    descriptions = {
        "cluster_country": "country-year and skill-year FE; errors clustered by country "
        "(headline: a country's skill groups share movers and denominators)",
        "cluster_skill": "same model; errors clustered by skill group (robustness)",
        "cluster_country_skill": "same model; two-way clustering by country and skill group "
        "(robustness)",
    }
    table = placebo_by_country(panel, skill, country) if placebo else pd.DataFrame()
    ri = float("nan")
    if placebo:
        target = float(table.loc[table["is_target"], "estimate"].item())
        ri = float((table["estimate"].abs() >= abs(target) * (1 - 1e-12)).mean())
    result = SkillComparison(
        models=models,
        descriptions=descriptions,
        placebo=table,
        ri_p_value=ri,
        cells=_cells(panel, skill, country),
    )
    result.note = _note(result, country, skill)
    return result


def _note(result: SkillComparison, country: str, skill: str) -> str:
    b = float(result.main.params[TERM])
    se = float(result.main.std_errors[TERM])
    direction = (
        f"{skill} talent leaves {country} on net MORE than {country}'s other skills do, "
        "relative to other countries"
        if b < 0
        else f"{skill} talent leaves {country} on net LESS (or arrives more) than "
        f"{country}'s other skills, relative to other countries"
    )
    text = (
        f"Estimate {b:.1f} net migrants per 10,000 skill holders (SE {se:.1f}, clustered by "
        f"country): {direction}. The treatment is a single country-skill cell, so clustered "
        "errors are unreliable (one treated cluster); "
    )
    if len(result.placebo):
        rank = int(result.placebo.loc[result.placebo["is_target"], "abs_rank"].item())
        text += (
            f"against the placebo distribution of the same coefficient for the "
            f"{len(result.placebo)} countries with this skill group, {country} ranks "
            f"{rank} by absolute size (randomization p = {result.ri_p_value:.2f}). "
        )
    text += (
        "Net, not gross, migration is measured, per 10,000 holders of each skill group in "
        "the country, so small skill groups weigh as much as large ones."
    )
    return text
