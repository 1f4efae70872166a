"""Split the persons into ranges of ``user_id`` so that big deliveries are cleaned in parts.

Every cleaning step works within a person (the main job is chosen among one person's
spells; origin, field and AI skills are a person's; moves compare a person's
consecutive years), so the persons can be cleaned in disjoint ranges of ``user_id``
and the parts put end to end. Each part is a delivery of ``1/n`` the size: DuckDB's
windows and sorts then stay within ``memory_limit`` and their spill files stay small.
Ranges in increasing order, each written sorted by key, concatenate to a file sorted by
key, so no global sort is needed (:func:`analysis.clean.writer.concat_sorted`).

Why by hand: DuckDB 1.5 ran out of memory (instead of spilling) in the window that
picks the main job of 250 million spell-years under a 2 GB limit, although 25 million
needed less than 200 MB; and its sort of the whole table spilled about 20 times more
at 1e8 positions than at 1e7. Neither DuckDB nor Ibis splits a query by key ranges.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> ranges = id_ranges(con, "SELECT range AS user_id FROM range(1, 11)", 3)
>>> [(r.low, r.high) for r in ranges]
[(None, 4), (4, 7), (7, None)]
>>> bucket_count(25_000_000, 30_000_000), bucket_count(250_000_000, 30_000_000)
(1, 9)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis.expr.types as ir

#: Default number of spell-years per part: 1e7 positions (25 million spell-years) are
#: cleaned in one part, 1e8 in nine.
ROWS_PER_BUCKET: int = 30_000_000


@dataclass(frozen=True)
class IdRange:
    """Persons with ``low < user_id <= high`` (``None``: no bound on that side)."""

    low: int | None
    high: int | None

    def filter(self, table: ir.Table) -> ir.Table:
        """The rows of ``table`` whose ``user_id`` lies in this range."""
        if self.low is None and self.high is None:
            return table
        conditions = []
        if self.low is not None:
            conditions.append(table.user_id > self.low)
        if self.high is not None:
            conditions.append(table.user_id <= self.high)
        return table.filter(*conditions)


EVERYONE = IdRange(None, None)


def bucket_count(rows: int, rows_per_bucket: int = ROWS_PER_BUCKET) -> int:
    """How many parts to clean ``rows`` spell-years in (at least one)."""
    if rows_per_bucket < 1:
        raise ValueError(f"rows_per_bucket must be positive, got {rows_per_bucket}")
    return max(1, math.ceil(rows / rows_per_bucket))


def id_ranges(con, users_sql: str, n: int) -> list[IdRange]:
    """``n`` ranges of ``user_id`` holding about equal numbers of users, in order.

    Parameters
    ----------
    con
        A DuckDB connection (``duckdb.DuckDBPyConnection``).
    users_sql
        A query (or table) with a ``user_id`` column.
    n
        Number of ranges; fewer are returned when there are fewer distinct ids.
    """
    if n <= 1:
        return [EVERYONE]
    cuts = ", ".join(f"{i}/{n}" for i in range(1, n))
    (bounds,) = con.sql(f"SELECT quantile_disc(user_id, [{cuts}]) FROM ({users_sql})").fetchone()
    edges = sorted({int(b) for b in bounds if b is not None})
    lows = [None, *edges]
    highs = [*edges, None]
    return [IdRange(lo, hi) for lo, hi in zip(lows, highs, strict=True)]
