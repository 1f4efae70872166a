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

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.io import sha256_file as sha256_of
from analysis.sources.countries import names_to_iso3

__all__ = [
    "CATALOG",
    "FILENAME",
    "INCOME_GROUPS",
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

FILENAME: str = "worldbank-linkedin-talent-migration-2015-2019.xlsx"
"""File name of the workbook in the shared data folder."""

SHA256: str = "fb7f1d7300d906ec7cc2d224aa4a3c501820f08ed6271f394553c1f5cf1a953c"
"""SHA-256 of the workbook this module was written against."""

CATALOG: str = (
    'World Bank data catalog dataset 0038044, "Digital Data for Development: Talent Migration"'
    " (https://datacatalog.worldbank.org/search/dataset/0038044; also linkedindata.worldbank.org)"
)
"""Where to download the workbook."""

LICENCE: str = "CC BY 3.0 IGO"
ATTRIBUTION: str = (
    '"World Bank LinkedIn Digital Data for Development: Talent Migration" by the World Bank '
    "Group and LinkedIn Corporation, licensed under CC BY 3.0 IGO"
)

YEARS: tuple[int, ...] = (2015, 2016, 2017, 2018, 2019)
"""Years the workbook must hold (one ``net_per_10K_YYYY`` column each)."""

SHEETS: dict[str, str] = {
    "skill_migration": "Skill Migration",
    "industry_migration": "Industry Migration",
    "country_migration": "Country Migration",
}
"""Tidy table name -> sheet name in the workbook."""

VALUE_COLUMNS: dict[str, str] = {
    "skill_migration": "net_per_10k_skill_members",
    "industry_migration": "net_per_10k_industry_members",
    "country_migration": "net_per_10k_base_members",
}
"""Tidy table name -> name of its value column (named after the denominator)."""

NORMALISATION: dict[str, str] = {
    "skill_migration": (
        "Net migration (arrivals minus departures) of LinkedIn members holding a skill of the "
        "skill group, divided by the number of LinkedIn members with that skill in the country, "
        "times 10,000 (workbook sheet 'Notes', item 3)."
    ),
    "industry_migration": (
        "Net migration of LinkedIn members working in the industry (the industry of the "
        "member's company at the time of migration), divided by the number of LinkedIn "
        "members working in that industry in the country, times 10,000 (sheet 'Notes', item 2)."
    ),
    "country_migration": (
        "Net gain (+) or loss (-) of LinkedIn members of the base country to or from the target "
        "country, divided by the average LinkedIn membership of the base country over the "
        "period, times 10,000 (sheet 'Notes', item 1; 'Variable List': 'with respect to "
        "base_country'). The same pair seen from the other side is divided by the other "
        "country's membership, so the two views have opposite signs but different sizes."
    ),
}
"""How each table's value is normalised, from the workbook's own notes."""

CAVEATS: tuple[str, ...] = (
    "Migration is inferred from a change of the location on a member's LinkedIn profile; "
    "LinkedIn covers white-collar, knowledge-intensive work best.",
    "LinkedIn reports a cell only with at least 50 observations: bilateral pairs with small "
    "flows are absent, so the pairs present are selected on the size of the flow.",
    "The workbook's notes say the metrics are 'calculated on an annual basis' and that an "
    "average of the last three years is reported; the yearly columns are read here as the "
    "values for the year in their name, as the 'Variable List' sheet defines them.",
    "Countries are those with 100,000+ LinkedIn members; income groups and regions are the "
    "World Bank classification current when the file was made.",
)

INCOME_GROUPS: tuple[str, ...] = (
    "Low income",
    "Lower middle income",
    "Upper middle income",
    "High income",
)
"""World Bank income groups, poorest first (the order of the categorical dtype)."""

_YEAR_COLUMN = re.compile(r"^net_per_10k_(\d{4})$")


def _year_columns(years: Iterable[int]) -> list[str]:
    return [f"net_per_10K_{year}" for year in years]


# Columns each sheet must have, spelled as in the workbook (matched ignoring case and
# surrounding spaces), and the tidy name each one gets.
_COUNTRY_SIDE = {
    "country_code": "iso2",
    "country_name": "name",
    "lat": "lat",
    "long": "lon",
    "country_wb_income": "income_group",
    "country_wb_region": "region",
}
_RENAMES: dict[str, dict[str, str]] = {
    "skill_migration": {
        "country_code": "iso2",
        "country_name": "country_name",
        "wb_income": "income_group",
        "wb_region": "region",
        "skill_group_id": "skill_group_id",
        "skill_group_category": "skill_group_category",
        "skill_group_name": "skill_group_name",
    },
    "industry_migration": {
        "country_code": "iso2",
        "country_name": "country_name",
        "wb_income": "income_group",
        "wb_region": "region",
        "isic_section_index": "isic_section",
        "isic_section_name": "isic_section_name",
        "industry_id": "industry_id",
        "industry_name": "industry_name",
    },
    "country_migration": {
        **{f"base_{k}": f"base_{v}" for k, v in _COUNTRY_SIDE.items()},
        **{f"target_{k}": f"target_{v}" for k, v in _COUNTRY_SIDE.items()},
    },
}
_KEYS: dict[str, tuple[str, ...]] = {
    "skill_migration": ("iso3", "skill_group_id", "year"),
    "industry_migration": ("iso3", "industry_id", "year"),
    "country_migration": ("base_iso3", "target_iso3", "year"),
}
_NUMERIC: dict[str, tuple[str, ...]] = {
    "skill_migration": ("skill_group_id",),
    "industry_migration": ("industry_id",),
    "country_migration": ("base_lat", "base_lon", "target_lat", "target_lon"),
}
_COUNTRY_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    # (iso2 column, name column) pairs that get an ISO3 column
    "skill_migration": (("iso2", "country_name"),),
    "industry_migration": (("iso2", "country_name"),),
    "country_migration": (("base_iso2", "base_name"), ("target_iso2", "target_name")),
}


# --------------------------------------------------------------------------- errors
class TalentMigrationError(ValueError):
    """The talent-migration workbook cannot be found, verified or read.

    Every message names the file and, where it applies, the sheet and the column.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(message)


class WorkbookNotFoundError(TalentMigrationError):
    """No workbook at the resolved path; the message says where to download it."""


class ChecksumMismatchError(TalentMigrationError):
    """The workbook's SHA-256 is not :data:`SHA256`."""

    def __init__(self, path: str | Path, expected: str, got: str) -> None:
        self.expected = expected
        self.got = got
        super().__init__(
            f"{path}: SHA-256 mismatch: expected {expected}, got {got}. This is not the "
            f"workbook this package was written against (download it again from {CATALOG}), "
            "or pass verify=False to read another release at your own risk.",
            path=path,
        )


class SheetMissingError(TalentMigrationError):
    """A data sheet is not in the workbook."""

    def __init__(self, path: str | Path, sheet: str, found: Sequence[str]) -> None:
        self.sheet = sheet
        self.found = list(found)
        super().__init__(
            f"{path}: sheet {sheet!r} not found; the workbook has sheets {self.found}",
            path=path,
        )


class ColumnMissingError(TalentMigrationError):
    """A sheet lacks a column the loader needs (renamed or deleted)."""

    def __init__(
        self, path: str | Path, sheet: str, missing: Sequence[str], found: Sequence[str]
    ) -> None:
        self.sheet = sheet
        self.missing = list(missing)
        self.found = list(found)
        super().__init__(
            f"{path}: sheet {sheet!r}: expected column(s) {self.missing} not found "
            f"(matched ignoring case and surrounding spaces); the sheet has columns {self.found}",
            path=path,
        )


class WorkbookValueError(TalentMigrationError):
    """A cell holds something the loader cannot use (text in a number column, a duplicate
    key, a country code that maps to no ISO3 code)."""


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class TalentMigrationMetadata:
    """Provenance of a loaded workbook.

    Attributes
    ----------
    path
        File that was read.
    sha256
        Its SHA-256 (computed whether or not it was verified).
    verified
        Whether the SHA-256 was checked against :data:`SHA256`.
    years
        Years found in the sheets.
    sheets, value_columns, normalisation
        Per tidy table: the sheet it comes from, the name of its value column and how
        that value is normalised.
    source, licence, attribution, caveats
        What to cite and what to keep in mind.
    """

    path: Path
    sha256: str
    verified: bool
    years: tuple[int, ...]
    sheets: dict[str, str] = field(default_factory=lambda: dict(SHEETS))
    value_columns: dict[str, str] = field(default_factory=lambda: dict(VALUE_COLUMNS))
    normalisation: dict[str, str] = field(default_factory=lambda: dict(NORMALISATION))
    source: str = CATALOG
    licence: str = LICENCE
    attribution: str = ATTRIBUTION
    caveats: tuple[str, ...] = CAVEATS


@dataclass(frozen=True)
class TalentMigration:
    """The three tidy tables of the workbook and where they came from.

    Attributes
    ----------
    skill_migration
        One row per country x skill group x year: ``iso3, iso2, country_name,
        income_group, region, skill_group_id, skill_group_category, skill_group_name,
        year, net_per_10k_skill_members``.
    industry_migration
        One row per country x industry x year: ``iso3, iso2, country_name, income_group,
        region, isic_section, isic_section_name, industry_id, industry_name, year,
        net_per_10k_industry_members``.
    country_migration
        One row per base country x target country x year: ``base_iso3, base_iso2,
        base_name, base_lat, base_lon, base_income_group, base_region`` and the same for
        ``target_``, then ``year, net_per_10k_base_members``. Latitude and longitude are
        the workbook's country coordinates (centroids, not capitals).
    metadata
        :class:`TalentMigrationMetadata`.

    ``income_group`` columns are ordered categoricals over :data:`INCOME_GROUPS` (the
    sheets spell them with different capitalisation); ``year`` is ``int64``.
    """

    skill_migration: pd.DataFrame
    industry_migration: pd.DataFrame
    country_migration: pd.DataFrame
    metadata: TalentMigrationMetadata

    def countries(self) -> pd.DataFrame:
        """One row per country in any sheet: ``iso3, iso2, name, income_group, region, lat,
        lon`` (coordinates from the country sheet, missing for countries only in others)."""
        sides = [
            self.country_migration[[f"{side}_{c}" for c in _COUNTRY_TABLE]].set_axis(
                list(_COUNTRY_TABLE), axis=1
            )
            for side in ("base", "target")
        ]
        others = [
            table[["iso3", "iso2", "country_name", "income_group", "region"]].rename(
                columns={"country_name": "name"}
            )
            for table in (self.skill_migration, self.industry_migration)
        ]
        table = pd.concat([*sides, *others], ignore_index=True)
        table = table.sort_values(["iso3", "lat"], na_position="last")
        return table.drop_duplicates("iso3").sort_values("iso3").reset_index(drop=True)


_COUNTRY_TABLE = ("iso3", "iso2", "name", "income_group", "region", "lat", "lon")


# --------------------------------------------------------------------------- paths
def default_path() -> Path:
    """``<config.SHARED_DIR>/data/<FILENAME>`` (read at call time)."""
    return Path(config.SHARED_DIR) / "data" / FILENAME


def resolve_path(path: str | Path | None = None) -> tuple[Path, str]:
    """Where to read the workbook from, and why.

    Parameters
    ----------
    path
        Explicit path; wins over everything.

    Returns
    -------
    (Path, str)
        The path and how it was chosen (``"argument"``, ``"$WORLDBANK_..."`` or
        ``"default"``). The path may not exist.
    """
    if path is not None:
        return Path(path).expanduser(), "argument"
    env = os.environ.get(config.WORLDBANK_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser(), f"environment variable {config.WORLDBANK_ENV_VAR}"
    return default_path(), "default location (config.SHARED_DIR / 'data')"


def locate_workbook(path: str | Path | None = None, *, verify: bool = True) -> tuple[Path, str]:
    """Find the workbook and check its SHA-256, without parsing it.

    These are the checks :func:`load_talent_migration` makes before it reads a sheet; a
    caller that only needs to know whether the workbook can be used (the report stage)
    runs them alone, in milliseconds. A file that passes with ``verify`` is byte-identical
    to the one the loader is tested against.

    Parameters
    ----------
    path
        Explicit path (else :func:`resolve_path`'s environment variable or default).
    verify
        Check the SHA-256 against :data:`SHA256`.

    Returns
    -------
    (Path, str)
        The resolved path and the file's SHA-256.

    Raises
    ------
    WorkbookNotFoundError
        No file there (the message says where to download it and how to point to it).
    ChecksumMismatchError
        ``verify`` and the SHA-256 differs.
    """
    resolved, how = resolve_path(path)
    if not resolved.is_file():
        raise WorkbookNotFoundError(
            f"talent-migration workbook not found at {resolved} (path from {how}). "
            f"Download the World Bank Group-LinkedIn workbook ({FILENAME}) from {CATALOG}, "
            f"then pass its path or set the environment variable {config.WORLDBANK_ENV_VAR} "
            f"to it (e.g. export {config.WORLDBANK_ENV_VAR}=/path/to/{FILENAME}).",
            path=resolved,
        )
    digest = sha256_of(resolved)
    if verify and digest != SHA256:
        raise ChecksumMismatchError(resolved, SHA256, digest)
    return resolved, digest


# --------------------------------------------------------------------------- reading
def _norm(name: object) -> str:
    return str(name).strip().lower()


def _select_columns(
    raw: pd.DataFrame, table: str, sheet: str, path: Path
) -> tuple[pd.DataFrame, list[int]]:
    """Rename the needed columns to their tidy names; find the year columns."""
    found = [str(c) for c in raw.columns if not str(c).startswith("Unnamed:")]
    by_norm = {_norm(c): c for c in raw.columns}
    expected = [*_RENAMES[table], *_year_columns(YEARS)]
    missing = [c for c in expected if _norm(c) not in by_norm]
    if missing:
        raise ColumnMissingError(path, sheet, missing, found)
    years = sorted(int(m.group(1)) for c in by_norm if (m := _YEAR_COLUMN.match(c)) is not None)
    rename = {by_norm[_norm(k)]: v for k, v in _RENAMES[table].items()}
    rename.update({by_norm[f"net_per_10k_{y}"]: y for y in years})
    return raw[list(rename)].rename(columns=rename), years


def _to_numbers(frame: pd.DataFrame, columns: Iterable, sheet: str, path: Path) -> None:
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            rows = [str(i + 2) for i in frame.index[bad][:10]]
            label = f"net_per_10K_{column}" if isinstance(column, int) else column
            raise WorkbookValueError(
                f"{path}: sheet {sheet!r}: column {label!r} holds non-numbers in "
                f"spreadsheet row(s) {', '.join(rows)}",
                path=path,
            )
        frame[column] = values.astype("float64")


def _income_groups(values: pd.Series, sheet: str, path: Path) -> pd.Series:
    lookup = {g.lower(): g for g in INCOME_GROUPS}
    text = values.astype("string").str.strip().str.lower()
    unknown = sorted(set(text.dropna()) - set(lookup))
    if unknown:
        raise WorkbookValueError(
            f"{path}: sheet {sheet!r}: unknown World Bank income group(s) {unknown}; "
            f"expected one of {list(INCOME_GROUPS)} (any capitalisation)",
            path=path,
        )
    dtype = pd.CategoricalDtype(list(INCOME_GROUPS), ordered=True)
    return text.map(lookup).astype(dtype)


def _iso3_codes(codes: pd.Series, names: pd.Series, sheet: str, path: Path) -> dict[str, str]:
    """Map the workbook's 2-letter codes to ISO3, cross-checked against the names."""
    import country_converter as coco  # imported lazily (slow), as in countries.py

    pairs = (
        pd.DataFrame({"code": codes.astype(str).str.strip(), "name": names.astype(str)})
        .drop_duplicates()
        .reset_index(drop=True)
    )
    from_code = coco.CountryConverter().convert(
        pairs["code"].str.upper().tolist(), src="ISO2", to="ISO3", not_found=None
    )
    if isinstance(from_code, str):
        from_code = [from_code]
    from_name = names_to_iso3(pairs["name"])
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    disagree: list[str] = []
    for code, name, iso3 in zip(pairs["code"], pairs["name"], from_code, strict=True):
        by_name = from_name.get(name)
        by_code = iso3 if isinstance(iso3, str) and len(iso3) == 3 else None
        if by_code and by_name and by_code != by_name:
            disagree.append(f"{code!r} -> {by_code} but {name!r} -> {by_name}")
        chosen = by_code or by_name
        if chosen is None:
            unmapped.append(f"{code!r} ({name})")
        elif mapping.setdefault(code, chosen) != chosen:
            disagree.append(f"{code!r} used for two countries")
    if unmapped:
        raise WorkbookValueError(
            f"{path}: sheet {sheet!r}: country code(s) with no ISO3 equivalent (neither the "
            f"code nor the name matched): {', '.join(unmapped)}",
            path=path,
        )
    if disagree:
        warnings.warn(
            f"{path}: sheet {sheet!r}: country code and name disagree (the code is used): "
            + "; ".join(disagree),
            stacklevel=4,
        )
    return mapping


def _tidy_sheet(raw: pd.DataFrame, table: str, sheet: str, path: Path) -> pd.DataFrame:
    frame, years = _select_columns(raw, table, sheet, path)
    frame = frame.dropna(how="all").copy()
    _to_numbers(frame, [*_NUMERIC[table], *years], sheet, path)
    for code_col, name_col in _COUNTRY_COLUMNS[table]:
        if frame[code_col].isna().any():
            rows = [str(i + 2) for i in frame.index[frame[code_col].isna()][:10]]
            raise WorkbookValueError(
                f"{path}: sheet {sheet!r}: empty country code in row(s) {', '.join(rows)}",
                path=path,
            )
        frame[code_col] = frame[code_col].astype(str).str.strip()
        mapping = _iso3_codes(frame[code_col], frame[name_col], sheet, path)
        iso3_col = code_col.replace("iso2", "iso3")
        frame[iso3_col] = frame[code_col].map(mapping)
        frame[code_col] = frame[code_col].str.upper()
    for column in [c for c in frame.columns if str(c).endswith("income_group")]:
        frame[column] = _income_groups(frame[column], sheet, path)
    for column in ("skill_group_id", "industry_id"):
        if column in frame:
            if frame[column].isna().any():
                rows = [str(i + 2) for i in frame.index[frame[column].isna()][:10]]
                raise WorkbookValueError(
                    f"{path}: sheet {sheet!r}: empty {column!r} in row(s) {', '.join(rows)}",
                    path=path,
                )
            frame[column] = frame[column].astype("int64")
    ids = [c for c in frame.columns if c not in years]
    value = VALUE_COLUMNS[table]
    long = frame.melt(id_vars=ids, value_vars=years, var_name="year", value_name=value)
    long["year"] = long["year"].astype("int64")
    keys = list(_KEYS[table])
    duplicated = long.duplicated(keys, keep=False)
    if duplicated.any():
        sample = long.loc[duplicated, keys].drop_duplicates().head(5).to_dict("records")
        raise WorkbookValueError(
            f"{path}: sheet {sheet!r}: duplicate keys {keys}: {sample}", path=path
        )
    order = _column_order(table)
    return long[order].sort_values(keys, ignore_index=True)


def _column_order(table: str) -> list[str]:
    value = VALUE_COLUMNS[table]
    if table == "country_migration":
        side = ["iso3", "iso2", "name", "lat", "lon", "income_group", "region"]
        return [
            *(f"base_{c}" for c in side),
            *(f"target_{c}" for c in side),
            "year",
            value,
        ]
    head = ["iso3", "iso2", "country_name", "income_group", "region"]
    middle = [v for v in _RENAMES[table].values() if v not in head]
    return [*head, *middle, "year", value]


def load_talent_migration(
    path: str | Path | None = None, *, verify: bool = True
) -> TalentMigration:
    """Load the World Bank-LinkedIn talent-migration workbook into tidy tables.

    Parameters
    ----------
    path
        The ``.xlsx`` file. Default: ``$WORLDBANK_TALENT_MIGRATION_XLSX`` if set, else
        ``config.SHARED_DIR / "data" / FILENAME``.
    verify
        Check the file's SHA-256 against :data:`SHA256` (default). Pass ``False`` to read
        another release of the same layout.

    Returns
    -------
    TalentMigration
        ``skill_migration``, ``industry_migration``, ``country_migration`` and
        ``metadata``.

    Raises
    ------
    WorkbookNotFoundError
        No file at the path (the message says where to download it and which
        environment variable to set).
    ChecksumMismatchError
        ``verify`` and the SHA-256 differs (expected and actual digests in the message).
    SheetMissingError, ColumnMissingError
        A sheet or a column is missing (named, with what was found instead).
    WorkbookValueError
        A cell cannot be used (text in a number column, duplicate keys, unknown code).

    Examples
    --------
    >>> tm = load_talent_migration()  # doctest: +SKIP
    >>> tm.metadata.value_columns["country_migration"]  # doctest: +SKIP
    'net_per_10k_base_members'
    """
    resolved, digest = locate_workbook(path, verify=verify)
    try:
        workbook = pd.ExcelFile(resolved, engine="openpyxl")
    except Exception as exc:  # zip/xml errors: not an xlsx file at all
        raise TalentMigrationError(
            f"{resolved}: cannot be opened as an .xlsx workbook: {exc}", path=resolved
        ) from exc
    tables: dict[str, pd.DataFrame] = {}
    all_years: set[int] = set()
    with workbook:
        names = list(workbook.sheet_names)
        for sheet in SHEETS.values():
            if sheet not in names:
                raise SheetMissingError(resolved, sheet, names)
        for table, sheet in SHEETS.items():
            # "NA" is Namibia's code, not a missing value: only empty cells are missing.
            raw = workbook.parse(sheet, keep_default_na=False, na_values=[""])
            tables[table] = _tidy_sheet(raw, table, sheet, resolved)
            all_years.update(int(y) for y in tables[table]["year"].unique())
    metadata = TalentMigrationMetadata(
        path=resolved, sha256=digest, verified=verify, years=tuple(sorted(all_years))
    )
    return TalentMigration(**tables, metadata=metadata)
