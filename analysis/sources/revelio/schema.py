"""The input contract as data: tables, their file names, columns, types and aliases.

One alias map absorbs both schema families (versioned names such as
``role_k1500_v2`` and ``skill_k35000``, unversioned ones such as ``role_k1500`` and
``skill_mapped``) and the older company-name columns. See
``../shared/docs/revelio-input-contract.md`` for the contract itself.

Examples
--------
>>> from analysis.sources.revelio.schema import TABLES
>>> TABLES["positions"].key
'position_id'
>>> TABLES["skills"].columns["skill_mapped"].aliases
('skill_k35000',)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "int", "float", "date", "str", "country"]

#: DuckDB type of each column kind after normalisation.
DUCKDB_TYPE: dict[str, str] = {
    "id": "BIGINT",
    "int": "INTEGER",
    "float": "DOUBLE",
    "date": "DATE",
    "str": "VARCHAR",
    "country": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    Attributes
    ----------
    kind
        How the raw value is parsed (``id`` columns must be integral, ``country``
        columns are normalised to ISO3 and the raw name is kept as ``<name>_raw``).
    required
        A required column missing from a part file is a fatal error; an optional
        one is added as all-missing.
    aliases
        Other names the column has in other schema families, in order of preference.
    nullable
        Whether a missing value is allowed (a missing key is fatal, a missing
        ``startdate`` quarantines the row).
    month_level
        For dates: truncate to the first of the month (spell dates are month-level;
        the snapshot date ``updated_dt`` is not).
    """

    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    nullable: bool = True
    month_level: bool = True


@dataclass(frozen=True)
class Table:
    """One table of a delivery."""

    name: str
    file_stems: tuple[str, ...]
    columns: dict[str, Column]
    key: str | None = None
    foreign_user: bool = True
    id_columns: tuple[str, ...] = field(default=())

    @property
    def required(self) -> list[str]:
        return [c for c, spec in self.columns.items() if spec.required]


USERS = Table(
    name="users",
    file_stems=("individual_user", "individual_users", "academic_individual_user"),
    key="user_id",
    foreign_user=False,
    columns={
        "user_id": Column("id", required=True, nullable=False),
        "sex_predicted": Column("str"),
        "f_prob": Column("float"),
        "highest_degree": Column("str"),
        "user_country": Column("country"),
        "updated_dt": Column("date", month_level=False),
    },
)

POSITIONS = Table(
    name="positions",
    file_stems=(
        "individual_positions",
        "individual_position",
        "academic_individual_position",
        "academic_individual_positions",
    ),
    key="position_id",
    columns={
        "user_id": Column("id", required=True, nullable=False),
        "position_id": Column("id", required=True, nullable=False),
        "rcid": Column("id"),
        "company": Column("str", aliases=("company_name", "company_cleaned")),
        "startdate": Column("date", required=True, nullable=False),
        "enddate": Column("date", required=True),
        "country": Column("country", required=True),
        "state": Column("str"),
        "metro_area": Column("str"),
        "role_k1500": Column("str", aliases=("role_k1500_v2",)),
        "role_k17000_v3": Column("str"),
        "job_category": Column("str"),
        "seniority": Column("int"),
        "salary": Column("float", required=True),
        "total_compensation": Column("float"),
        "weight": Column("float"),
        "position_number": Column("int"),
    },
)

EDUCATION = Table(
    name="education",
    file_stems=(
        "individual_user_education",
        "individual_user_educations",
        "academic_individual_user_education",
    ),
    columns={
        "user_id": Column("id", required=True, nullable=False),
        "education_number": Column("int"),
        "university_name": Column("str"),
        "university_country": Column("country", required=True),
        "degree": Column("str", required=True),
        "field": Column("str"),
        "startdate": Column("date"),
        "enddate": Column("date"),
    },
)

SKILLS = Table(
    name="skills",
    file_stems=(
        "individual_user_skills",
        "individual_user_skill",
        "academic_individual_user_skill",
        "academic_individual_user_skills",
    ),
    columns={
        "user_id": Column("id", required=True, nullable=False),
        "skill_raw": Column("str", required=True, nullable=False),
        "skill_mapped": Column("str", aliases=("skill_k35000",)),
        "skill_source": Column("str"),
        "first_reported": Column("date"),
    },
)

#: The four tables, in the order they are read (users first: others refer to it).
TABLES: dict[str, Table] = {t.name: t for t in (USERS, POSITIONS, EDUCATION, SKILLS)}

#: Columns that the reader adds to every row, for tracing it back to its file.
LINEAGE_COLUMNS: tuple[str, str] = ("source_file", "source_row")

#: Versioned names that mark the newer schema family.
VERSIONED_NAMES: frozenset[str] = frozenset({"role_k1500_v2", "role_k17000_v3", "skill_k35000"})
