"""Read a Revelio-style delivery into typed, validated tables, lazily, on DuckDB.

The reader never loads a table into memory to check it. Each table becomes a
chain of DuckDB views over its part files::

    <table>_raw    the part files, aliases resolved to canonical names, with
                   ``source_file`` and ``source_row`` for every row
    <table>_typed  values parsed to the contract's types; country names mapped
                   to ISO3 (raw name kept as ``<column>_raw``); for every row
                   the list of problems it has (``_reasons``)
    <table>        the rows without problems: what later stages read
    quarantine     every row set aside, with its reasons and its raw values

Validation runs as streaming SQL aggregates over those views. Problems that make
the delivery unusable (a missing table or column, an unreadable file, a key that
is missing, non-integral or duplicated) raise a :class:`DeliveryError` naming
file, table, column and example rows. Problems confined to a row (an end before
the start, a salary or weight that is not positive, a seniority outside 1..7, an
unknown country, a value outside its plausibility bound in
:data:`analysis.config.PLAUSIBILITY_BOUNDS`, ...) send the row to quarantine and
are counted in the ledger. Every query over the files goes through one guard, so a
file that fails only when its data pages are read (a corrupt page, a ragged CSV row
far into the file) is also named, when the reader validates it or later, when
:meth:`Delivery.write_parquet`, :meth:`Delivery.to_pandas`,
:meth:`Delivery.quarantine` or :meth:`Delivery.query` read it.

Examples
--------
>>> from analysis.sources.revelio import read_delivery
>>> delivery = read_delivery("path/to/delivery")          # doctest: +SKIP
>>> delivery.relation("positions").limit(3).df()          # doctest: +SKIP
>>> delivery.ledger.to_frame()                            # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import config
from analysis.ledger import Ledger
from analysis.sources.countries import names_to_iso3
from analysis.sources.revelio.discover import TableFiles, discover_tables
from analysis.sources.revelio.errors import (
    DeliveryError,
    EmptyTableError,
    KeyIntegrityError,
    MissingColumnError,
    UnreadableFileError,
)
from analysis.sources.revelio.schema import DUCKDB_TYPE, TABLES, VERSIONED_NAMES, Column, Table
from analysis.sql import identifier, literal

_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_MAX_EXAMPLES = 5
#: Largest integer a double holds exactly (2**53): ids beyond it cannot come from floats.
_EXACT_DOUBLE = "9.007199254740992e15"
_STAGE = "read"
#: Field separators a CSV header may use; the contract's is the comma.
_CSV_DELIMITERS = (",", "\t", ";", "|")
#: Bytes at the start of a CSV file checked for UTF-8 before DuckDB reads it.
_CSV_SAMPLE_BYTES = 1 << 20
#: DuckDB errors that say nothing about the files (memory, Ctrl-C): passed on as they are.
_NOT_FILE_ERRORS = (duckdb.OutOfMemoryException, duckdb.InterruptException)
#: Longest line of a DuckDB message kept in an error (an "Original Line" can be long).
_MESSAGE_LINE = 300
#: The delivery's optional description of itself (the synthetic world writes one).
MANIFEST_NAME = "manifest.json"
#: Compressed bytes inflated at a time when checking a gzip file (at most ~64 MB out).
_GZIP_CHUNK = 1 << 16

_T = TypeVar("_T")
#: DuckDB's type of a time-zone-aware timestamp (parquet ``isAdjustedToUTC``).
_TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
#: A fixed UTC offset as Arrow writes it for a zone given as an offset ("+09:00").
_UTC_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _glob_literal(path: str | Path) -> str:
    """``path`` as a DuckDB file pattern that matches this one file only.

    DuckDB expands ``*``, ``?`` and ``[...]`` in every file name it is given, lists
    of names included, and has no setting to turn that off: a part file named
    ``part_[0].parquet`` would read ``part_0.parquet`` in its place, and one named
    ``part_*.parquet`` every part. Each of the three characters is put in a class of
    its own (``[*]``, ``[?]``, ``[[]``), which matches just that character.

    Examples
    --------
    >>> _glob_literal("t/part_[0]*.parquet")
    't/part_[[]0][*].parquet'
    """
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in str(path))


def _path_lit(path: str | Path) -> str:
    """A SQL literal naming exactly the file ``path`` (no glob expansion)."""
    return literal(_glob_literal(path))


def _file_list(files: tuple[Path, ...] | list[Path]) -> str:
    return "[" + ", ".join(_path_lit(f) for f in files) + "]"


# --------------------------------------------------------------------------- manifest
def read_delivery_manifest(root: str | Path) -> dict[str, Any] | None:
    """The delivery's ``manifest.json`` as a dict, or ``None`` when it has none.

    Parameters
    ----------
    root
        The delivery folder.

    Raises
    ------
    UnreadableFileError
        If the file cannot be read, is not UTF-8, is not JSON, or holds a JSON
        value other than an object; the message names the file.
    """
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise UnreadableFileError(
            f"delivery manifest {path} cannot be read: {exc}", files=[path]
        ) from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            f"delivery manifest {path} is not valid JSON: it is not UTF-8 text ({exc})",
            files=[path],
        ) from exc
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(
            f"delivery manifest {path} is not valid JSON: {exc}", files=[path]
        ) from exc
    if not isinstance(content, dict):
        raise UnreadableFileError(
            f"delivery manifest {path} is not a JSON object (it holds a {type(content).__name__})",
            files=[path],
            hint="fix or remove it: the part files are read without it",
        )
    return content


# --------------------------------------------------------------------------- read errors
def _duckdb_message(exc: BaseException) -> str:
    """The informative part of a DuckDB error, on one line.

    A DuckDB read error states the problem on its first lines (the CSV line, the
    original text, "This file is not utf-8 encoded", ...), then suggests options of
    its own and lists the CSV dialect it detected: the first part is kept, the rest
    dropped. Control characters (a corrupt page can put some in the message) are
    shown escaped.
    """
    kept = []
    for line in str(exc).splitlines():
        if line.startswith("Possible ") or re.match(r"\s+\w[\w ]* = ", line):
            break
        line = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line.strip())
        if line:
            kept.append(line if len(line) <= _MESSAGE_LINE else line[:_MESSAGE_LINE] + "...")
    text = "; ".join(kept) or type(exc).__name__
    if "not utf-8 encoded" in text.lower() or "invalid unicode" in text.lower():
        text = (
            "file is not UTF-8 encoded (re-encode it as UTF-8, e.g. from latin-1 or cp949); " + text
        )
    return text


def _gzip_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete gzip file, or ``None`` when it is one.

    DuckDB reads a gzip file that was cut short up to the cut and stops without an
    error, so a truncated ``.csv.gz`` would silently lose its last rows (or end in
    a half row). The whole file is inflated here, the output thrown away, and each
    member's end-of-stream marker and checksum verified (a file may hold several
    gzip members one after the other; zero bytes after the last are padding).
    """
    inflate = zlib.decompressobj(wbits=31)
    fed = False  # whether the current member has received any bytes
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_GZIP_CHUNK):
                while chunk:
                    if not fed and not chunk.strip(b"\0"):
                        break  # padding between or after members
                    fed = True
                    inflate.decompress(chunk)
                    chunk = b""
                    if inflate.eof:
                        chunk = inflate.unused_data  # the next member, if any
                        inflate = zlib.decompressobj(wbits=31)
                        fed = False
    except zlib.error as exc:
        return f"file is not valid gzip ({exc})"
    if fed:
        return "file is truncated: the gzip stream ends before its end-of-stream marker"
    return None


class _CsvHeaderError(ValueError):
    """The first line of a CSV file cannot serve as its header."""


def _csv_header(path: Path) -> tuple[str, list[str]]:
    """The field separator and the column names, from the first line of a CSV file.

    The separator is the comma unless the header holds more tabs, semicolons or
    pipes than commas. The first megabyte is checked to be UTF-8 on the way: DuckDB
    checks the encoding only of the columns a query reads, so a latin-1 or cp949
    file would otherwise fail late, or not at all where the odd bytes sit in a
    column nothing reads.

    Raises
    ------
    _CsvHeaderError
        If the start of the file is not UTF-8, or its first line is blank or names
        a column twice.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        sample = handle.read(_CSV_SAMPLE_BYTES)
    try:
        # not final: the sample may end inside a multi-byte character
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        line = sample.count(b"\n", 0, exc.start) + 1
        raise _CsvHeaderError(
            f"file is not UTF-8 encoded: byte 0x{sample[exc.start]:02x} on line {line} is not "
            "UTF-8; re-encode the file as UTF-8 (from latin-1, cp949, ...)"
        ) from exc
    text = text.split("\n", 1)[0].rstrip("\r")
    delimiter = max(_CSV_DELIMITERS, key=text.count)
    delimiter = delimiter if text.count(delimiter) else ","
    names = [n.strip() for n in next(csv.reader([text], delimiter=delimiter), [])]
    # a blank name gets DuckDB's name for it (column0, column1, ...)
    names = [n or f"column{i}" for i, n in enumerate(names)] if any(names) else []
    if not names:
        raise _CsvHeaderError("the first line, which must be the header, is blank")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _CsvHeaderError(f"the header names column(s) {', '.join(repeated)} twice")
    return delimiter, names


def _csv_scan(path: Path, header: tuple[str, list[str]]) -> str:
    """SQL reading a CSV file with the given header: every value as text.

    DuckDB's dialect sniffer is not used: it looks for the longest run of rows with
    one number of fields and, when a row near the top has another, skips the header
    and takes a later row for it (a ragged row then reads as "required column ... is
    missing", or as a table of the wrong rows). With the header's columns given and
    detection off, every row must have the header's number of fields, and a row that
    does not fails the read with its line number.
    """
    delimiter, names = header
    columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
    return (
        f"read_csv({_path_lit(path)}, auto_detect=false, header=true, delim={literal(delimiter)}, "
        f"quote='\"', escape='\"', columns={columns})"
    )


def _scan_one(fmt: str, path: Path) -> str:
    """SQL reading one part file, as the raw views read it."""
    if fmt == "parquet":
        return f"read_parquet({_path_lit(path)})"
    return _csv_scan(path, _csv_header(path))


def _probe(con: duckdb.DuckDBPyConnection, fmt: str, path: Path) -> BaseException | None:
    """Read every value of one file (hashing whole rows); the error it raises, if any."""
    try:
        con.sql(
            f"SELECT count(*) FROM {_scan_one(fmt, path)} AS t WHERE hash(t) IS NOT NULL"
        ).fetchall()
    except _NOT_FILE_ERRORS:
        raise
    except (duckdb.Error, _CsvHeaderError, OSError) as exc:
        return exc
    return None


def _names_file(text: str, path: Path) -> bool:
    """Whether a DuckDB message names ``path`` (as given or as the escaped pattern)."""
    return any(
        re.search(re.escape(name) + r"(?![\w.\-\[\]])", text)
        for name in (str(path), _glob_literal(path))
    )


def _read_failure(
    con: duckdb.DuckDBPyConnection,
    exc: duckdb.Error,
    root: Path,
    files: dict[str, TableFiles],
    table: str | None,
) -> UnreadableFileError:
    """A named error for a failed query over the delivery's files.

    The file at fault is the one DuckDB's message names; when it names none (a
    corrupt parquet page often does not), each file is read on its own, those of
    ``table`` first, and the first that fails is named with its own error.
    """
    order = sorted(files, key=lambda t: t != table)  # the table at hand first
    culprit: tuple[str, Path] | None = None
    cause: BaseException = exc
    text = str(exc)
    named = [(t, f) for t in order for f in files[t].files if _names_file(text, f)]
    if named:
        culprit = named[0]
    else:
        for t in order:
            for f in files[t].files:
                error = _probe(con, files[t].format, f)
                if error is not None:
                    culprit, cause = (t, f), error
                    break
            if culprit:
                break
    if culprit is not None:
        t, f = culprit
        fmt = files[t].format
        return UnreadableFileError(
            f"cannot read {fmt} file {f.relative_to(root).as_posix()} of table "
            f"'{t}': {_duckdb_message(cause)}",
            table=t,
            files=[f],
            hint=(
                "the file's footer and schema read, its data pages do not: it is corrupt "
                "or incomplete; fetch or export it again"
                if fmt == "parquet"
                else None
            ),
        )
    what = f"table '{table}'" if table else f"delivery {root}"
    return UnreadableFileError(
        f"cannot read {what}: {_duckdb_message(exc)}",
        table=table,
        files=files[table].files if table else [root],
    )


def _guarded(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    files: dict[str, TableFiles],
    table: str | None,
    run: Callable[[], _T],
) -> _T:
    """``run()`` (a query that executes and fetches), with read failures named.

    Every query over the raw files goes through here: DuckDB reads a file's data
    pages only when a query runs, so a corrupt page or a ragged CSV row far into a
    file fails there, after every view was created without complaint.
    """
    try:
        return run()
    except _NOT_FILE_ERRORS:
        raise
    except duckdb.Error as exc:
        raise _read_failure(con, exc, root, files, table) from exc


# --------------------------------------------------------------------------- parsing
def _parse_expr(
    col: str, spec: Column, raw_type: str, zones: dict[str, str | None] | None = None
) -> str:
    """SQL that parses raw column ``col`` (of DuckDB type ``raw_type``) to its kind.

    Numbers: NaN means missing, whether a parquet NaN or the text ``NaN``, ``nan``,
    ``-nan``, ... in a CSV file (see :func:`_is_raw_present`); an infinite value
    (parquet ``inf``, text ``inf``, ``Infinity``, ``1e400``, ...) is no number and so
    unparseable: it parses to NULL while present, which quarantines the row.

    Dates: a date is the calendar date as written, in its own time zone. Text such
    as ``2015-06-01T00:00:00+09:00`` is read as 1 June (DuckDB's text cast keeps the
    wall-clock date). A time-zone-aware parquet timestamp is stored as an instant in
    UTC, which DuckDB would cast to a date in the session's zone (midnight in Seoul
    is 15:00 the day before in UTC, and the first of a month became the previous
    month); it is turned back into the wall-clock time of the zone the file records
    for the column. ``zones`` maps each ``source_file`` to that zone (``None``: the
    file's column has no zone, so DuckDB made it an instant in the session's zone).
    """
    c = identifier(col)
    base = raw_type.split("(")[0].upper()
    is_text = base == "VARCHAR"
    if spec.kind in ("id", "int"):
        target = DUCKDB_TYPE[spec.kind]
        if base in _INTEGER_TYPES:
            return f"TRY_CAST({c} AS {target})"
        if is_text:
            t = f"trim({c})"
            as_double = f"TRY_CAST({t} AS DOUBLE)"
            return (
                f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN TRY_CAST({t} AS {target}) "
                f"WHEN {as_double} = trunc({as_double}) AND abs({as_double}) < {_EXACT_DOUBLE} "
                f"THEN TRY_CAST({as_double} AS {target}) END"
            )
        as_double = f"TRY_CAST({c} AS DOUBLE)"
        return (
            f"CASE WHEN {as_double} = trunc({as_double}) AND abs({as_double}) < {_EXACT_DOUBLE}"
            f" THEN TRY_CAST({as_double} AS {target}) END"
        )
    if spec.kind == "float":
        value = f"TRY_CAST(trim({c}) AS DOUBLE)" if is_text else f"TRY_CAST({c} AS DOUBLE)"
        return f"CASE WHEN isnan({value}) OR isinf({value}) THEN NULL ELSE {value} END"
    if spec.kind == "date":
        if is_text:
            t = f"trim({c})"
            value = (
                f"COALESCE(TRY_CAST({t} AS DATE), "
                f"TRY_CAST(TRY_STRPTIME({t}, '%Y-%m') AS DATE), "
                f"TRY_CAST(TRY_CAST({t} AS TIMESTAMP) AS DATE))"
            )
        elif raw_type.upper() == _TIMESTAMPTZ and zones:
            value = _wall_clock_date(c, zones)
        else:
            value = f"TRY_CAST({c} AS DATE)"
        return value
    # str and country
    return f"NULLIF(trim(CAST({c} AS VARCHAR)), '')"


def _wall_clock(column: str, zone: str | None) -> str:
    """SQL: the TIMESTAMPTZ ``column`` as the wall-clock TIMESTAMP of ``zone``."""
    if zone is None:
        return f"timezone(current_setting('TimeZone'), {column})"
    offset = _UTC_OFFSET.fullmatch(zone)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        minutes = sign * (int(offset.group(2)) * 60 + int(offset.group(3)))
        return f"(timezone('UTC', {column}) + INTERVAL ({minutes}) MINUTE)"
    return f"timezone({literal(zone)}, {column})"


def _wall_clock_date(column: str, zones: dict[str, str | None]) -> str:
    """SQL: the date of a TIMESTAMPTZ column in each file's own time zone."""
    distinct = set(zones.values())
    if len(distinct) == 1:
        return f"CAST({_wall_clock(column, distinct.pop())} AS DATE)"
    cases = " ".join(
        f"WHEN {literal(file)} THEN {_wall_clock(column, zone)}" for file, zone in zones.items()
    )
    return f"CAST(CASE source_file {cases} END AS DATE)"


def _is_raw_present(col: str, raw_type: str, kind: str) -> str:
    """SQL true when the raw value is present: not null, not blank text, and, in a
    numeric column, not NaN (a parquet NaN or NaN written as text, in any case)."""
    c = identifier(col)
    if raw_type.split("(")[0].upper() == "VARCHAR":
        if kind in ("id", "int", "float"):
            return (
                f"({c} IS NOT NULL AND trim({c}) <> '' "
                f"AND NOT coalesce(isnan(TRY_CAST(trim({c}) AS DOUBLE)), false))"
            )
        return f"({c} IS NOT NULL AND trim({c}) <> '')"
    if raw_type.split("(")[0].upper() in ("DOUBLE", "FLOAT"):
        return f"({c} IS NOT NULL AND NOT isnan({c}))"
    return f"({c} IS NOT NULL)"


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class _Rule:
    """A row-level problem: rows where ``condition`` holds are quarantined
    (``action='quarantine'``) or have ``column`` set to missing (``'set_null'``)."""

    reason: str
    condition: str
    action: str = "quarantine"
    column: str | None = None


def _number(value: float) -> str:
    """A bound as reasons show it: ``1e7``, ``2.5e6``."""
    mantissa, exponent = f"{value:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _bound_rules(table: Table, delivery_date: date | None, as_of: date) -> list[_Rule]:
    """Rules for the plausibility bounds of :data:`analysis.config.PLAUSIBILITY_BOUNDS`.

    A value outside its bound quarantines the row (in ``users``, which keeps every
    row, it is set to missing), under a reason that names the bound. Bounds relative
    to the delivery date need it (``delivery_date``); ``users`` has none of those:
    the delivery date is computed from its plausible ``updated_dt`` values.
    """
    rules: list[_Rule] = []
    set_null = table.name == "users"
    for (table_name, col), bound in config.PLAUSIBILITY_BOUNDS.items():
        if table_name != table.name or col not in table.columns:
            continue
        c = identifier(col)
        conditions: list[tuple[str, str]] = []  # (reason, condition)
        if isinstance(bound.minimum, date):
            conditions.append(
                (f"{col} before {bound.minimum.isoformat()}", f"{c} < DATE '{bound.minimum}'")
            )
        elif bound.minimum is not None:
            conditions.append(
                (
                    f"{col} below plausible minimum {_number(bound.minimum)}",
                    f"{c} < {float(bound.minimum)!r}",
                )
            )
        if bound.maximum is not None:
            conditions.append(
                (
                    f"{col} above plausible maximum {_number(bound.maximum)}",
                    f"{c} > {float(bound.maximum)!r}",
                )
            )
        if bound.months_after_delivery is not None:
            if delivery_date is None:
                raise ValueError(f"bound on {table.name}.{col} needs the delivery date")
            months = int(bound.months_after_delivery)
            conditions.append(
                (
                    f"{col} more than {months} month{'s' if months != 1 else ''} after "
                    "the delivery date",
                    f"{c} > CAST(DATE '{delivery_date}' + INTERVAL {months} MONTH AS DATE)",
                )
            )
        if bound.not_after_run_date:
            conditions.append((f"{col} after the run date", f"{c} > DATE '{as_of}'"))
        for reason, condition in conditions:
            rules.append(
                _Rule(
                    reason + (" set to missing" if set_null else ""),
                    f"{c} IS NOT NULL AND {condition}",
                    action="set_null" if set_null else "quarantine",
                    column=col if set_null else None,
                )
            )
    return rules


def _table_rules(table: Table, delivery_date: date | None, as_of: date) -> list[_Rule]:
    """Problems specific to a table, beyond parse failures and unknown countries:
    the table's own consistency rules, then its plausibility bounds."""
    return _consistency_rules(table) + _bound_rules(table, delivery_date, as_of)


def _consistency_rules(table: Table) -> list[_Rule]:
    """Values that contradict each other or the contract (an end before the start, ...)."""
    if table.name == "positions":
        return [
            _Rule("enddate before startdate", "enddate IS NOT NULL AND enddate < startdate"),
            _Rule("salary not positive", "salary IS NOT NULL AND salary <= 0"),
            _Rule(
                "total_compensation not positive",
                "total_compensation IS NOT NULL AND total_compensation <= 0",
            ),
            _Rule("weight not positive", "weight IS NOT NULL AND weight <= 0"),
            _Rule(
                "seniority outside 1..7",
                "seniority IS NOT NULL AND (seniority < 1 OR seniority > 7)",
            ),
        ]
    if table.name == "education":
        return [
            _Rule(
                "enddate before startdate",
                "enddate IS NOT NULL AND startdate IS NOT NULL AND enddate < startdate",
            ),
        ]
    if table.name == "users":
        return [
            _Rule(
                "f_prob outside [0, 1] set to missing",
                "f_prob IS NOT NULL AND (f_prob < 0 OR f_prob > 1)",
                action="set_null",
                column="f_prob",
            ),
        ]
    return []


# --------------------------------------------------------------------------- delivery
@dataclass
class Delivery:
    """A validated delivery: DuckDB views over its files, plus what validation found.

    Use :func:`read_delivery` to build one. The views live in :attr:`con`; later
    stages read ``users``, ``positions``, ``education`` and ``skills`` (valid rows
    only) and ``quarantine``.

    Attributes
    ----------
    root
        The delivery folder.
    con
        The DuckDB connection holding the views.
    files
        The part files of each table.
    ledger
        Rows read, quarantined (by reason) and kept, per table.
    unmapped_countries
        Every country name that maps to no ISO3 code: table, column, name, rows.
    column_sources
        For each table, which file column fed each canonical column (aliases used).
    as_of
        The run date: an ``updated_dt`` after it is implausible.
    manifest
        The delivery's ``manifest.json`` (:func:`read_delivery_manifest`), if any.
    """

    root: Path
    con: duckdb.DuckDBPyConnection
    files: dict[str, TableFiles]
    ledger: Ledger = field(default_factory=Ledger)
    unmapped_countries: pd.DataFrame = field(default_factory=pd.DataFrame)
    column_sources: dict[str, dict[str, str]] = field(default_factory=dict)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    row_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    as_of: date = field(default_factory=date.today)
    manifest: dict[str, Any] | None = None
    _delivery_date: date | None = None

    # ---- access -------------------------------------------------------------
    def relation(self, table: str) -> duckdb.DuckDBPyRelation:
        """Valid rows of ``table`` as a lazy DuckDB relation.

        The files are read when the relation is fetched, outside the reader's
        checks: a corrupt file then raises a bare ``duckdb.Error``. Use
        :meth:`query` or :meth:`to_pandas` to have it named.
        """
        if table not in TABLES and table != "quarantine":
            raise KeyError(f"unknown table {table!r}; choose from {[*TABLES, 'quarantine']}")
        return self.con.table(table)

    def _guarded(self, table: str | None, run: Callable[[], _T]) -> _T:
        return _guarded(self.con, self.root, self.files, table, run)

    def query(self, sql: str, *, table: str | None = None) -> pd.DataFrame:
        """Run ``sql`` over the views and fetch the result as a DataFrame.

        Unlike ``con.sql(sql).df()``, a file that cannot be read raises an
        :class:`UnreadableFileError` naming it (``table``: where to look first).
        """
        return self._guarded(table, lambda: self.con.sql(sql).df())

    def execute(self, sql: str, *, table: str | None = None) -> None:
        """Run a statement over the views (``CREATE TEMP TABLE ... AS SELECT ...``),
        a file that cannot be read named as in :meth:`query`."""
        self._guarded(table, lambda: self.con.execute(sql))

    def to_pandas(self, table: str) -> pd.DataFrame:
        """Valid rows of ``table`` as a DataFrame, ordered by file and row (small data)."""
        return self.query(
            f"SELECT * FROM {identifier(table)} ORDER BY source_file, source_row", table=table
        )

    def quarantine(self) -> pd.DataFrame:
        """Every quarantined row with its table, file, row, reasons and raw values."""
        return self.query('SELECT * FROM quarantine ORDER BY "table", source_file, source_row')

    @property
    def schema_family(self) -> str:
        """``versioned``, ``unversioned`` or ``mixed``, from the column names used."""
        used = {src for sources in self.column_sources.values() for src in sources.values()}
        extras = {c for cols in self.extra_columns.values() for c in cols}
        versioned = bool((used | extras) & VERSIONED_NAMES)
        unversioned = bool(used & {"role_k1500", "skill_mapped"})
        if versioned and unversioned:
            return "mixed"
        return "versioned" if versioned else "unversioned"

    @property
    def delivery_date(self) -> date:
        """The snapshot date, as :func:`read_delivery` inferred it.

        The latest plausible ``updated_dt`` (implausible ones are set to missing
        first, see :data:`analysis.config.PLAUSIBILITY_BOUNDS`); without any, the
        latest plausible spell start or end (from 1950 up to the run date).
        """
        if self._delivery_date is None:
            raise DeliveryError("the delivery date was not inferred", files=[self.root])
        return self._delivery_date

    def summary(self) -> pd.DataFrame:
        """Rows read, quarantined and kept per table."""
        return pd.DataFrame([{"table": t, **counts} for t, counts in self.row_counts.items()])

    def write_parquet(self, out_dir: str | Path, *, ordered: bool = True) -> dict[str, Path]:
        """Write the valid tables and the quarantine as parquet, atomically.

        Each table is streamed by DuckDB to ``<name>.parquet.tmp`` and renamed, so a
        reader never sees a half-written file.

        Parameters
        ----------
        out_dir
            Target folder.
        ordered
            Order the rows by file and row, which makes the files byte-identical
            across runs (the default). ``False`` writes the four tables in whatever
            order DuckDB's threads produce (the quarantine is always ordered): the
            cleaning's scratch copy, whose results do not depend on row order, skips a
            sort of every table that spilled 30 GB at 1e8 positions.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for name in [*TABLES, "quarantine"]:
            target = out / f"{name}.parquet"
            tmp = out / f".{name}.parquet.tmp"
            if name == "quarantine":
                order = ' ORDER BY "table", source_file, source_row'
            else:
                order = " ORDER BY source_file, source_row" if ordered else ""
            if not order:
                self.con.sql("SET preserve_insertion_order = false")
            copy = (
                f"COPY (SELECT * FROM {identifier(name)}{order}) TO {literal(tmp)} "
                "(FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)"
            )
            try:
                self._guarded(
                    name if name in TABLES else None, lambda copy=copy: self.con.sql(copy)
                )
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            finally:
                self.con.sql("RESET preserve_insertion_order")
            tmp.replace(target)
            written[name] = target
        return written


class _TableReader:
    """Builds and validates the views of one table."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        root: Path,
        table: Table,
        all_files: dict[str, TableFiles],
    ) -> None:
        self.con = con
        self.root = root
        self.table = table
        self.files = all_files[table.name]
        self.all_files = all_files
        self.sources: dict[str, str] = {}
        self.extras: list[str] = []
        self.raw_types: dict[str, str] = {}
        self.csv_headers: dict[Path, tuple[str, list[str]]] = {}
        self.zones: dict[str, dict[str, str | None]] = {}

    # ---- step 1: schemas of the part files ------------------------------------
    def _scan(self, files: list[Path] | tuple[Path, ...]) -> str:
        return (
            f"read_parquet({_file_list(files)}, union_by_name=true, filename=true, "
            "file_row_number=true)"
        )

    def _relpath(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _relative(self, column: str) -> str:
        """SQL turning an absolute file name into a path relative to the delivery root."""
        prefix = len(str(self.root).rstrip("/")) + 2
        return f"substr({column}, {prefix})"

    def _unreadable(self, path: Path, problem: str, hint: str | None = None) -> UnreadableFileError:
        return UnreadableFileError(
            f"cannot read {self.files.format} file {self._relpath(path)} of table "
            f"'{self.table.name}': {problem}",
            table=self.table.name,
            files=[path],
            hint=hint,
        )

    def _check_csv(self, path: Path) -> None:
        """A complete gzip stream and a usable header line; the header is kept."""
        try:
            if path.name.lower().endswith(".gz"):
                problem = _gzip_problem(path)
                if problem:
                    raise self._unreadable(path, problem, hint="fetch or compress the file again")
            self.csv_headers[path] = _csv_header(path)
        except (_CsvHeaderError, OSError) as exc:
            raise self._unreadable(path, str(exc)) from exc

    def _file_columns(self, path: Path) -> dict[str, str]:
        """The columns of one part file and their DuckDB types."""
        if path.stat().st_size == 0:
            raise UnreadableFileError(f"file is empty: {path}", table=self.table.name, files=[path])
        if self.files.format == "csv":
            self._check_csv(path)
        scan = (
            f"read_parquet({_path_lit(path)})"
            if self.files.format == "parquet"
            else _csv_scan(path, self.csv_headers[path])
        )
        try:
            described = self.con.sql(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        except _NOT_FILE_ERRORS:
            raise
        except duckdb.Error as exc:
            raise self._unreadable(path, _duckdb_message(exc)) from exc
        return {row[0]: row[1] for row in described}

    def _arrow_zone(self, path: Path, column: str) -> str:
        """The time zone the file records for a time-zone-aware column (UTC if none).

        DuckDB reads such a column as an instant and drops the zone; pandas and
        Arrow keep it in the file's Arrow schema, read here from the footer.
        """
        try:
            kind = pq.read_schema(path).field(column).type
        except (OSError, KeyError, pa.ArrowException) as exc:
            problem = f"cannot read the schema of column {column}: {exc}"
            raise self._unreadable(path, problem) from exc
        zone = getattr(kind, "tz", None) or "UTC"
        if not _UTC_OFFSET.fullmatch(zone):
            try:
                self.con.sql(
                    f"SELECT timezone({literal(zone)}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
                ).fetchall()
            except duckdb.Error as exc:
                raise self._unreadable(
                    path, f"column {column} is in time zone {zone!r}, which DuckDB does not know"
                ) from exc
        return zone

    def _date_zones(self, file_types: dict[Path, dict[str, str]]) -> None:
        """For each date column stored time-zone-aware in some file: each file's zone."""
        self.zones = {}
        for canonical, spec in self.table.columns.items():
            if spec.kind != "date" or canonical not in self.sources:
                continue
            name = self.sources[canonical]
            zones = {
                self._relpath(path): (
                    self._arrow_zone(path, name) if types.get(name) == _TIMESTAMPTZ else None
                )
                for path, types in file_types.items()
            }
            if any(zone is not None for zone in zones.values()):
                self.zones[canonical] = zones

    def resolve_columns(self) -> None:
        """Map file columns to canonical ones through the alias map; check required ones."""
        per_file: dict[Path, dict[str, str]] = {}
        file_types: dict[Path, dict[str, str]] = {}
        all_columns: dict[str, None] = {}
        for path in self.files.files:
            file_types[path] = self._file_columns(path)
            columns = list(file_types[path])
            lower = {c.lower(): c for c in columns}
            for c in columns:
                all_columns.setdefault(c, None)
            mapping: dict[str, str] = {}
            for canonical, spec in self.table.columns.items():
                for candidate in (canonical, *spec.aliases):
                    if candidate.lower() in lower:
                        mapping[canonical] = lower[candidate.lower()]
                        break
                else:
                    if spec.required:
                        names = " or ".join((canonical, *spec.aliases))
                        raise MissingColumnError(
                            f"required column {names} is missing from {path.name}",
                            table=self.table.name,
                            column=canonical,
                            files=[path],
                            hint=f"columns found: {', '.join(columns)}",
                        )
            per_file[path] = mapping
        distinct = {tuple(sorted(m.items())) for m in per_file.values()}
        if len(distinct) > 1:
            raise DeliveryError(
                f"part files of table '{self.table.name}' name the same column differently",
                table=self.table.name,
                files=list(per_file),
                hint="; ".join(str(dict(d)) for d in sorted(distinct)),
            )
        self.sources = dict(next(iter(distinct)))
        if self.files.format == "parquet":
            self._date_zones(file_types)
        used = {v.lower() for v in self.sources.values()}
        aliases = {a.lower() for spec in self.table.columns.values() for a in spec.aliases}
        reserved = {"filename", "file_row_number", "source_file", "source_row"}
        self.extras = [
            c
            for c in all_columns
            if c.lower() not in used | aliases | reserved
            and c.lower() not in {k.lower() for k in self.table.columns}
        ]

    # ---- step 2: raw view -------------------------------------------------------
    def create_raw_view(self) -> None:
        name = self.table.name
        select = []
        for canonical in self.table.columns:
            if canonical in self.sources:
                select.append(f"{identifier(self.sources[canonical])} AS {identifier(canonical)}")
            else:
                select.append(f"CAST(NULL AS VARCHAR) AS {identifier(canonical)}")
        select += [identifier(c) for c in self.extras]
        cols = ", ".join(select)
        if self.files.format == "parquet":
            sql = (
                f"SELECT {cols}, {self._relative('filename')} AS source_file, "
                f"CAST(file_row_number AS BIGINT) AS source_row FROM {self._scan(self.files.files)}"
            )
        else:
            # CSV has no row number of its own: number each file's rows in file order.
            parts = [
                f"SELECT {cols}, {literal(self._relpath(path))} AS source_file, "
                f"CAST(row_number() OVER () - 1 AS BIGINT) AS source_row "
                f"FROM {_csv_scan(path, self.csv_headers[path])}"
                for path in self.files.files
            ]
            sql = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
        try:
            self.con.sql(f"CREATE OR REPLACE VIEW {identifier(name + '_raw')} AS {sql}")
            described = self.con.sql(f"DESCRIBE {identifier(name + '_raw')}").fetchall()
        except _NOT_FILE_ERRORS:
            raise
        except duckdb.Error as exc:
            raise UnreadableFileError(
                f"cannot combine the part files of table '{name}': {_duckdb_message(exc)}",
                table=name,
                files=self.files.files,
            ) from exc
        self.raw_types = {row[0]: row[1] for row in described}

    def _guarded(self, run: Callable[[], _T]) -> _T:
        return _guarded(self.con, self.root, self.all_files, self.table.name, run)

    def _fetchone(self, sql: str) -> tuple:
        """Run a query over the raw files and fetch its one row (read failures named)."""
        return self._guarded(lambda: self.con.sql(sql).fetchone())

    def _fetchall(self, sql: str) -> list[tuple]:
        return self._guarded(lambda: self.con.sql(sql).fetchall())

    def _df(self, sql: str) -> pd.DataFrame:
        return self._guarded(lambda: self.con.sql(sql).df())

    def _execute(self, sql: str) -> None:
        """Run a statement (creating a view binds it, which reads the files' schemas)."""
        self._guarded(lambda: self.con.sql(sql))

    def _examples(self, where: str, columns: list[str], view: str) -> pd.DataFrame:
        cols = ", ".join(identifier(c) for c in [*columns, "source_file", "source_row"])
        return self._df(
            f"SELECT {cols} FROM {identifier(view)} WHERE {where} "
            f"ORDER BY source_file, source_row LIMIT {_MAX_EXAMPLES}"
        )

    # ---- step 3: fatal key checks -------------------------------------------------
    def check_identifiers(self) -> None:
        """Identifiers must be present (where required) and integral; keys unique."""
        raw = self.table.name + "_raw"
        for col, spec in self.table.columns.items():
            if spec.kind != "id":
                continue
            rtype = self.raw_types[col]
            parsed = _parse_expr(col, spec, rtype)
            present = _is_raw_present(col, rtype, spec.kind)
            bad = self._fetchone(
                f"SELECT count(*) FROM {identifier(raw)} WHERE {present} AND ({parsed}) IS NULL"
            )[0]
            if bad:
                raise KeyIntegrityError(
                    f"{bad:,} value(s) of identifier {col} in table '{self.table.name}' are not "
                    "integers (identifiers are read as int64 and must be whole numbers)",
                    table=self.table.name,
                    column=col,
                    files=self._bad_files(f"{present} AND ({parsed}) IS NULL"),
                    examples=self._examples(f"{present} AND ({parsed}) IS NULL", [col], raw),
                )
            if not spec.nullable:
                missing = self._fetchone(
                    f"SELECT count(*) FROM {identifier(raw)} WHERE NOT {present}"
                )[0]
                if missing:
                    raise KeyIntegrityError(
                        f"{missing:,} row(s) of table '{self.table.name}' have no {col}",
                        table=self.table.name,
                        column=col,
                        files=self._bad_files(f"NOT {present}"),
                        examples=self._examples(f"NOT {present}", [col], raw),
                    )
        key = self.table.key
        if key:
            parsed = _parse_expr(key, self.table.columns[key], self.raw_types[key])
            dup = self._fetchone(
                f"SELECT count(*) AS keys, sum(n) AS rows FROM (SELECT {parsed} AS k, "
                f"count(*) AS n FROM {identifier(raw)} GROUP BY k HAVING count(*) > 1)"
            )
            if dup[0]:
                where = (
                    f"({parsed}) IN (SELECT {parsed} FROM {identifier(raw)} GROUP BY 1 "
                    f"HAVING count(*) > 1 ORDER BY 1 LIMIT 3)"
                )
                raise KeyIntegrityError(
                    f"key {key} of table '{self.table.name}' is not unique: {dup[0]:,} value(s) "
                    f"appear more than once ({int(dup[1]):,} rows)",
                    table=self.table.name,
                    column=key,
                    files=self._bad_files(where),
                    examples=self._examples(where, [key], raw),
                )

    def _bad_files(self, where: str) -> list[str]:
        rows = self._fetchall(
            f"SELECT DISTINCT source_file FROM {identifier(self.table.name + '_raw')} "
            f"WHERE {where} ORDER BY 1 LIMIT 10"
        )
        return [str(self.root / r[0]) for r in rows]

    # ---- step 4: typed view with per-row problems ---------------------------------------
    def country_names(self) -> pd.DataFrame:
        """Distinct raw names of every country column, with row counts."""
        frames = []
        for col, spec in self.table.columns.items():
            if spec.kind != "country":
                continue
            expr = _parse_expr(col, spec, self.raw_types[col])
            frame = self._df(
                f"SELECT {expr} AS name, count(*) AS rows "
                f"FROM {identifier(self.table.name + '_raw')} WHERE name IS NOT NULL GROUP BY name"
            )
            frame.insert(0, "column", col)
            frame.insert(0, "table", self.table.name)
            frames.append(frame)
        return (
            pd.concat(frames)
            if frames
            else pd.DataFrame(columns=["table", "column", "name", "rows"])
        )

    def parsed(self, col: str) -> str:
        """SQL of column ``col`` parsed to its kind (month-level dates truncated)."""
        spec = self.table.columns[col]
        expr = _parse_expr(col, spec, self.raw_types[col], self.zones.get(col))
        if spec.kind == "date" and spec.month_level:
            expr = f"CAST(date_trunc('month', {expr}) AS DATE)"
        return expr

    def create_typed_view(
        self, users_view: str | None, delivery_date: date | None, as_of: date
    ) -> list[_Rule]:
        """Parse every column and attach the list of problems of each row.

        ``delivery_date`` and ``as_of`` (the run date) anchor the plausibility
        bounds of dates (see :func:`_bound_rules`).
        """
        name = self.table.name
        raw = identifier(name + "_raw")
        parsed_cols, rules = [], []
        joins = []
        for i, (col, spec) in enumerate(self.table.columns.items()):
            rtype = self.raw_types[col]
            expr = _parse_expr(col, spec, rtype, self.zones.get(col))
            present = _is_raw_present(col, rtype, spec.kind)
            if spec.kind == "country":
                alias = f"cm{i}"
                joins.append(f"LEFT JOIN country_map AS {alias} ON {alias}._cm_name = {expr}")
                parsed_cols.append(f"{alias}._cm_iso3 AS {identifier(col)}")
                parsed_cols.append(f"{expr} AS {identifier(col + '_raw')}")
                unknown = f"{expr} IS NOT NULL AND {alias}._cm_iso3 IS NULL"
                if name == "users":
                    rules.append(
                        _Rule(
                            f"unknown {col} set to missing", unknown, action="set_null", column=col
                        )
                    )
                else:
                    rules.append(_Rule(f"unknown {col}", unknown))
                continue
            if spec.kind == "date" and spec.month_level:
                expr = f"CAST(date_trunc('month', {expr}) AS DATE)"
            parsed_cols.append(f"{expr} AS {identifier(col)}")
            if spec.kind in ("int", "float", "date"):
                cond = f"{present} AND ({expr}) IS NULL"
                if name == "users":
                    rules.append(
                        _Rule(
                            f"unparseable {col} set to missing", cond, action="set_null", column=col
                        )
                    )
                else:
                    rules.append(_Rule(f"unparseable {col}", cond))
            if not spec.nullable and spec.kind != "id":
                rules.append(_Rule(f"missing {col}", f"NOT {present}"))
        # Table-specific rules refer to parsed values: evaluate them on the parsed frame.
        table_rules = _table_rules(self.table, delivery_date, as_of)
        known_users = ""
        if self.table.foreign_user and users_view:
            # A left join to the (unique) valid user ids, not NOT EXISTS: DuckDB runs the
            # correlated subquery as a delim join that buffers the whole table (and spills
            # it beyond memory_limit) before the first row comes out.
            known_users = (
                f"LEFT JOIN (SELECT user_id AS _known_user FROM {identifier(users_view)}) AS known "
                "ON known._known_user = parsed.user_id"
            )
            table_rules.append(_Rule("user_id not in users", "known._known_user IS NULL"))
        raw_rules = rules
        reason_list = ", ".join(
            f"CASE WHEN {r.condition} THEN {literal(r.reason)} END" for r in raw_rules
        )
        extras = "".join(f", r.{identifier(c)}" for c in self.extras)
        # Stage A: parse, and list raw-level problems (parse failures, unknown countries).
        stage_a = (
            (
                f"SELECT {', '.join(parsed_cols)}{extras}, r.source_file, r.source_row, "
                f"list_filter([{reason_list}], x -> x IS NOT NULL) AS _raw_reasons "
                f"FROM {raw} AS r {' '.join(joins)}"
            )
            if raw_rules
            else (
                f"SELECT {', '.join(parsed_cols)}{extras}, r.source_file, r.source_row, "
                f"CAST([] AS VARCHAR[]) AS _raw_reasons "
                f"FROM {raw} AS r {' '.join(joins)}"
            )
        )
        table_reasons = ", ".join(
            f"CASE WHEN {r.condition} THEN {literal(r.reason)} END" for r in table_rules
        )
        reasons = (
            f"list_concat(_raw_reasons, list_filter([{table_reasons}], x -> x IS NOT NULL))"
            if table_rules
            else "_raw_reasons"
        )
        sql = (
            f"SELECT parsed.* EXCLUDE (_raw_reasons), {reasons} AS _reasons "
            f"FROM ({stage_a}) AS parsed {known_users}"
        )
        self._execute(f"CREATE OR REPLACE VIEW {identifier(name + '_typed')} AS {sql}")
        return raw_rules + table_rules

    def create_output_views(self, rules: list[_Rule]) -> None:
        """``<table>``: rows without quarantine reasons, set-to-missing rules applied."""
        name = self.table.name
        typed = identifier(name + "_typed")
        null_reasons = {r.reason: r.column for r in rules if r.action == "set_null"}
        quarantine_reasons = [r.reason for r in rules if r.action == "quarantine"]
        columns = []
        for col in [*self.table.columns, *self.extras]:
            nulling = [reason for reason, target in null_reasons.items() if target == col]
            if nulling:
                cond = " OR ".join(f"list_contains(_reasons, {literal(r)})" for r in nulling)
                columns.append(
                    f"CASE WHEN {cond} THEN NULL ELSE {identifier(col)} END AS {identifier(col)}"
                )
            else:
                columns.append(identifier(col))
            if (
                self.table.columns.get(col) is not None
                and self.table.columns[col].kind == "country"
            ):
                columns.append(identifier(col + "_raw"))
        columns += ["source_file", "source_row"]
        q_list = "[" + ", ".join(literal(r) for r in quarantine_reasons) + "]::VARCHAR[]"
        self.quarantine_filter = f"len(list_intersect(_reasons, {q_list})) > 0"
        self._execute(
            f"CREATE OR REPLACE VIEW {identifier(name)} AS SELECT {', '.join(columns)} "
            f"FROM {typed} WHERE NOT ({self.quarantine_filter})"
        )
        key = (
            f"CAST({identifier(self.table.key)} AS BIGINT)"
            if self.table.key
            else "CAST(NULL AS BIGINT)"
        )
        # The primary reason is the first quarantine reason in rule order.
        primary = "list_filter(_reasons, x -> list_contains(" + q_list + ", x))[1]"
        # The raw values of a quarantined row, for audit: built only for those rows, by
        # joining them back to the raw view (building JSON for every row cost more than
        # the rest of the validation).
        raw_json = (
            "to_json(struct_pack("
            + ", ".join(
                f"{identifier(c)} := CAST(r.{identifier(c)} AS VARCHAR)"
                for c in [*self.table.columns, *self.extras]
            )
            + "))"
        )
        quarantined = (
            f'SELECT {literal(name)} AS "table", source_file, source_row, '
            f"CAST(user_id AS BIGINT) AS user_id, {key} AS record_key, "
            f"{primary} AS primary_reason, array_to_string(_reasons, '; ') AS reasons "
            f"FROM {typed} WHERE {self.quarantine_filter}"
        )
        self.quarantine_sql = (
            f"SELECT q.*, {raw_json} AS record FROM ({quarantined}) AS q "
            f"JOIN {identifier(name + '_raw')} AS r "
            "ON r.source_file = q.source_file AND r.source_row = q.source_row"
        )

    # ---- step 5: counts --------------------------------------------------------------
    def count(self, ledger: Ledger, rules: list[_Rule]) -> dict[str, int]:
        """One streaming pass: rows read, removed by primary reason, modified by reason."""
        name = self.table.name
        typed = identifier(name + "_typed")
        q_list = "[" + ", ".join(literal(r.reason) for r in rules if r.action == "quarantine")
        q_list += "]::VARCHAR[]"
        frame = self._df(
            f"SELECT list_filter(_reasons, x -> list_contains({q_list}, x))[1] AS primary_reason, "
            f"list_filter(_reasons, x -> NOT list_contains({q_list}, x)) AS modified, "
            f"count(*) AS n FROM {typed} GROUP BY ALL"
        )
        rows_in = int(frame["n"].sum()) if len(frame) else 0
        removed: dict[str, int] = {}
        modified: dict[str, int] = {}
        for row in frame.itertuples(index=False):
            if isinstance(row.primary_reason, str):
                removed[row.primary_reason] = removed.get(row.primary_reason, 0) + int(row.n)
            for reason in list(row.modified) if row.modified is not None else []:
                modified[reason] = modified.get(reason, 0) + int(row.n)
        rows_out = rows_in - sum(removed.values())
        ledger.record(
            _STAGE,
            name,
            "validate rows",
            rows_in=rows_in,
            rows_out=rows_out,
            removed=removed,
            modified=modified,
        )
        return {"rows_read": rows_in, "rows_quarantined": rows_in - rows_out, "rows_kept": rows_out}


def _infer_delivery_date(delivery: Delivery, positions: _TableReader, as_of: date) -> date:
    """The latest plausible ``updated_dt``; without one, the latest plausible spell date.

    Runs after the users' views exist (their implausible ``updated_dt`` values are
    already missing there) and before the views of the other tables, whose date
    bounds are relative to the delivery date: spell dates are therefore taken from
    the parsed raw rows, kept when between the earliest plausible spell date and
    the run date.
    """
    row = delivery._guarded(
        "users", lambda: delivery.con.sql("SELECT max(updated_dt) FROM users").fetchone()
    )
    if row and row[0] is not None:
        return row[0]
    start, end = positions.parsed("startdate"), positions.parsed("enddate")
    sql = (
        f"SELECT max(d) FROM (SELECT unnest([{start}, {end}]) AS d FROM positions_raw) "
        f"WHERE d BETWEEN DATE '{config.EARLIEST_SPELL_DATE}' AND DATE '{as_of}'"
    )
    row = delivery._guarded("positions", lambda: delivery.con.sql(sql).fetchone())
    if row and row[0] is not None:
        return row[0]
    raise DeliveryError(
        "cannot infer the delivery date: table 'users' has no plausible updated_dt and "
        "table 'positions' no plausible startdate or enddate",
        table="users",
        files=[*delivery.files["users"].files, *delivery.files["positions"].files],
        hint=f"updated_dt must lie between {config.LINKEDIN_LAUNCH} and the run date {as_of}",
    )


def read_delivery(
    root: str | Path,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    as_of: date | None = None,
) -> Delivery:
    """Read and validate a Revelio-style delivery folder.

    The order matters where rules depend on each other: the users table is
    validated first (an ``updated_dt`` outside its plausible range, such as one
    after the run date, is set to missing and counted); the delivery date is then
    the latest remaining ``updated_dt`` (see :attr:`Delivery.delivery_date`); the
    other tables are validated last, their date bounds relative to that date.

    Parameters
    ----------
    root
        Folder holding the four tables (see the input contract).
    con
        DuckDB connection to create the views in (a new in-memory one by default).
    as_of
        The run date (default: today): a snapshot date after it is implausible.

    Returns
    -------
    Delivery
        Lazy views of the valid rows, the quarantine, the ledger and the list of
        unmapped country names.

    Raises
    ------
    DeliveryError
        Or one of its subclasses (:class:`MissingTableError`,
        :class:`MissingColumnError`, :class:`UnreadableFileError`,
        :class:`KeyIntegrityError`) when the delivery cannot be used at all.
    """
    root = Path(root).resolve()
    as_of = date.today() if as_of is None else as_of
    if con is None:
        con = duckdb.connect()
        con.sql("SET enable_progress_bar = false")
    files = discover_tables(root)
    manifest = read_delivery_manifest(root)
    readers = {name: _TableReader(con, root, TABLES[name], files) for name in TABLES}
    for reader in readers.values():
        reader.resolve_columns()
        reader.create_raw_view()
        reader.check_identifiers()

    # Country names: distinct names of all tables, mapped once in Python.
    names = pd.concat([r.country_names() for r in readers.values()], ignore_index=True)
    mapping = names_to_iso3(names["name"].tolist())
    country_map = pd.DataFrame(
        {"name": list(mapping), "iso3": [mapping[n] for n in mapping]}, dtype="object"
    )
    con.register("_country_map_frame", country_map)
    con.sql(
        "CREATE OR REPLACE TABLE country_map AS SELECT CAST(name AS VARCHAR) AS _cm_name, "
        "CAST(iso3 AS VARCHAR) AS _cm_iso3 FROM _country_map_frame"
    )
    con.unregister("_country_map_frame")
    unmapped = names[names["name"].map(lambda n: mapping.get(n) is None)]
    unmapped = unmapped.sort_values(
        ["table", "column", "rows", "name"], ascending=[True, True, False, True]
    ).reset_index(drop=True)

    ledger = Ledger()
    delivery = Delivery(
        root=root,
        con=con,
        files=files,
        ledger=ledger,
        unmapped_countries=unmapped,
        as_of=as_of,
        manifest=manifest,
    )
    quarantine_parts = []
    for name, reader in readers.items():
        if name != "users" and delivery._delivery_date is None:
            delivery._delivery_date = _infer_delivery_date(delivery, readers["positions"], as_of)
        rules = reader.create_typed_view(
            users_view="users" if name != "users" else None,
            delivery_date=delivery._delivery_date,
            as_of=as_of,
        )
        reader.create_output_views(rules)
        quarantine_parts.append(reader.quarantine_sql)
        delivery.row_counts[name] = reader.count(ledger, rules)
        if name == "users" and delivery.row_counts[name]["rows_read"] == 0:
            raise EmptyTableError(
                "table 'users' has no rows (its files hold at most a header): every other "
                "table refers to it",
                table="users",
                files=files["users"].files,
            )
        delivery.column_sources[name] = dict(reader.sources)
        delivery.extra_columns[name] = list(reader.extras)
    con.sql(
        "CREATE OR REPLACE VIEW quarantine AS "
        + " UNION ALL ".join(f"({q})" for q in quarantine_parts)
    )
    return delivery


def describe_problems(delivery: Delivery) -> str:
    """A short human-readable account of what validation found (for logs and the CLI)."""
    lines = [f"delivery {delivery.root} ({delivery.schema_family} schema)"]
    for table, counts in delivery.row_counts.items():
        lines.append(
            f"  {table:<10} read {counts['rows_read']:>12,}  quarantined "
            f"{counts['rows_quarantined']:>10,}  kept {counts['rows_kept']:>12,}"
        )
    frame = delivery.ledger.to_frame()
    for row in frame[frame["action"] != "none"].itertuples(index=False):
        lines.append(f"    {row.table}: {row.action} {row.rows_affected:,} ({row.reason})")
    if len(delivery.unmapped_countries):
        lines.append("  country names that map to no ISO3 code:")
        for row in delivery.unmapped_countries.itertuples(index=False):
            lines.append(f"    {row.table}.{row.column}: {json.dumps(row.name)} x {row.rows:,}")
    return "\n".join(lines)
