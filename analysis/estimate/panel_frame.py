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
in :func:`analysis.estimate.panel_frame.prepare_panel`.

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

from analysis.config import FOCAL_COUNTRY
from analysis.sql import identifier, literal, parquet_source

#: Text columns that hold country codes (one category set for all of them).
COUNTRY_COLUMNS: tuple[str, ...] = ("country", "origin", "prev_country")
#: The category a missing categorical control becomes (a missing degree is a group of
#: its own, not a dropped row).
MISSING_CATEGORY: str = "unknown"


def control_as_text(column: str) -> str:
    """SQL of a categorical control as text, :data:`MISSING_CATEGORY` when missing
    (the premium regressions and the compact frame group the panel the same way).

    >>> print(control_as_text("sex"))
    coalesce(CAST("sex" AS VARCHAR), 'unknown') AS "sex"
    """
    name = identifier(column)
    return f"coalesce(CAST({name} AS VARCHAR), {literal(MISSING_CATEGORY)}) AS {name}"


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
            select.append(control_as_text(c))
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


def prepare_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Fill missing categories with ``"unknown"`` (so a missing degree is a category, not a
    dropped row) and make the AI columns boolean."""
    data = panel.copy()
    if "startdate" in data and "start_year" not in data:
        # salaries are set per position when it starts: compare positions of one vintage
        data["start_year"] = pd.to_datetime(data["startdate"]).dt.year.astype(str)
    for col in CONTROL_COLUMNS:
        if col in data:
            data[col] = (
                data[col].astype("object").where(data[col].notna(), MISSING_CATEGORY).astype(str)
            )
    for col in [c for c in data.columns if c == "ai" or c.startswith("ai_")]:
        data[col] = data[col].fillna(False).astype(bool)
    return data


def skill_columns(panel: pd.DataFrame) -> list[str]:
    return sorted(c for c in panel.columns if c.startswith("ai_") and panel[c].dtype == bool)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with categorical columns as text: the subsets handed to the model
    fitters (a fraction of the panel) behave exactly as an uncompressed panel."""
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not categorical:
        return frame
    return frame.assign(**{c: frame[c].astype(object) for c in categorical})


#: Columns of the panel the workforce, profile, mobility and flow tables read.
FRAME_COLUMNS: tuple[str, ...] = (
    "user_id",
    "year",
    "country",
    "origin",
    "prev_country",
    "prev_year_observed",
    "weight",
    "ai",
    "highest_degree",
    "field",
    "job_category",
    "sex",
    "job_change",
)

#: Columns read for the person-years of Korean origin only (the mobility samples): the
#: main position, which tells a new position from a continued one
#: (:mod:`analysis.estimate.samples`), and the keys that align them with the frame.
POSITION_COLUMNS: tuple[str, ...] = ("user_id", "year", "position_id")


def read_home_positions(panel_file: Path) -> pd.DataFrame:
    """``POSITION_COLUMNS`` of the panel's rows of Korean origin, in file order (the
    order of the frame's rows of Korean origin); read apart from the frame so that
    the 8-byte position id is held for those rows only."""
    return read_panel_frame(
        panel_file, list(POSITION_COLUMNS), where=f"origin = {literal(FOCAL_COUNTRY)}"
    )


def with_positions(home_rows: pd.DataFrame, positions: pd.DataFrame) -> pd.DataFrame:
    """The frame's rows of Korean origin with their ``position_id`` (from
    :func:`read_home_positions`), after checking that the two line up row by row."""
    aligned = len(positions) == len(home_rows) and all(
        np.array_equal(positions[c].to_numpy(), home_rows[c].to_numpy())
        for c in ("user_id", "year")
    )
    if not aligned:
        raise RuntimeError("the position ids do not line up with the frame's rows of Korean origin")
    return home_rows.assign(position_id=positions["position_id"].to_numpy())
