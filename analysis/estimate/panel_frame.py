"""Read the columns of ``panel.parquet`` that the workforce and mobility tables use, compactly.

The estimate stage's regressions read the panel in DuckDB
(:mod:`analysis.estimate.premium_engine`); the stocks, flows, profiles and mobility
samples are computed in pandas on this frame, which holds only the columns they need,
text as categoricals (one byte a row instead of an eight-byte object pointer) and the
AI flags as booleans. At the Bank of Korea's size (scale 56, 40 million person-years)
it takes about 40 bytes a row.

The text columns of one kind share their categories: ``country``, ``origin`` and
``prev_country`` all carry every country code, so comparing them works as on strings.
Missing categorical controls become ``"unknown"`` and missing AI flags ``False``, as
in :func:`analysis.estimate.stage.prepare_panel`.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"user_id": [1, 1], "year": [2023, 2024], "country": ["KOR", "USA"],
...               "origin": ["KOR", "KOR"], "sex": [None, "F"]}).to_parquet(folder / "p.parquet")
>>> frame = read_panel_frame(folder / "p.parquet", ["user_id", "year", "country", "origin",
...                                                   "sex"])
>>> frame["country"].dtype.name, (frame["country"] == frame["origin"]).tolist()
('category', [True, False])
>>> frame["sex"].tolist()
['unknown', 'F']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis.sql import identifier, parquet_source

#: Text columns that hold country codes (one category set for all of them).
COUNTRY_COLUMNS: tuple[str, ...] = ("country", "origin", "prev_country")
#: Categorical controls: a missing value is the category ``"unknown"``.
CONTROL_COLUMNS: tuple[str, ...] = (
    "seniority",
    "job_category",
    "highest_degree",
    "field",
    "sex",
    "industry",
)


def panel_columns(path: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The columns of a parquet panel, in file order."""
    con = con or duckdb.connect()
    source = parquet_source(path)
    return [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]


def read_panel_frame(
    path: str | Path,
    columns: Sequence[str],
    *,
    where: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    batch_rows: int = 1_000_000,
) -> pd.DataFrame:
    """``columns`` of the parquet panel at ``path`` (those present), compactly typed.

    Rows keep the file's order (of the rows ``where``, an SQL condition, keeps). The
    frame is built batch by batch, so memory holds the result plus one batch.
    """
    con = con or duckdb.connect()
    source = parquet_source(path)
    types = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    wanted = [c for c in columns if c in types]
    select, text = [], []
    for c in wanted:
        if c in CONTROL_COLUMNS:
            select.append(
                f"coalesce(CAST({identifier(c)} AS VARCHAR), 'unknown') AS {identifier(c)}"
            )
            text.append(c)
        elif types[c] == "BOOLEAN":
            # a missing flag is False (an AI flag, or "changed employer": not observed)
            select.append(f"coalesce({identifier(c)}, false) AS {identifier(c)}")
        else:
            select.append(identifier(c))
            if types[c] == "VARCHAR":
                text.append(c)
    categories: dict[str, list[str]] = {}
    countries = [c for c in text if c in COUNTRY_COLUMNS]
    if countries:
        union = " UNION ".join(f"SELECT {identifier(c)} AS v FROM {source}" for c in countries)
        values = con.sql(f"SELECT DISTINCT v FROM ({union})").fetchall()
        codes = sorted(r[0] for r in values if r[0] is not None)
        categories.update({c: codes for c in countries})
    for c in text:
        if c not in categories:
            expr = select[wanted.index(c)]
            values = con.sql(f"SELECT DISTINCT {expr} FROM {source}").fetchall()
            categories[c] = sorted(r[0] for r in values if r[0] is not None)
    condition = f" WHERE {where}" if where else ""
    n_rows = con.sql(f"SELECT count(*) FROM {source}{condition}").fetchone()[0]
    reader = con.sql(f"SELECT {', '.join(select)} FROM {source}{condition}").to_arrow_reader(
        batch_rows
    )
    # one array per column, filled batch by batch: no second copy of the frame
    arrays: dict[str, np.ndarray] = {}
    start = 0
    for batch in reader:
        frame = batch.to_pandas()
        stop = start + len(frame)
        for c in wanted:
            if c in categories:
                values = pd.Categorical(frame[c], categories=categories[c]).codes
            else:
                values = frame[c].to_numpy()
            if c not in arrays:
                arrays[c] = np.empty(n_rows, dtype=values.dtype)
            elif arrays[c].dtype != values.dtype:  # e.g. integers with a missing value
                arrays[c] = arrays[c].astype(np.result_type(arrays[c].dtype, values.dtype))
            arrays[c][start:stop] = values
        start = stop
    out = pd.DataFrame(
        {
            c: pd.Categorical.from_codes(arrays[c], categories=categories[c])
            if c in categories
            else arrays[c]
            for c in wanted
        }
        if arrays
        else {c: [] for c in wanted},
        copy=False,  # one block per column: consolidating would copy the frame once more
    )
    return out
