"""SQL text for DuckDB: names and values quoted by sqlglot, never by hand.

The stages build DuckDB queries as text where the relational API cannot say what they
need (``COPY ... TO``, window functions over generated column lists). Every column name
and every string value in that text goes through :func:`identifier` or :func:`literal`,
so a name with a quote or a path with an apostrophe stays one token.

Examples
--------
>>> identifier('a "b" c')
'"a ""b"" c"'
>>> literal("O'Brien")
"'O''Brien'"
>>> parquet_source(["a.parquet", "it's.parquet"])
"read_parquet(['a.parquet', 'it''s.parquet'])"
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlglot import exp

__all__ = ["identifier", "literal", "parquet_source"]

DIALECT = "duckdb"


def identifier(name: str) -> str:
    """``name`` as a quoted DuckDB identifier (a column or table name)."""
    return exp.to_identifier(str(name), quoted=True).sql(dialect=DIALECT)


def literal(value: object) -> str:
    """``value`` as a DuckDB string literal (a path becomes its POSIX form)."""
    text = value.as_posix() if isinstance(value, Path) else str(value)
    return exp.Literal.string(text).sql(dialect=DIALECT)


def parquet_source(paths: str | Path | Sequence[str | Path]) -> str:
    """``read_parquet(...)`` over one file (or glob) or a list of files."""
    if isinstance(paths, (str, Path)):
        return f"read_parquet({literal(Path(paths))})"
    return "read_parquet([" + ", ".join(literal(Path(p)) for p in paths) + "])"
