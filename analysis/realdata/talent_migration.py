"""Analyses of the World Bank-LinkedIn talent-migration workbook: the public API.

Each question lives in its own small module; this one gathers them, and
:func:`talent_migration_tables` runs them all for a report.

=================================  ==============================================
function                           question
=================================  ==============================================
:func:`korea_ai_net_migration`     Korea's AI net migration 2015-2019 beside the
                                   AI Index values and the BOK's pattern
                                   (:mod:`analysis.realdata.korea`)
:func:`ai_vs_other_skills`         Is AI more mobile out of Korea than Korea's
                                   other skills, relative to other countries?
                                   (:mod:`analysis.realdata.skills`)
:func:`compensation_mobility_link` Net AI migration against the BOK's six AI
                                   wage premiums (:mod:`analysis.realdata.compensation`)
:func:`korea_bilateral`            Korea's net flows with its main partners
:func:`gravity_bilateral`          Net flows on distance and income groups
                                   (:mod:`analysis.realdata.bilateral`)
=================================  ==============================================

Data: World Bank Group-LinkedIn "Digital Data for Development: Talent Migration"
(2015-2019), CC BY 3.0 IGO, attribute LinkedIn Corporation and the World Bank; loaded by
:func:`analysis.sources.worldbank.load_talent_migration`.

Examples
--------
>>> from analysis.sources.worldbank import load_talent_migration
>>> tables = talent_migration_tables(load_talent_migration())  # doctest: +SKIP
>>> sorted(tables)  # doctest: +SKIP
['ai_vs_other_skills', 'ai_vs_other_skills_placebo', 'compensation_mobility', ...]
"""

from __future__ import annotations

import pandas as pd

from analysis.estimate.covariance import dyadic_vcov
from analysis.realdata.bilateral import (
    bilateral_net_total,
    bilateral_panel,
    gravity_bilateral,
    korea_bilateral,
)
from analysis.realdata.common import AI_SKILL_GROUP, COUNTRY_VALUE, ModelSet
from analysis.realdata.compensation import (
    CompensationMobility,
    compensation_mobility_link,
    compensation_mobility_tests,
)
from analysis.realdata.geo import great_circle_km
from analysis.realdata.inference import (
    ols_slope,
    permutation_slope_test,
    wild_bootstrap_slope_test,
)
from analysis.realdata.korea import WORLDBANK, KoreaAIMigration, korea_ai_net_migration
from analysis.realdata.skills import TERM, SkillComparison, ai_vs_other_skills
from analysis.sources.published import BOK_PREMIUM_IDS, load_published_figures
from analysis.sources.worldbank import TalentMigration

__all__ = [
    "AI_SKILL_GROUP",
    "BOK_PREMIUM_IDS",
    "CompensationMobility",
    "KoreaAIMigration",
    "ModelSet",
    "SkillComparison",
    "ai_vs_other_skills",
    "bilateral_net_total",
    "bilateral_panel",
    "compensation_mobility_link",
    "compensation_mobility_tests",
    "dyadic_vcov",
    "gravity_bilateral",
    "great_circle_km",
    "key_numbers",
    "korea_ai_net_migration",
    "korea_bilateral",
    "ols_slope",
    "partner_means",
    "permutation_slope_test",
    "talent_migration_tables",
    "wild_bootstrap_slope_test",
]


def talent_migration_tables(
    tm: TalentMigration, figures: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Run every analysis and return its tables, keyed by name (for a report).

    Returns
    -------
    dict
        ``korea_ai_net_migration``, ``korea_ai_agreement``, ``ai_vs_other_skills``,
        ``ai_vs_other_skills_placebo``, ``ai_vs_other_skills_cells``,
        ``compensation_mobility``, ``compensation_mobility_points``,
        ``compensation_mobility_tests``, ``korea_bilateral``, ``korea_bilateral_total``,
        ``gravity_bilateral``, ``key_numbers`` (:func:`key_numbers`) and ``notes`` (one
        row per analysis: its plain-language note).
    """
    figures = load_published_figures() if figures is None else figures
    korea = korea_ai_net_migration(tm, figures)
    skills = ai_vs_other_skills(tm)
    link = compensation_mobility_link(tm, figures)
    gravity = gravity_bilateral(tm)
    notes = pd.DataFrame(
        {
            "analysis": [
                "korea_ai_net_migration",
                "ai_vs_other_skills",
                "compensation_mobility",
                "gravity_bilateral",
            ],
            "note": [korea.explanation, skills.note, link.note, gravity.note],
        }
    )
    bilateral = korea_bilateral(tm)
    return {
        "korea_ai_net_migration": korea.table,
        "korea_ai_agreement": korea.agreement,
        "ai_vs_other_skills": skills.tidy(),
        "ai_vs_other_skills_placebo": skills.placebo,
        "ai_vs_other_skills_cells": skills.cells,
        "compensation_mobility": link.tidy(),
        "compensation_mobility_points": link.points,
        "compensation_mobility_tests": compensation_mobility_tests(link),
        "korea_bilateral": bilateral,
        "korea_bilateral_total": bilateral_net_total(tm),
        "gravity_bilateral": gravity.tidy(),
        "key_numbers": key_numbers(korea, skills, link, bilateral, gravity),
        "notes": notes,
    }


def partner_means(bilateral: pd.DataFrame) -> pd.DataFrame:
    """Korea's net gain from each partner of :func:`korea_bilateral`, mean over its
    years: ``rank, partner_iso3, partner_name, mean``, by rank."""
    keys = ["rank", "partner_iso3", "partner_name"]
    means = bilateral.groupby(keys, observed=True)[COUNTRY_VALUE].mean().rename("mean")
    return means.reset_index().sort_values("rank", ignore_index=True)


def key_numbers(
    korea: KoreaAIMigration,
    skills: SkillComparison,
    link: CompensationMobility,
    bilateral: pd.DataFrame,
    gravity: ModelSet,
) -> pd.DataFrame:
    """The World Bank page's headline numbers, one row each: ``section, quantity, value,
    unit``, read off the results passed in."""
    rows: list[tuple[str, str, float, str]] = []
    wb = korea.table[korea.table["source"] == WORLDBANK]
    unit_wb = "net per 10,000 LinkedIn members with AI skills in Korea"
    for year, value in zip(wb["year"], wb["value"], strict=True):
        rows.append(("Korea AI net migration", f"World Bank-LinkedIn {year}", value, unit_wb))
    overlap = korea.agreement
    rows.append(("Korea AI net migration", "years covered by two sources", len(overlap), "years"))
    rows.append(
        ("Korea AI net migration", "of which the signs agree", int(overlap["agree"].sum()), "years")
    )
    unit_did = "net per 10,000 skill holders"
    for label, model in skills.models.items():
        b, se = float(model.params[TERM]), float(model.std_errors[TERM])
        if label == next(iter(skills.models)):
            rows.append(("AI vs other skills", "Korea x AI coefficient", b, unit_did))
        rows.append(("AI vs other skills", f"standard error ({model.vcov_type})", se, unit_did))
    rows.append(("AI vs other skills", "placebo (randomization) p-value", skills.ri_p_value, ""))
    rows.append(("AI vs other skills", "countries in the placebo", len(skills.placebo), ""))
    tests = compensation_mobility_tests(link).iloc[0]
    unit_slope = "net per 10,000 AI-skill holders per point of premium"
    section = "Compensation-mobility link"
    rows += [
        (section, "slope", tests["slope"], unit_slope),
        (section, "classical p-value", tests["classical_p"], ""),
        (section, "exact permutation p-value", tests["permutation_p"], ""),
        (section, "wild bootstrap p-value", tests["wild_bootstrap_p"], ""),
        (section, "slope leaving one country out: lowest", tests["slope_leave_one_out_min"],
         unit_slope),
        (section, "slope leaving one country out: highest", tests["slope_leave_one_out_max"],
         unit_slope),
    ]  # fmt: skip
    unit_bi = "Korea's net gain per 10,000 Korean LinkedIn members, mean over years"
    for row in partner_means(bilateral).head(5).itertuples(index=False):
        rows.append(("Korea's partners", f"{row.partner_name}", row.mean, unit_bi))
    head = gravity.main
    for term in ("log_distance", "base_upper_middle", "target_upper_middle"):
        b, se = float(head.params[term]), float(head.std_errors[term])
        rows.append(("Gravity (signed net flow)", term, b, f"SE {se:.3f} ({head.vcov_type})"))
    ppml = gravity.models["abs_ppml"]
    b, se = float(ppml.params["log_distance"]), float(ppml.std_errors["log_distance"])
    rows.append(("Gravity (size of net flow, PPML)", "log_distance", b, f"SE {se:.3f}"))
    return pd.DataFrame.from_records(rows, columns=["section", "quantity", "value", "unit"])
