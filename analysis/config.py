"""One place for paths, seeds and defaults.

Every other module takes its defaults from here, so no path or seed is written
twice. Paths can be overridden with environment variables, which is how CI and
users point the package at data that does not live in the repository.

Two kinds of path:

- **Package data** (:data:`DATA_RAW`, the notebooks, ``params.toml``) is read from the
  package folder, :data:`PACKAGE_DIR`, wherever the package is: in a source checkout
  or in ``site-packages`` after ``pip install``. Nothing is written there.
- **Outputs** (deliveries, processed tables, estimates, reports) go under the project
  folder, :data:`PROJECT_DIR`: ``$ANALYSIS_PROJECT_DIR`` if set; otherwise the source
  checkout when the package is imported from one (so ``make all`` writes into the
  repository's ``data/`` and ``reports/``); otherwise the current working directory,
  never ``site-packages``.

Examples
--------
>>> from analysis import config
>>> config.DEFAULT_YEARS
(2010, 2024)
>>> config.DATA_RAW.relative_to(config.PACKAGE_DIR).as_posix()
'data'
>>> config.DATA_ESTIMATES.relative_to(config.PROJECT_DIR).as_posix()
'data/estimates'
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

#: The imported package's folder. Pip unpacks a wheel into a plain folder, so files in it
#: are ordinary paths that pandas and DuckDB can open. Read-only: nothing is written here.
PACKAGE_DIR: Path = Path(__file__).resolve().parent

#: The distribution name in ``pyproject.toml``; how a source checkout is recognised.
DISTRIBUTION: str = "kr-ai-talent"

#: The environment variable that sets the project folder (:data:`PROJECT_DIR`).
PROJECT_ENV_VAR: str = "ANALYSIS_PROJECT_DIR"


def find_source_checkout(package_dir: Path) -> Path | None:
    """The source checkout that holds ``package_dir``, or ``None`` for an installed package.

    In a checkout (or an editable install of one) the package folder sits beside the
    ``pyproject.toml`` that names this distribution; in ``site-packages`` it does not.

    Parameters
    ----------
    package_dir
        The package's folder (:data:`PACKAGE_DIR`).

    Returns
    -------
    pathlib.Path or None
        The checkout's root folder, or ``None``.
    """
    pyproject = package_dir.parent / "pyproject.toml"
    try:
        with pyproject.open("rb") as file:
            name = tomllib.load(file).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return package_dir.parent if name == DISTRIBUTION else None


def find_project_dir(
    source_checkout: Path | None, environ: Mapping[str, str], cwd: Path | None = None
) -> Path:
    """The folder that outputs go under: ``$ANALYSIS_PROJECT_DIR``, else the source
    checkout, else ``cwd``.

    Parameters
    ----------
    source_checkout
        :func:`find_source_checkout`'s answer.
    environ
        The environment (:data:`os.environ`).
    cwd
        The current working directory (default: :meth:`pathlib.Path.cwd`, asked only
        when needed).

    Returns
    -------
    pathlib.Path
        An absolute path (a relative ``$ANALYSIS_PROJECT_DIR`` is taken from ``cwd``).

    Examples
    --------
    >>> from pathlib import Path
    >>> find_project_dir(None, {}, Path("/home/me/study")).as_posix()
    '/home/me/study'
    >>> find_project_dir(Path("/src/repo"), {}, Path("/home/me/study")).as_posix()
    '/src/repo'
    >>> find_project_dir(None, {"ANALYSIS_PROJECT_DIR": "runs"}, Path("/tmp")).as_posix()
    '/tmp/runs'
    """
    if environ.get(PROJECT_ENV_VAR):
        return (cwd or Path.cwd()) / Path(environ[PROJECT_ENV_VAR]).expanduser()
    return source_checkout if source_checkout is not None else (cwd or Path.cwd())


#: The imported package's folder. Pip unpacks a wheel into a plain folder, so files in it
#: are ordinary paths that pandas and DuckDB can open. Read-only: nothing is written here.
PACKAGE_DIR: Path = Path(__file__).resolve().parent
#: Root of the source checkout the package is imported from (the folder holding
#: ``pyproject.toml``); ``None`` when the package is installed (``site-packages``).
SOURCE_ROOT: Path | None = find_source_checkout(PACKAGE_DIR)
#: Where outputs go by default (see the module's docstring); read once, at import.
PROJECT_DIR: Path = find_project_dir(SOURCE_ROOT, os.environ)

#: Immutable inputs that ship inside the package (registries, taxonomies): package data,
#: so they are in the wheel too.
DATA_RAW: Path = PACKAGE_DIR / "data"
#: Outputs of the cleaning stage; never edited by hand.
DATA_PROCESSED: Path = Path(
    os.environ.get("ANALYSIS_PROCESSED_DIR", PROJECT_DIR / "data" / "processed")
)
#: Deliveries written by the synthetic world (or copied real ones) by default.
DATA_DELIVERY: Path = Path(
    os.environ.get("ANALYSIS_DELIVERY_DIR", PROJECT_DIR / "data" / "delivery")
)
#: Estimation outputs (tidy CSV tables).
DATA_ESTIMATES: Path = Path(
    os.environ.get("ANALYSIS_ESTIMATES_DIR", PROJECT_DIR / "data" / "estimates")
)
#: The validation stage's output (estimates against the published figures).
DATA_VALIDATION: Path = Path(
    os.environ.get("ANALYSIS_VALIDATION_DIR", PROJECT_DIR / "data" / "validation")
)
#: The worldbank stage's output (the World Bank-LinkedIn analyses).
DATA_WORLDBANK: Path = Path(
    os.environ.get("ANALYSIS_WORLDBANK_DIR", PROJECT_DIR / "data" / "worldbank")
)
#: Executed notebooks, figures, tables and HTML pages.
REPORTS: Path = Path(os.environ.get("ANALYSIS_REPORTS_DIR", PROJECT_DIR / "reports"))

#: The project's shared folder (design docs, seed articles, public data), which sits
#: beside the project folder (the repository in a checkout; CI clones it next to it).
SHARED_DIR: Path = Path(os.environ.get("ANALYSIS_SHARED_DIR", PROJECT_DIR.parent / "shared"))


def inside_installation(path: str | Path) -> bool:
    """Does ``path`` lie in the folder an installed package sits in (``site-packages``)?

    Always ``False`` in a source checkout, where the package folder is part of the
    project. Stages refuse to write there (:func:`analysis.output_set.check_output_folder`).

    Parameters
    ----------
    path
        A file or folder, existing or not.

    Returns
    -------
    bool
        ``True`` if the package is installed and ``path`` is, or is inside, the folder
        holding it.
    """
    if SOURCE_ROOT is not None:
        return False
    target, installed = Path(path).resolve(), PACKAGE_DIR.parent
    return target == installed or installed in target.parents


#: The published-figures registry (one row per number, with its source).
PUBLISHED_FIGURES_CSV: Path = DATA_RAW / "published_figures.csv"

#: The World Bank-LinkedIn talent-migration workbook is not committed; this
#: environment variable (or a ``--path`` argument) points at a local copy.
WORLDBANK_ENV_VAR: str = "WORLDBANK_TALENT_MIGRATION_XLSX"

#: DuckDB's memory limit in the clean and estimate stages (DuckDB takes 80% of RAM
#: otherwise); beyond it DuckDB spills to disk. ``ANALYSIS_DUCKDB_MEMORY_LIMIT`` overrides.
DUCKDB_MEMORY_LIMIT: str = os.environ.get("ANALYSIS_DUCKDB_MEMORY_LIMIT", "3GB")

#: The country the Bank of Korea's note studies (ISO3): its premium, its AI workforce at
#: home and abroad, its flows. Every stage that singles out one country uses this.
FOCAL_COUNTRY: str = "KOR"

#: Default seed of every random process in the package.
DEFAULT_SEED: int = 20251205
#: Default analysis window, inclusive (the BOK report covers 2010-2024).
DEFAULT_YEARS: tuple[int, int] = (2010, 2024)


# --------------------------------------------------------------------------- plausibility
@dataclass(frozen=True)
class Bound:
    """The plausible range of one column of a delivery.

    The reader (:mod:`analysis.sources.revelio.reader`) turns each bound into a row
    rule: a row whose value lies outside the range is quarantined (users: the value
    is set to missing) and counted in the ledger under a reason that names the bound,
    such as ``"salary above plausible maximum 1e7"``. Missing values are never
    outside a bound.

    Attributes
    ----------
    minimum, maximum
        Smallest and largest plausible value, in the column's unit (annual USD, a
        weight, a date); ``None``: no bound on that side.
    months_after_delivery
        Dates only: the latest plausible value is the delivery date plus this many
        months (spells and studies listed ahead of time).
    not_after_run_date
        Dates only: a value after the day the delivery is read is implausible.
    why
        The reason for the bound: what a value outside it would mean.
    """

    minimum: float | date | None = None
    maximum: float | None = None
    months_after_delivery: int | None = None
    not_after_run_date: bool = False
    why: str = ""


#: Earliest plausible spell date: a job or school spell starting before 1950 belongs
#: to someone about 90 or older at any delivery since 2020; earlier years on profiles
#: are typing errors or placeholders (1900, 0001).
EARLIEST_SPELL_DATE: date = date(1950, 1, 1)

#: LinkedIn's public launch: no profile snapshot (``updated_dt``) can be older.
LINKEDIN_LAUNCH: date = date(2003, 5, 5)

#: Plausible values of the delivery's columns, keyed by ``(table, column)``; the one
#: place where they are set. The synthetic world (calibrated to the real data) writes
#: no value outside them at any scale from 0.001 up: salaries up to about 7e5, total
#: compensation up to about 8e5, weights up to about 6e3 / scale, spell starts up to
#: 5 months and ends up to 33 months after the delivery date, education from 1963 on.
PLAUSIBILITY_BOUNDS: dict[tuple[str, str], Bound] = {
    ("positions", "salary"): Bound(
        maximum=1e7,
        why="annual USD, modelled from postings and visa filings, whose largest values "
        "are in the low millions; above 1e7 is a unit or currency error (a Korean "
        "salary in won is about 5e7) or an overflow, and one such value moves a "
        "country's mean log salary (1e20 turned a -5% premium into -99%)",
    ),
    ("positions", "total_compensation"): Bound(
        maximum=1e7,
        why="salary plus modelled additional compensation, same unit and sources as "
        "salary: the same bound catches the same unit and currency errors",
    ),
    ("positions", "weight"): Bound(
        maximum=1e7,
        why="an inverse LinkedIn coverage rate; above 1e7 one profile would stand for "
        "ten million workers of its role and place, a coverage below any the data "
        "has. Weighted sums of values near 1e300 overflow to inf",
    ),
    ("positions", "startdate"): Bound(
        minimum=EARLIEST_SPELL_DATE,
        months_after_delivery=12,
        why="a job accepted and listed before it starts begins within months of the "
        "snapshot; later starts are typing errors",
    ),
    ("positions", "enddate"): Bound(
        minimum=EARLIEST_SPELL_DATE,
        months_after_delivery=60,
        why="fixed-term jobs list an expected end, a few years out at most; later ends "
        "are typing errors or 'open' placeholders such as 9999-12-31",
    ),
    ("education", "startdate"): Bound(
        minimum=EARLIEST_SPELL_DATE,
        months_after_delivery=24,
        why="admitted students list a programme up to a year or two ahead",
    ),
    ("education", "enddate"): Bound(
        minimum=EARLIEST_SPELL_DATE,
        months_after_delivery=120,
        why="students list an expected graduation, up to about seven years out for a "
        "doctorate; later is a typing error",
    ),
    ("skills", "first_reported"): Bound(
        minimum=EARLIEST_SPELL_DATE,
        months_after_delivery=1,
        why="a skill is first reported on a dated profile, so neither before the "
        "earliest plausible spell nor after the snapshot (one month of slack for "
        "month-level dates)",
    ),
    ("users", "updated_dt"): Bound(
        minimum=LINKEDIN_LAUNCH,
        not_after_run_date=True,
        why="the snapshot date of a profile: not before LinkedIn existed and not in the "
        "future of the day the delivery is read; the delivery date is the latest "
        "plausible updated_dt, so one date in 2099 would otherwise move it",
    ),
}
