"""Small reference tables the cleaning joins to: years, AI taxonomy, PPP price levels.

They are staged as parquet next to the delivery's tables so that every engine reads
all its inputs the same way (no engine-specific in-memory tables).

``analysis/data/ppp_price_levels.csv`` has one row per (country, year): ``country``
(ISO3), ``year``, ``price_level`` (PPP conversion factor divided by the market
exchange rate, US = 1; World Bank WDI ``PA.NUS.PPPC.RF``), ``source`` and ``note``.
A salary in US dollars at market rates divided by the price level is a salary in
PPP (US) dollars.

Examples
--------
>>> from analysis.clean.lookups import load_ppp, cluster_column
>>> ppp = load_ppp()
>>> float(ppp.loc[(ppp.country == "USA") & (ppp.year == 2020), "price_level"].iloc[0])
1.0
>>> cluster_column("natural language processing")
'ai_natural_language_processing'
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import config
from analysis.io import write_atomic
from analysis.sources.taxonomy import load_ai_taxonomy

PPP_CSV: Path = config.DATA_RAW / "ppp_price_levels.csv"
PPP_COLUMNS: list[str] = ["country", "year", "price_level", "source", "note"]


class ReferenceTableError(ValueError):
    """A reference table that breaks its own rules."""


def cluster_column(cluster: str) -> str:
    """Panel column name of an AI cluster: ``ai_`` plus the name in snake case."""
    return "ai_" + re.sub(r"[^a-z0-9]+", "_", cluster.strip().lower()).strip("_")


def load_ppp(path: str | Path | None = None) -> pd.DataFrame:
    """Load and check the PPP price-level table.

    Raises
    ------
    ReferenceTableError
        Naming the file when columns are missing, a country is not an upper-case ISO3
        code, a (country, year) appears twice, or a price level is not positive.
    """
    path = Path(path) if path else PPP_CSV
    frame = pd.read_csv(path, dtype={"country": str, "source": str, "note": str})
    missing = [c for c in PPP_COLUMNS if c not in frame.columns]
    if missing:
        raise ReferenceTableError(f"{path}: missing column(s) {missing}")
    bad_code = ~frame["country"].astype(str).str.fullmatch(r"[A-Z]{3}")
    if bad_code.any():
        raise ReferenceTableError(
            f"{path}: rows {list(frame.index[bad_code] + 2)} are not ISO3 codes"
        )
    if frame.duplicated(["country", "year"]).any():
        raise ReferenceTableError(f"{path}: (country, year) is not unique")
    level = pd.to_numeric(frame["price_level"], errors="coerce")
    if not (level > 0).all():
        raise ReferenceTableError(f"{path}: price_level must be a positive number on every row")
    return frame.assign(year=frame["year"].astype("int32"), price_level=level.astype("float64"))


def taxonomy_keys(path: str | Path | None = None) -> pd.DataFrame:
    """The taxonomy as match keys: ``name_key`` (lower case), ``name_type``, ``cluster``
    (the panel column name, see :func:`cluster_column`), one row per distinct triple."""
    taxonomy = load_ai_taxonomy(path)
    keys = pd.DataFrame(
        {
            "name_key": taxonomy["name"].str.strip().str.lower(),
            "name_type": taxonomy["name_type"],
            "cluster": taxonomy["cluster"].map(cluster_column),
        }
    )
    return keys.drop_duplicates().sort_values(["name_type", "name_key"]).reset_index(drop=True)


def stage_lookups(
    out_dir: Path,
    years: tuple[int, int],
    *,
    ppp_path: str | Path | None = None,
    taxonomy_path: str | Path | None = None,
) -> dict[str, Path]:
    """Write ``years``, ``ai_taxonomy`` and ``ppp`` parquet files to ``out_dir``."""
    first, last = years
    if first > last:
        raise ValueError(f"years must be (first, last) with first <= last, got {years}")
    ppp = load_ppp(ppp_path)[["country", "year", "price_level"]]
    tables = {
        "years": pa.table({"year": pa.array(range(first, last + 1), type=pa.int32())}),
        "ai_taxonomy": pa.Table.from_pandas(taxonomy_keys(taxonomy_path), preserve_index=False),
        "ppp": pa.Table.from_pandas(ppp, preserve_index=False),
    }
    written = {}
    for name, table in tables.items():
        written[name] = write_atomic(
            out_dir / f"{name}.parquet", lambda tmp, t=table: pq.write_table(t, tmp)
        )
    return written
