"""One place for paths, seeds and defaults.

Every other module takes its defaults from here, so no path or seed is written
twice. Paths can be overridden with environment variables, which is how CI and
users point the package at data that does not live in the repository.

Examples
--------
>>> from analysis import config
>>> config.DEFAULT_YEARS
(2010, 2024)
>>> config.DATA_RAW.name
'raw'
"""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the source tree (the folder holding ``pyproject.toml``).
REPO_ROOT: Path = Path(__file__).resolve().parents[1]

#: Immutable inputs that ship with the repository (registries, taxonomies).
DATA_RAW: Path = REPO_ROOT / "data" / "raw"
#: Outputs of the cleaning stage; never edited by hand.
DATA_PROCESSED: Path = Path(
    os.environ.get("ANALYSIS_PROCESSED_DIR", REPO_ROOT / "data" / "processed")
)
#: Deliveries written by the synthetic world (or copied real ones) by default.
DATA_DELIVERY: Path = Path(os.environ.get("ANALYSIS_DELIVERY_DIR", REPO_ROOT / "data" / "delivery"))
#: Estimation outputs (tidy CSV tables).
DATA_ESTIMATES: Path = Path(
    os.environ.get("ANALYSIS_ESTIMATES_DIR", REPO_ROOT / "data" / "estimates")
)
#: Executed notebooks, figures, tables and HTML pages.
REPORTS: Path = Path(os.environ.get("ANALYSIS_REPORTS_DIR", REPO_ROOT / "reports"))

#: The project's shared folder (design docs, seed articles, public data), which sits
#: beside the repository; CI clones the repository next to it.
SHARED_DIR: Path = Path(os.environ.get("ANALYSIS_SHARED_DIR", REPO_ROOT.parent / "shared"))

#: The published-figures registry (one row per number, with its source).
PUBLISHED_FIGURES_CSV: Path = DATA_RAW / "published_figures.csv"

#: The World Bank-LinkedIn talent-migration workbook is not committed; this
#: environment variable (or a ``--path`` argument) points at a local copy.
WORLDBANK_ENV_VAR: str = "WORLDBANK_TALENT_MIGRATION_XLSX"

#: DuckDB's memory limit in the clean and estimate stages (DuckDB takes 80% of RAM
#: otherwise); beyond it DuckDB spills to disk. ``ANALYSIS_DUCKDB_MEMORY_LIMIT`` overrides.
DUCKDB_MEMORY_LIMIT: str = os.environ.get("ANALYSIS_DUCKDB_MEMORY_LIMIT", "3GB")

#: Default seed of every random process in the package.
DEFAULT_SEED: int = 20251205
#: Default analysis window, inclusive (the BOK report covers 2010-2024).
DEFAULT_YEARS: tuple[int, int] = (2010, 2024)
