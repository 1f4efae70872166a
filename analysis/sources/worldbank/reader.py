"""Read the workbook's three data sheets into tidy tables with ISO3 codes."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.sources.countries import names_to_iso3
from analysis.sources.worldbank.discover import locate_workbook
from analysis.sources.worldbank.errors import (
    ColumnMissingError,
    SheetMissingError,
    TalentMigrationError,
    WorkbookValueError,
)
from analysis.sources.worldbank.schema import (
    _COUNTRY_COLUMNS,
    _COUNTRY_TABLE,
    _KEYS,
    _NUMERIC,
    _RENAMES,
    _YEAR_COLUMN,
    ATTRIBUTION,
    CATALOG,
    CAVEATS,
    INCOME_GROUPS,
    LICENCE,
    NORMALISATION,
    SHEETS,
    VALUE_COLUMNS,
    YEARS,
    _year_columns,
)


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
