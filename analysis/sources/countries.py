"""Country names to ISO 3166-1 alpha-3 codes, by exact match against a list of aliases.

Deliveries write the same country many ways ("South Korea", "Korea, Republic of",
"Republic of Korea", "KR"). A name is mapped only if it *is* one of the known ways of
writing a country, after normalising case, accents, whitespace and punctuation;
anything else is unknown (``None``), and the reader quarantines or blanks those rows
and lists the names with their row counts in ``Delivery.unmapped_countries``.

Why hand-written: ``country_converter``'s regular expressions, used here before,
match *inside* a name, so "Not France" came back as FRA, "Jersey City" as JEY
(Jersey) and "Canada/USA" as CAN, silently. Its data table is maintained and is
reused; its regexes are not. The aliases are

1. from ``country_converter``'s table: every country's short name, official name,
   ISO2 code (with the extra codes it lists, UK and EL) and ISO3 code;
2. from ``country_aliases.csv`` next to this module (columns ``alias, iso3,
   reason``): the other names real data use (World Bank and UN names, former and
   common English names, "UK", "Korea", ...), each with the reason it is there. A
   row with an empty ``iso3`` marks a name as deliberately unknown (ambiguous, like
   "Congo", or a missing-value marker, like "NA") and overrides the table.

A string that is two or three capital letters ("KR", "USA", also "U.S.A.") is
compared with the codes only, and only in capitals: lower-case "no" or "in" are
words, not Norway or India. Any other string matches a name if both normalise to
the same text: Unicode NFKD with the accents dropped, casefolded, "&" read as "and",
dots and apostrophes dropped ("St. Lucia", "Côte d'Ivoire"), commas, hyphens and
brackets read as spaces, runs of spaces collapsed and a leading "the" dropped. Other
characters are kept, so "Canada/USA" matches nothing. Two written forms are also
read, each still needing an exact match:

- an inverted name, "Korea, Republic of" or "Korea (South)", is read as "Republic of
  Korea" or "South Korea" (the way ISO, UN, World Bank and CIA lists sort names by
  their key word);
- a code and a name of the same country joined by a dash, "CA - Canada", map to that
  country; if the two disagree ("CA - France") the name is unknown.

Mapping runs on the *distinct* names of a delivery only (a few hundred strings
however large the data), and the alias table is built once per process.

Examples
--------
>>> from analysis.sources.countries import names_to_iso3
>>> codes = names_to_iso3(["South Korea", "Korea, Republic of", "United States", "Atlantis"])
>>> codes["South Korea"], codes["Korea, Republic of"], codes["United States"], codes["Atlantis"]
('KOR', 'KOR', 'USA', None)
>>> names_to_iso3(["Not France", "Jersey City", "Canada/USA", "  FRANCE. ", "", None])
{'  FRANCE. ': 'FRA', 'Canada/USA': None, 'Jersey City': None, 'Not France': None}
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

#: The package's own aliases, beyond country_converter's table.
ALIASES_CSV: Path = Path(__file__).with_name("country_aliases.csv")

# Dots (abbreviations: "U.S.", "St.") and apostrophes ("d'Ivoire", "People's") are
# removed; commas, hyphens, dashes and brackets separate words like spaces. Any other
# character ("/", "+", "?", digits) is kept, so a name holding one ("Canada/USA")
# matches no alias.
_DROPPED = re.compile(r"[.'\u2018\u2019`\u00b4]")
_SEPARATOR = re.compile(r"[\s,()_\-\u2010-\u2015]+")
# A whole string that is a code: two or three capital letters, or the same with a
# dot after each letter ("U.S.A."). Only such a string is compared with the codes,
# so that "&" is not Andorra (AND), "file.png" not Papua New Guinea (PNG), and the
# words "no", "in", "it" not Norway, India, Italy.
_CODE = re.compile(r"[A-Z]{2,3}|(?:[A-Z]\.){2,3}")
# country_converter writes a country's extra ISO2 codes as a regex: "^GB$|^UK$".
_CODE_LIST = re.compile(r"\^([A-Z]{2})\$(?:\|\^([A-Z]{2})\$)*")
# "Head, tail" or "Head (tail)": one comma or one trailing parenthesis, nothing else.
_INVERTED = re.compile(r"(?P<head>[^,()]+?)\s*(?:,\s*(?P<tail>[^,()]+?)|\((?P<ptail>[^,()]+)\))")
# "CA - Canada": two parts joined by a spaced hyphen or dash.
_PAIR = re.compile(r"(?P<left>.+?)\s+[-\u2013\u2014]\s+(?P<right>.+)")


def normalise(name: str) -> str:
    """The form in which a name is compared with the aliases.

    Parameters
    ----------
    name
        A country name or code as written.

    Returns
    -------
    str
        Accents stripped (NFKD), casefolded, "&" as "and", dots and apostrophes
        removed, commas, hyphens, dashes and brackets as spaces, spaces collapsed, a
        leading "the" dropped; any other character kept.

    Examples
    --------
    >>> normalise("  Côte d’Ivoire ")
    'cote divoire'
    >>> normalise("The Bahamas"), normalise("U.S.A."), normalise("Bosnia & Herzegovina")
    ('bahamas', 'usa', 'bosnia and herzegovina')
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _DROPPED.sub("", text.replace("&", " and "))
    text = " ".join(_SEPARATOR.sub(" ", text).split())
    return text.removeprefix("the ")


def _iso2_codes(value: object) -> list[str]:
    """The ISO2 code(s) of a row of country_converter's table ("AF", "^GB$|^UK$")."""
    text = str(value)
    if re.fullmatch(r"[A-Z]{2}", text):
        return [text]
    if _CODE_LIST.fullmatch(text):
        return re.findall(r"[A-Z]{2}", text)
    return []


def _as_code(text: str) -> str | None:
    """``text`` without its dots if the whole (stripped) string is a code, else None."""
    text = text.strip()
    return text.replace(".", "") if _CODE.fullmatch(text) else None


class Aliases(NamedTuple):
    """The two lookup tables: ``{code: iso3 or None}`` and ``{normalised name: iso3 or None}``.

    ``None`` marks an alias that is deliberately unknown (ambiguous, or a missing-value
    marker).
    """

    codes: dict[str, str | None]
    names: dict[str, str | None]


@lru_cache(maxsize=1)
def alias_table() -> Aliases:
    """The aliases of every country, built once per process.

    From ``country_converter``'s table (short and official names, ISO2 and ISO3
    codes) and :data:`ALIASES_CSV` (see the module docstring). An alias of the CSV that
    is code-shaped ("UK", "UAE", "NA") joins the codes, any other the names.

    Returns
    -------
    Aliases
        Upper-case codes and normalised names, each to an ISO3 code or ``None``. An
        alias that country_converter's table gives to two countries maps to ``None``.

    Raises
    ------
    ValueError
        If ``country_aliases.csv`` names a code that is not a country of the table,
        gives an alias two codes, or contradicts the table (a wrong row there must
        not silently win or lose).
    """
    import country_converter as coco  # imported here: slow, and needed only on first use

    data = coco.CountryConverter().data
    codes: dict[str, set[str]] = {}
    names: dict[str, set[str]] = {}
    for row in data[["name_short", "name_official", "ISO2", "ISO3"]].itertuples(index=False):
        for code in (row.ISO3, *_iso2_codes(row.ISO2)):
            codes.setdefault(code, set()).add(row.ISO3)
        for name in (row.name_short, row.name_official):
            names.setdefault(normalise(str(name)), set()).add(row.ISO3)
    # An alias the table gives to two countries is ambiguous: unknown, not a guess.
    tables = Aliases(
        *(
            {alias: next(iter(c)) if len(c) == 1 else None for alias, c in found.items()}
            for found in (codes, names)
        )
    )

    valid = set(data["ISO3"])
    extra: tuple[dict[str, str | None], dict[str, str | None]] = ({}, {})
    with ALIASES_CSV.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code = row["iso3"].strip() or None
            as_code = _as_code(row["alias"])
            kind = 0 if as_code else 1
            alias = as_code or normalise(row["alias"])
            where = f"{ALIASES_CSV.name} line {line} ({row['alias']!r})"
            if code is not None and code not in valid:
                raise ValueError(f"{where}: {code!r} is not an ISO3 code of country_converter")
            if extra[kind].get(alias, code) != code:
                raise ValueError(f"{where}: alias already given another code")
            if code is not None and tables[kind].get(alias) not in (None, code):
                raise ValueError(f"{where}: country_converter gives it {tables[kind][alias]}")
            extra[kind][alias] = code
    tables.codes.update(extra[0])
    tables.names.update(extra[1])
    return tables


def _exact(text: str, aliases: Aliases) -> str | None:
    """ISO3 of ``text`` if it is exactly a code or (normalised) a name, else None."""
    code = _as_code(text)
    if code is not None:
        return aliases.codes.get(code)
    return aliases.names.get(normalise(text))


def _lookup(name: str, aliases: Aliases) -> str | None:
    """ISO3 of one name: exact alias, else its inverted form, else a code-name pair."""
    name = name.strip()
    if _as_code(name) is not None or normalise(name) in aliases.names:
        return _exact(name, aliases)
    inverted = _INVERTED.fullmatch(name)
    if inverted:
        tail = inverted["tail"] or inverted["ptail"]
        # "Korea, Republic of" is "Republic of Korea"; "Gambia, The" is "The Gambia".
        return aliases.names.get(normalise(f"{tail} {inverted['head']}"))
    pair = _PAIR.fullmatch(name)
    if pair:
        left, right = pair["left"], pair["right"]
        # A code and a name of the same country: both must match exactly and agree.
        if (_as_code(left) is None) != (_as_code(right) is None):
            found = {_exact(left, aliases), _exact(right, aliases)}
            if len(found) == 1:
                return found.pop()
    return None


def names_to_iso3(names: Iterable[str | None]) -> dict[str, str | None]:
    """Map country names to ISO3 codes; names that match no alias exactly map to ``None``.

    Parameters
    ----------
    names
        Country names as written in the data. Blank strings and ``None`` are
        skipped (they are missing values, not unknown countries).

    Returns
    -------
    dict
        ``{name: iso3 or None}`` for every distinct non-blank name, keyed by the
        name as given (before normalisation).
    """
    distinct = sorted({n for n in names if n is not None and str(n).strip()})
    if not distinct:
        return {}
    aliases = alias_table()
    return {name: _lookup(str(name), aliases) for name in distinct}
