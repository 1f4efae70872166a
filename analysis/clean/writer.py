"""The one writer of the cleaning's output files: typed, sorted, atomic, reproducible.

Every output goes through :func:`write_sorted`, whatever engine computed it: a DuckDB
``COPY (SELECT <casts> ... ORDER BY <key>) TO <tmp> (FORMAT parquet)`` followed by a
rename. DuckDB sorts out of core and its parquet writer is deterministic for a sorted
input (same row groups whatever the input's part files or thread count), so a rerun on
the same inputs, or the same rows computed by another engine, gives byte-identical
files.

Examples
--------
>>> import ibis, pandas as pd, pathlib, tempfile
>>> con = ibis.duckdb.connect()
>>> out = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
>>> frame = pd.DataFrame({"k": [2, 1], "v": [0.5, 1.5]})
>>> _ = write_frame_sorted(con, frame, out, schema={"k": "int32", "v": "float64"}, key=["k"])
>>> pd.read_parquet(out).to_dict("list")
{'k': [1, 2], 'v': [1.5, 0.5]}
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd
import pyarrow.parquet as pq

from analysis.io import write_atomic
from analysis.sql import identifier, literal, parquet_source

#: Parquet settings of every output (fixed so that files are reproducible).
#: ``USE_TMP_FILE false``: :func:`analysis.io.write_atomic` already writes to a temporary
#: name; DuckDB's own ``tmp_<name>`` was left behind when a query failed mid-write.
PARQUET_OPTIONS: str = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, USE_TMP_FILE false"

#: DuckDB type of each Ibis type name used in the output schemas.
DUCKDB_TYPES: dict[str, str] = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "date": "DATE",
}


def write_sorted(
    con: Any,
    source: ir.Table | str,
    path: str | Path,
    *,
    schema: Mapping[str, str],
    key: list[str],
    finish: Callable[[ir.Table], ir.Table] | None = None,
) -> Path:
    """Cast ``source`` to ``schema``, sort it by ``key`` and write it as parquet, atomically.

    The casts are written out in SQL rather than left to Ibis, which drops a cast to
    the type it believes a column already has (DuckDB's ``year()`` is a BIGINT where
    Ibis assumes int32, for example).

    Parameters
    ----------
    con
        The Ibis DuckDB backend that ``source`` belongs to.
    source
        The rows to write: an Ibis table of ``con``, or a SQL query (any columns;
        ``schema`` selects and orders them).
    path
        Target file.
    schema
        Output columns and their types (keys of :data:`DUCKDB_TYPES`), in order.
    key
        Sort key; must identify rows uniquely for the row order to be reproducible.
    finish
        Optional last transformation (run by DuckDB) of an Ibis ``source``.
    """
    if isinstance(source, str):
        sql = source
    else:
        table = finish(source) if finish else source
        missing = [c for c in schema if c not in table.columns]
        if missing:
            raise KeyError(f"output {Path(path).name} lacks column(s) {missing}")
        sql = str(con.compile(table))
    columns = ", ".join(
        f"CAST({identifier(c)} AS {DUCKDB_TYPES[t]}) AS {identifier(c)}" for c, t in schema.items()
    )
    order = ", ".join(identifier(k) for k in key)

    def copy(tmp: Path) -> None:
        con.raw_sql(
            f"COPY (SELECT {columns} FROM ({sql}) ORDER BY {order}) TO {literal(tmp)} "
            f"({PARQUET_OPTIONS})"
        )

    return write_atomic(path, copy)


def concat_sorted(con: Any, parts: list[Path], path: str | Path, *, key_column: str) -> Path:
    """Put parquet parts end to end in one file, atomically, without sorting again.

    Each part must be sorted by a key that starts with ``key_column``, and the parts
    must hold increasing, disjoint ranges of it (see :mod:`analysis.clean.buckets`):
    the result is then sorted by that key. DuckDB streams the parts in the order given
    (insertion order is preserved); the row groups' statistics of ``key_column`` are
    checked to be in order before the file is renamed into place.
    """
    source = parquet_source(parts)

    def copy(tmp: Path) -> None:
        con.raw_sql("SET preserve_insertion_order = true")
        con.raw_sql(f"COPY (SELECT * FROM {source}) TO {literal(tmp)} ({PARQUET_OPTIONS})")
        check_row_groups_in_order(tmp, key_column, name=Path(path).name)

    return write_atomic(path, copy)


def check_row_groups_in_order(path: str | Path, column: str, *, name: str | None = None) -> None:
    """Raise ``RuntimeError`` unless the row groups of ``path`` follow each other in
    ``column`` (each one's minimum at least the previous one's maximum)."""
    meta = pq.ParquetFile(path).metadata
    index = meta.schema.names.index(column)
    previous = None
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(index).statistics
        if stats is None or not stats.has_min_max:
            raise RuntimeError(f"{name or path}: row group {i} has no statistics for {column}")
        if previous is not None and stats.min < previous:
            raise RuntimeError(
                f"{name or path}: row group {i} starts at {column} {stats.min}, before the "
                f"end of row group {i - 1} ({previous}); the parts were not written in order"
            )
        previous = stats.max


def write_frame_sorted(
    con: Any,
    frame: pd.DataFrame,
    path: str | Path,
    *,
    schema: Mapping[str, str],
    key: list[str],
) -> Path:
    """:func:`write_sorted` for a small in-memory frame (the ledger)."""
    name = "_frame_" + uuid.uuid4().hex[:8]
    con.con.register(name, frame)
    try:
        return write_sorted(con, f"SELECT * FROM {name}", path, schema=schema, key=key)
    finally:
        con.con.unregister(name)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write a text file atomically, with the permissions a plain ``open`` would give."""
    umask = os.umask(0)
    os.umask(umask)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o666 & ~umask)

    return write_atomic(path, write)
