"""Registry of published figures: the validation targets of the package.

Every number that public sources report about AI talent, pay and mobility in Korea and its
peers (the Bank of Korea Issue Note of 5 Dec 2025 as covered by the press, the Stanford AI
Index, KCCI, ...) lives in one CSV, ``analysis/data/published_figures.csv``, with its exact
definition and source. This module loads and validates it.

Columns
-------
``id``
    Unique snake_case identifier (e.g. ``premium_kr_2024``). Where the source table holds
    several numbers in one row, each number has its own id with a suffix
    (``premium_uk``, ``premium_fr``, ...).
``figure``
    Short human-readable label.
``kind``
    One of :data:`KINDS`:

    - ``number``: a point value in ``value``. ``value_low``/``value_high`` may record the
      spread across outlets (e.g. ``kr_ai_workers_2010``).
    - ``range``: a published interval; ``value_low`` and ``value_high`` are required,
      ``value`` is optional (a central figure if one was published).
    - ``bound``: a one-sided figure such as "over 550 m won"; ``value_low`` (lower bound)
      or ``value_high`` (upper bound) is required and ``value`` repeats the stated
      threshold when there is one.
    - ``qualitative``: a claim without a number; ``value``, ``value_low``, ``value_high``
      and ``unit`` are empty, the claim is in ``definition`` and, for patterns that code
      can check, a machine-readable ``pattern`` such as
      ``net_outflow_years=2010-2019,2021-2024;net_inflow_years=2020``.
``value``, ``value_low``, ``value_high``
    Plain numbers in the stated unit (``float``; missing is ``NaN``).
``unit``
    One of :data:`UNITS` (empty only for qualitative rows):

    - ``persons``: head counts (57,000 people is ``57000``, not ``57``);
    - ``percent``: percentages as percent numbers (6% is ``6``);
    - ``percentage_points``: differences of percentages (+14 pp is ``14``);
    - ``per_10000_members``: LinkedIn net migration per 10,000 members;
    - ``rank``: ordinal rank (3rd is ``3``);
    - ``usd_bn``: billions of US dollars;
    - ``krw_m``: millions of Korean won;
    - ``krw_trn``: trillions of Korean won.
``year``
    Reference year (nullable ``Int64``); for period figures, the end year, with the period
    stated in ``definition``.
``country``
    ISO 3166-1 alpha-3 code of the country the figure describes (``KOR`` for Korean workers
    abroad), empty if none.
``definition``, ``source``, ``source_detail``, ``pattern``, ``notes``
    Text (``string`` dtype, empty string when absent). ``source`` names the publication,
    ``source_detail`` the outlet or seed article it was read from.

Examples
--------
>>> from analysis.sources.published import figure_value, load_published_figures
>>> figures = load_published_figures()
>>> figure_value(figures, "premium_kr_2024")
6.0
>>> figures.loc[figures["unit"] == "persons", "id"].iloc[0]
'kr_ai_workers_2024'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config

__all__ = [
    "BOK_PREMIUM_IDS",
    "COLUMNS",
    "DEFAULT_PATH",
    "KINDS",
    "UNITS",
    "PublishedFiguresError",
    "figure_value",
    "get_figure",
    "load_published_figures",
    "parse_year_pattern",
]

BOK_PREMIUM_IDS: dict[str, str] = {
    "KOR": "premium_kr_2024",
    "USA": "premium_us",
    "CAN": "premium_ca",
    "GBR": "premium_uk",
    "FRA": "premium_fr",
    "AUS": "premium_au",
}
"""The six countries whose AI wage premiums the BOK compares (ISO3) -> registry ids."""


def parse_year_pattern(pattern: str) -> dict[str, list[int]]:
    """Parse a registry ``pattern`` such as ``a_years=2010-2019,2021;b_years=2020``.

    Returns ``{key: sorted years}``; ranges are inclusive.

    >>> parse_year_pattern("net_outflow_years=2010-2012,2014;net_inflow_years=2013")
    {'net_outflow_years': [2010, 2011, 2012, 2014], 'net_inflow_years': [2013]}
    """
    out: dict[str, list[int]] = {}
    for part in filter(None, (p.strip() for p in pattern.split(";"))):
        key, _, spec = part.partition("=")
        years: set[int] = set()
        for item in filter(None, (s.strip() for s in spec.split(","))):
            low, _, high = item.partition("-")
            years.update(range(int(low), int(high or low) + 1))
        out[key.strip()] = sorted(years)
    return out


DEFAULT_PATH: Path = config.PUBLISHED_FIGURES_CSV
"""Default location of the registry: ``<package>/data/published_figures.csv``."""

COLUMNS: tuple[str, ...] = (
    "id",
    "figure",
    "kind",
    "value",
    "value_low",
    "value_high",
    "unit",
    "year",
    "country",
    "definition",
    "source",
    "source_detail",
    "pattern",
    "notes",
)
"""Columns of the registry, in file order."""

KINDS: frozenset[str] = frozenset({"number", "range", "bound", "qualitative"})
"""Allowed values of ``kind``."""

UNITS: frozenset[str] = frozenset(
    {
        "persons",
        "percent",
        "percentage_points",
        "per_10000_members",
        "rank",
        "usd_bn",
        "krw_m",
        "krw_trn",
    }
)
"""Allowed values of ``unit`` (empty is allowed only for qualitative rows)."""

NUMERIC_COLUMNS: tuple[str, ...] = ("value", "value_low", "value_high")
TEXT_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in {*NUMERIC_COLUMNS, "year"})
REQUIRED_TEXT: tuple[str, ...] = ("id", "figure", "kind", "definition", "source")

_ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_ISO3_RE = re.compile(r"^[A-Z]{3}$")
_PATTERN_RE = re.compile(r"^[a-z][a-z0-9_]*=[^;=]+(?:;[a-z][a-z0-9_]*=[^;=]+)*$")
_MAX_LISTED = 20


class PublishedFiguresError(ValueError):
    """The published-figures registry is malformed.

    Parameters
    ----------
    path
        File that failed validation.
    column
        Column where the problem was found.
    problem
        What is wrong.
    offenders
        Offending ids (or ``line N`` labels when the id itself is missing).

    Examples
    --------
    >>> err = PublishedFiguresError("figs.csv", "kind", "not in the vocabulary", ["x_1"])
    >>> str(err)
    "figs.csv: column 'kind': not in the vocabulary: x_1"
    """

    def __init__(
        self,
        path: str | Path,
        column: str,
        problem: str,
        offenders: Iterable[str] = (),
    ) -> None:
        self.path = Path(path)
        self.column = column
        self.offenders = list(offenders)
        listed = ", ".join(self.offenders[:_MAX_LISTED])
        if len(self.offenders) > _MAX_LISTED:
            listed += f", ... ({len(self.offenders)} in all)"
        message = f"{path}: column {column!r}: {problem}"
        if listed:
            message += f": {listed}"
        super().__init__(message)


def _labels(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> list[str]:
    """Ids of the masked rows, or ``line N`` (1-based, header is line 1) for empty ids."""
    rows = frame.loc[np.asarray(mask, dtype=bool)]
    return [
        str(row_id) if row_id else f"line {line + 2}"
        for line, row_id in zip(rows.index, rows["id"], strict=True)
    ]


def _parse_numbers(raw: pd.DataFrame, path: Path) -> dict[str, pd.Series]:
    """Convert the numeric text columns to float, naming non-numeric entries."""
    parsed: dict[str, pd.Series] = {}
    for column in (*NUMERIC_COLUMNS, "year"):
        text = raw[column]
        numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = (text != "") & numbers.isna()
        if bad.any():
            entries = [
                f"{label} ({value!r})"
                for label, value in zip(_labels(raw, bad), text[bad], strict=True)
            ]
            raise PublishedFiguresError(path, column, "not a number", entries)
        infinite = np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            raise PublishedFiguresError(path, column, "not finite", _labels(raw, infinite))
        parsed[column] = numbers.astype("float64")
    year = parsed["year"]
    fractional = year.notna() & (year != year.round())
    if fractional.any():
        raise PublishedFiguresError(path, "year", "not an integer", _labels(raw, fractional))
    implausible = year.notna() & ~year.between(1900, 2100)
    if implausible.any():
        raise PublishedFiguresError(path, "year", "outside 1900-2100", _labels(raw, implausible))
    return parsed


def _validate(frame: pd.DataFrame, path: Path) -> None:
    """Check the row-level rules; ``frame`` has typed columns and a 0..n-1 index."""
    ids = frame["id"]
    empty_id = ids == ""
    if empty_id.any():
        raise PublishedFiguresError(path, "id", "empty id", _labels(frame, empty_id))
    duplicated = ids.duplicated(keep=False)
    if duplicated.any():
        raise PublishedFiguresError(path, "id", "duplicate ids", sorted(set(ids[duplicated])))
    malformed = ~ids.str.fullmatch(_ID_RE.pattern).astype(bool)
    if malformed.any():
        raise PublishedFiguresError(
            path, "id", "not snake_case ([a-z0-9_])", _labels(frame, malformed)
        )
    for column in REQUIRED_TEXT[1:]:
        missing = frame[column] == ""
        if missing.any():
            raise PublishedFiguresError(path, column, "empty", _labels(frame, missing))

    kind = frame["kind"]
    bad_kind = ~kind.isin(KINDS)
    if bad_kind.any():
        raise PublishedFiguresError(
            path,
            "kind",
            f"not one of {sorted(KINDS)}",
            [f"{i} ({k!r})" for i, k in zip(ids[bad_kind], kind[bad_kind], strict=True)],
        )
    qualitative = kind == "qualitative"
    unit = frame["unit"]
    bad_unit = ~unit.isin(UNITS) & ~(qualitative & (unit == ""))
    if bad_unit.any():
        raise PublishedFiguresError(
            path,
            "unit",
            f"not one of {sorted(UNITS)} (empty only for qualitative rows)",
            [f"{i} ({u!r})" for i, u in zip(ids[bad_unit], unit[bad_unit], strict=True)],
        )
    stray_unit = qualitative & (unit != "")
    if stray_unit.any():
        raise PublishedFiguresError(
            path, "unit", "qualitative rows take no unit", list(ids[stray_unit])
        )

    value, low, high = frame["value"], frame["value_low"], frame["value_high"]
    for column in NUMERIC_COLUMNS:
        stray = qualitative & frame[column].notna()
        if stray.any():
            raise PublishedFiguresError(
                path, column, "qualitative rows take no number", list(ids[stray])
            )
    no_value = (kind == "number") & value.isna()
    if no_value.any():
        raise PublishedFiguresError(
            path, "value", "kind 'number' needs a value", list(ids[no_value])
        )
    for column in ("value_low", "value_high"):
        open_range = (kind == "range") & frame[column].isna()
        if open_range.any():
            raise PublishedFiguresError(
                path, column, "kind 'range' needs value_low and value_high", list(ids[open_range])
            )
    unbounded = (kind == "bound") & low.isna() & high.isna()
    if unbounded.any():
        raise PublishedFiguresError(
            path,
            "value_low",
            "kind 'bound' needs value_low or value_high",
            list(ids[unbounded]),
        )
    crossed = low.notna() & high.notna() & (low > high)
    if crossed.any():
        raise PublishedFiguresError(path, "value_low", "value_low > value_high", list(ids[crossed]))
    below = value.notna() & low.notna() & (value < low)
    if below.any():
        raise PublishedFiguresError(path, "value", "value below value_low", list(ids[below]))
    above = value.notna() & high.notna() & (value > high)
    if above.any():
        raise PublishedFiguresError(path, "value", "value above value_high", list(ids[above]))

    country = frame["country"]
    bad_country = (country != "") & ~country.str.fullmatch(_ISO3_RE.pattern).astype(bool)
    if bad_country.any():
        raise PublishedFiguresError(
            path, "country", "not an ISO3 code", _labels(frame, bad_country)
        )
    pattern = frame["pattern"]
    stray_pattern = (pattern != "") & ~qualitative
    if stray_pattern.any():
        raise PublishedFiguresError(
            path, "pattern", "only qualitative rows take a pattern", list(ids[stray_pattern])
        )
    bad_pattern = (pattern != "") & ~pattern.str.fullmatch(_PATTERN_RE.pattern).astype(bool)
    if bad_pattern.any():
        raise PublishedFiguresError(
            path,
            "pattern",
            "not of the form key=value;key=value",
            list(ids[bad_pattern]),
        )


def load_published_figures(path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate the registry of published figures.

    Parameters
    ----------
    path
        CSV file to read; default :data:`DEFAULT_PATH`
        (``<package>/data/published_figures.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per figure, columns in :data:`COLUMNS` order: ``value``, ``value_low`` and
        ``value_high`` as ``float64`` (``NaN`` when absent), ``year`` as nullable ``Int64``,
        the text columns as ``string`` with ``""`` when absent. The index is a
        ``RangeIndex`` in file order.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    PublishedFiguresError
        If a required column is missing or unexpected, an id is empty, duplicated or not
        snake_case, ``kind`` or ``unit`` is outside the vocabulary, a number does not
        parse, a numeric row lacks its value (or bounds), ``value_low <= value <=
        value_high`` fails, or a qualitative row carries a number. The message names the
        file, the column and the offending ids (or ``line N`` when the id is empty).

    Examples
    --------
    >>> figures = load_published_figures()
    >>> row = figures.set_index("id").loc["grad_cost_combined"]
    >>> row["kind"], float(row["value_low"]), row["unit"]
    ('bound', 550.0, 'krw_m')
    >>> figures["year"].dtype
    Int64Dtype()
    """
    path = DEFAULT_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"published-figures registry not found: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PublishedFiguresError(path, "<file>", f"cannot be parsed as CSV ({exc})") from exc
    raw.columns = [str(c).strip() for c in raw.columns]

    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise PublishedFiguresError(path, ", ".join(missing), "required column missing")
    unexpected = [c for c in raw.columns if c not in COLUMNS]
    if unexpected:
        raise PublishedFiguresError(
            path, ", ".join(unexpected), f"unexpected column (expected {list(COLUMNS)})"
        )
    duplicated_columns = raw.columns[raw.columns.duplicated()].tolist()
    if duplicated_columns:
        raise PublishedFiguresError(path, ", ".join(duplicated_columns), "duplicate column")

    raw = raw.loc[:, list(COLUMNS)].apply(lambda s: s.str.strip()).reset_index(drop=True)
    numbers = _parse_numbers(raw, path)

    frame = pd.DataFrame(index=raw.index)
    for column in COLUMNS:
        if column == "year":
            frame[column] = numbers["year"].round().astype("Int64")
        elif column in NUMERIC_COLUMNS:
            frame[column] = numbers[column]
        else:
            frame[column] = raw[column].astype("string")
    _validate(frame, path)
    return frame


def get_figure(figures: pd.DataFrame, id: str) -> pd.Series:
    """Return the registry row of one figure.

    Parameters
    ----------
    figures
        Frame returned by :func:`load_published_figures`.
    id
        Figure id, e.g. ``"kr_abroad_2024"``.

    Returns
    -------
    pandas.Series
        The row, indexed by column name (``name`` is the id).

    Raises
    ------
    KeyError
        If no row has that id; the message lists close ids and, for an id that was split
        into several rows, its children (``skill_share_2024`` ->
        ``skill_share_2024_cloud``, ...).

    Examples
    --------
    >>> figures = load_published_figures()
    >>> get_figure(figures, "kr_abroad_us_2024")["unit"]
    'persons'
    >>> get_figure(figures, "premium_kr")
    Traceback (most recent call last):
    ...
    KeyError: "no published figure 'premium_kr'; close ids: premium_kr_2024, ...
    """
    matches = figures.loc[figures["id"] == id]
    if len(matches) == 1:
        row = matches.iloc[0].copy()
        row.name = id
        return row
    if len(matches) > 1:
        raise PublishedFiguresError("<frame>", "id", "duplicate ids", [id])
    known = [str(i) for i in figures["id"]]
    children = [i for i in known if i.startswith(f"{id}_")]
    close = difflib.get_close_matches(id, known, n=8, cutoff=0.6)
    suggestions = list(dict.fromkeys([*children, *close]))
    hint = f"; close ids: {', '.join(suggestions)}" if suggestions else ""
    raise KeyError(f"no published figure {id!r}{hint}")


def figure_value(figures: pd.DataFrame, id: str) -> float:
    """Return the ``value`` of one figure as a float.

    Parameters
    ----------
    figures
        Frame returned by :func:`load_published_figures`.
    id
        Figure id.

    Returns
    -------
    float
        The published value in the row's ``unit``. For a ``bound`` this is the stated
        threshold (look at ``value_low``/``value_high`` for the direction).

    Raises
    ------
    KeyError
        If the id is unknown (see :func:`get_figure`).
    ValueError
        If the figure has no value (qualitative rows, or a range published without a
        central value).

    Examples
    --------
    >>> figures = load_published_figures()
    >>> figure_value(figures, "kr_ai_workers_2024")
    57000.0
    """
    row = get_figure(figures, id)
    value = row["value"]
    if pd.isna(value):
        raise ValueError(
            f"published figure {id!r} (kind {row['kind']!r}) has no value; "
            "use value_low/value_high or definition"
        )
    return float(value)
