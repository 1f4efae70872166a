"""Country names to ISO 3166-1 alpha-3 codes.

Deliveries write the same country many ways ("South Korea", "Korea, Republic of",
"Republic of Korea", "KR"). Matching is done by ``country_converter``, a
maintained library of regular expressions over official and common names, on the
*distinct* names of a delivery only (a few hundred strings however large the
data), so the cost does not grow with the number of rows.

Examples
--------
>>> from analysis.sources.countries import names_to_iso3
>>> codes = names_to_iso3(["South Korea", "Korea, Republic of", "United States", "Atlantis"])
>>> codes["South Korea"], codes["Korea, Republic of"], codes["United States"], codes["Atlantis"]
('KOR', 'KOR', 'USA', None)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

_UNMAPPED = "__UNMAPPED__"
_ISO3 = re.compile(r"^[A-Z]{3}$")


@lru_cache(maxsize=1)
def _converter():  # pragma: no cover - trivial
    import country_converter as coco

    # country_converter logs every name it cannot match; we report those ourselves.
    logging.getLogger("country_converter").setLevel(logging.CRITICAL)
    return coco.CountryConverter()


def names_to_iso3(names: Iterable[str | None]) -> dict[str, str | None]:
    """Map country names to ISO3 codes; names that match nothing map to ``None``.

    Parameters
    ----------
    names
        Country names as written in the data. Blank strings and ``None`` are
        skipped (they are missing values, not unknown countries).

    Returns
    -------
    dict
        ``{name: iso3 or None}`` for every distinct non-blank name.
    """
    distinct = sorted({n for n in names if n is not None and str(n).strip()})
    if not distinct:
        return {}
    cleaned = [str(n).strip() for n in distinct]
    converted = _converter().convert(cleaned, to="ISO3", not_found=_UNMAPPED)
    if isinstance(converted, str):
        converted = [converted]
    result: dict[str, str | None] = {}
    for name, code in zip(distinct, converted, strict=True):
        # An ambiguous name comes back as a list of candidates: treat as unmapped.
        if isinstance(code, str) and _ISO3.match(code) and code != _UNMAPPED:
            result[name] = code
        else:
            result[name] = None
    return result
