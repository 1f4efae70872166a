"""The World Bank Group-LinkedIn "Digital Data for Development: Talent Migration" workbook.

The workbook (2015-2019, World Bank data catalog dataset 0038044, licence CC BY 3.0 IGO:
attribute LinkedIn Corporation and the World Bank) is *not* part of the repository. This
module finds a local copy, checks its SHA-256 against :data:`SHA256` and turns its three
data sheets into tidy tables with ISO 3166-1 alpha-3 codes:

==================  ==========================  ====================================
table               sheet                       key
==================  ==========================  ====================================
skill_migration     ``Skill Migration``         iso3 x skill_group_id x year
industry_migration  ``Industry Migration``      iso3 x industry_id x year
country_migration   ``Country Migration``       base_iso3 x target_iso3 x year
==================  ==========================  ====================================

All three report *net* migration of LinkedIn members (arrivals minus departures) per
10,000 members, but each sheet divides by a different population; the value column is
named after its denominator so the tables cannot be mixed up by accident (see
:data:`NORMALISATION`):

- ``net_per_10k_skill_members``: per 10,000 LinkedIn members of the country who hold a
  skill of that skill group;
- ``net_per_10k_industry_members``: per 10,000 LinkedIn members of the country working in
  that industry;
- ``net_per_10k_base_members``: per 10,000 LinkedIn members of the base country (positive:
  the base country gains members from the target country, on net).

Where the workbook is looked for (first hit wins): the ``path`` argument, the environment
variable ``WORLDBANK_TALENT_MIGRATION_XLSX`` (:data:`analysis.config.WORLDBANK_ENV_VAR`),
then ``<shared>/data/worldbank-linkedin-talent-migration-2015-2019.xlsx`` with ``<shared>``
:data:`analysis.config.SHARED_DIR`.

Examples
--------
>>> from analysis.sources.worldbank import load_talent_migration
>>> tm = load_talent_migration()  # doctest: +SKIP
>>> s = tm.skill_migration  # doctest: +SKIP
>>> korea_ai = s[(s.iso3 == "KOR") & (s.skill_group_id == 2407)]  # AI  # doctest: +SKIP
>>> korea_ai.set_index("year")["net_per_10k_skill_members"].loc[2015]  # doctest: +SKIP
-142.87
"""

from __future__ import annotations

from analysis.io import sha256_file as sha256_of
from analysis.sources.worldbank.discover import default_path, locate_workbook, resolve_path
from analysis.sources.worldbank.errors import (
    ChecksumMismatchError,
    ColumnMissingError,
    SheetMissingError,
    TalentMigrationError,
    WorkbookNotFoundError,
    WorkbookValueError,
)
from analysis.sources.worldbank.reader import (
    TalentMigration,
    TalentMigrationMetadata,
    load_talent_migration,
)
from analysis.sources.worldbank.schema import (
    ATTRIBUTION,
    CATALOG,
    CAVEATS,
    FILENAME,
    INCOME_GROUPS,
    LICENCE,
    NORMALISATION,
    SHA256,
    SHEETS,
    VALUE_COLUMNS,
    YEARS,
)

__all__ = [
    "ATTRIBUTION",
    "CATALOG",
    "CAVEATS",
    "FILENAME",
    "INCOME_GROUPS",
    "LICENCE",
    "NORMALISATION",
    "SHA256",
    "SHEETS",
    "VALUE_COLUMNS",
    "YEARS",
    "ChecksumMismatchError",
    "ColumnMissingError",
    "SheetMissingError",
    "TalentMigration",
    "TalentMigrationError",
    "TalentMigrationMetadata",
    "WorkbookNotFoundError",
    "WorkbookValueError",
    "default_path",
    "load_talent_migration",
    "locate_workbook",
    "resolve_path",
    "sha256_of",
]
