"""Analyses of the World Bank-LinkedIn talent-migration workbook (issue #7): the public API.

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

from analysis.realdata.bilateral import (
    bilateral_net_total,
    bilateral_panel,
    gravity_bilateral,
    korea_bilateral,
)
from analysis.realdata.common import AI_SKILL_GROUP, BOK_PREMIUM_IDS, ModelSet
from analysis.realdata.compensation import CompensationMobility, compensation_mobility_link
from analysis.realdata.dyadic import dyadic_vcov
from analysis.realdata.geo import great_circle_km
from analysis.realdata.inference import (
    ols_slope,
    permutation_slope_test,
    wild_bootstrap_slope_test,
)
from analysis.realdata.korea import KoreaAIMigration, korea_ai_net_migration
from analysis.realdata.skills import SkillComparison, ai_vs_other_skills
from analysis.sources.published import load_published_figures
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
    "dyadic_vcov",
    "gravity_bilateral",
    "great_circle_km",
    "korea_ai_net_migration",
    "korea_bilateral",
    "ols_slope",
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
        ``compensation_mobility``, ``compensation_mobility_points``, ``korea_bilateral``,
        ``korea_bilateral_total``, ``gravity_bilateral`` and ``notes`` (one row per
        analysis: its plain-language note).
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
    return {
        "korea_ai_net_migration": korea.table,
        "korea_ai_agreement": korea.agreement,
        "ai_vs_other_skills": skills.tidy(),
        "ai_vs_other_skills_placebo": skills.placebo,
        "ai_vs_other_skills_cells": skills.cells,
        "compensation_mobility": link.tidy(),
        "compensation_mobility_points": link.points,
        "korea_bilateral": korea_bilateral(tm),
        "korea_bilateral_total": bilateral_net_total(tm),
        "gravity_bilateral": gravity.tidy(),
        "notes": notes,
    }
