"""Population by country and year, for flows per 10,000 residents.

``analysis/data/population.csv`` holds World Bank WDI ``SP.POP.TOTL`` for the countries of
the synthetic world, 2010-2024. The values were transcribed approximately for the anchor
years 2010, 2015, 2020 and 2024 and interpolated in between (the ``note`` column says
which); they are accurate to about 1% and should be replaced by the downloaded series
for publication.

Examples
--------
>>> from analysis.sources.population import load_population
>>> pop = load_population()
>>> int(pop.query("country == 'KOR' and year == 2024")["population"].item()) // 1_000_000
51
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import config

POPULATION_CSV: Path = config.DATA_RAW / "population.csv"


def load_population(path: str | Path | None = None) -> pd.DataFrame:
    """Load the population table; raises ``ValueError`` naming the file on bad rows."""
    path = Path(path) if path else POPULATION_CSV
    frame = pd.read_csv(path, dtype={"country": str, "year": "int64", "population": "float64"})
    bad = frame[(frame["population"] <= 0) | frame["population"].isna()]
    if len(bad):
        raise ValueError(f"{path}: column population must be positive; rows {list(bad.index + 2)}")
    if frame.duplicated(["country", "year"]).any():
        raise ValueError(f"{path}: (country, year) must be unique")
    return frame
