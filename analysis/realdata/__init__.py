"""Analyses of real public data (the World Bank-LinkedIn talent-migration workbook).

See :mod:`analysis.realdata.talent_migration` for the public API.
"""

from analysis.realdata.talent_migration import (
    CompensationMobility,
    KoreaAIMigration,
    ModelSet,
    SkillComparison,
    ai_vs_other_skills,
    compensation_mobility_link,
    gravity_bilateral,
    korea_ai_net_migration,
    korea_bilateral,
    talent_migration_tables,
)

__all__ = [
    "CompensationMobility",
    "KoreaAIMigration",
    "ModelSet",
    "SkillComparison",
    "ai_vs_other_skills",
    "compensation_mobility_link",
    "gravity_bilateral",
    "korea_ai_net_migration",
    "korea_bilateral",
    "talent_migration_tables",
]
