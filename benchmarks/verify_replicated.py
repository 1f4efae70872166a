"""Check a clean of a replicated delivery against the clean of its base (on demand).

``clean_scale.py --replicate`` builds the 3e7 and 1e8 deliveries as copies of the 1e7
one, copy ``k`` with ``user_id + k * USER_OFFSET`` and
``position_id + k * USER_OFFSET * POSITION_SLOTS``. Cleaning is per person, so the
clean of the copies must be the base's clean, once per copy: this script shifts the
identifiers of every copy back and compares, per copy, the row count and an
order-free fingerprint (the sum of a hash of every column of every row) of the panel,
persons and moves tables with the base's, and checks that every ledger count is the
base's times the number of copies. DuckDB streams it: nothing is loaded into memory.

Usage::

    python benchmarks/verify_replicated.py /work/bench/clean_1e7 /work/bench/clean_1e8

Exit status 1 if anything differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clean_scale import USER_OFFSET

from analysis.sources.synthetic.world import POSITION_SLOTS

TABLES: tuple[str, ...] = ("panel", "persons", "moves")
LEDGER_COUNTS: tuple[str, ...] = ("rows_in", "rows_out", "rows_affected")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fingerprints(con: duckdb.DuckDBPyConnection, path: Path, base_copy: int) -> dict:
    """``{copy: (rows, hash sum)}`` of one table, identifiers shifted back to copy 0.

    ``base_copy`` is the copy number of the base delivery's ids (``user_id //
    USER_OFFSET`` of the base), so that copy ``k`` is ``user_id // USER_OFFSET - base_copy``.
    """
    columns = [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()]
    copy = f"(user_id // {USER_OFFSET} - {base_copy})"
    shifted = []
    for c in columns:
        if c == "user_id":
            shifted.append(f"user_id - {copy} * {USER_OFFSET}")
        elif c == "position_id":
            shifted.append(f"position_id - {copy} * {USER_OFFSET * POSITION_SLOTS}")
        else:
            shifted.append(_quote(c))
    rows = con.sql(
        f"SELECT {copy} AS k, count(*), sum(hash({', '.join(shifted)})::HUGEINT) "
        f"FROM '{path}' GROUP BY k ORDER BY k"
    ).fetchall()
    return {int(k): (int(n), int(h)) for k, n, h in rows}


def verify(base: Path, replicated: Path) -> list[str]:
    """Differences between the replicated clean and ``copies`` x the base clean."""
    con = duckdb.connect()
    problems: list[str] = []
    first_user = con.sql(f"SELECT min(user_id) FROM '{base / 'persons.parquet'}'").fetchone()[0]
    base_copy = int(first_user) // USER_OFFSET
    copies = 0
    for table in TABLES:
        (expected,) = fingerprints(con, base / f"{table}.parquet", base_copy).values()
        got = fingerprints(con, replicated / f"{table}.parquet", base_copy)
        copies = max(copies, len(got))
        differ = [k for k, value in got.items() if value != expected]
        problems += [f"{table}, copy {k}: {got[k]} != base {expected}" for k in differ]
        verdict = f"copies {differ} DIFFER" if differ else "identical"
        print(f"{table:8s} {len(got)} copies of {expected[0]:,} rows: {verdict}")
    base_ledger = con.sql(f"SELECT * FROM '{base / 'ledger.parquet'}' ORDER BY entry").df()
    ledger = con.sql(f"SELECT * FROM '{replicated / 'ledger.parquet'}' ORDER BY entry").df()
    if len(ledger) != len(base_ledger):
        problems.append(f"ledger has {len(ledger)} entries, base {len(base_ledger)}")
    else:
        for col in LEDGER_COUNTS:
            scaled = base_ledger[col] * copies
            bad = ledger[col].ne(scaled) & ~(ledger[col].isna() & base_ledger[col].isna())
            for entry in ledger.loc[bad, "entry"]:
                problems.append(f"ledger entry {entry}: {col} is not {copies} x the base's")
        print(
            f"ledger   {len(ledger)} entries, every count {copies} x the base's: "
            f"{'yes' if not any(p.startswith('ledger') for p in problems) else 'NO'}"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="clean output of the base delivery (1e7)")
    parser.add_argument("replicated", type=Path, help="clean output of the replicated delivery")
    args = parser.parse_args(argv)
    problems = verify(args.base, args.replicated)
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
