"""Checks of the arguments and data every estimator receives, with messages that name
the function, the argument and the column.

An estimator is a function of someone else's data: a column name with a typo, a string
where a list was meant, a 0/2 "treatment" or a duplicated person-year must stop with a
message that says what to fix, never a bare ``KeyError`` or a silently different
number. Errors are :class:`analysis.errors.ArgumentError` (a ``ValueError``).

Examples
--------
>>> as_columns("educ + exper", "controls")
['educ', 'exper']
>>> as_columns(None, "fixed_effects")
[]
>>> import pandas as pd
>>> check_binary(pd.DataFrame({"union": [0, 2]}), "union", "treatment", "estimate_premium")
Traceback (most recent call last):
...
analysis.errors.ArgumentError: estimate_premium: treatment 'union' must be binary ...; it holds 0, 2
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.errors import ArgumentError

#: Covariance types accepted as text (pyfixest's names).
VCOV_TYPES: tuple[str, ...] = ("iid", "hetero", "HC1", "HC2", "HC3")
#: Clustered covariance types (a mapping ``{type: "col"}`` or ``{type: "col1 + col2"}``).
CLUSTER_TYPES: tuple[str, ...] = ("CRV1", "CRV3")


def check_frame(data: object, function: str) -> pd.DataFrame:
    """``data`` if it is a DataFrame, else an error naming ``function``."""
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError(
            f"{function}: data must be a pandas DataFrame, got {type(data).__name__}"
        )
    return data


def as_columns(value: object, argument: str) -> list[str]:
    """Column names from ``None``, one name, ``"a + b"`` or a sequence of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("+") if part.strip()]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        names = list(value)
        bad = [v for v in names if not isinstance(v, str)]
        if not bad:
            return names
    raise ArgumentError(
        f"{argument} must be a column name or a list of column names, got {value!r}"
    )


def require_columns(data: pd.DataFrame, used: Mapping[str, Sequence[str]], function: str) -> None:
    """Every column named by each argument (``{argument: columns}``) is in ``data``."""
    missing = [
        f"{column!r} ({argument})"
        for argument, columns in used.items()
        for column in columns
        if column not in data.columns
    ]
    if missing:
        shown = ", ".join(map(str, list(data.columns)[:12]))
        more = "" if len(data.columns) <= 12 else f", ... ({len(data.columns)} in all)"
        raise ArgumentError(
            f"{function}: column {', '.join(missing)} not in the data; it has {shown}{more}"
        )


def _values(series: pd.Series) -> str:
    values = pd.unique(series.dropna())
    with contextlib.suppress(TypeError):  # mixed types stay in order of appearance
        values = np.sort(values)
    shown = ", ".join(str(v) for v in values[:6])
    return shown + (f", ... ({len(values)} distinct values)" if len(values) > 6 else "")


def check_binary(data: pd.DataFrame, column: str, argument: str, function: str) -> None:
    """``data[column]`` holds only 0/1 or True/False (missing values aside)."""
    series = data[column]
    if series.dtype == bool or isinstance(series.dtype, pd.BooleanDtype):
        return
    values = series.dropna()
    ok = pd.api.types.is_numeric_dtype(values) and values.isin([0, 1]).all()
    if not ok:
        raise ArgumentError(
            f"{function}: {argument} {column!r} must be binary (0/1 or True/False); "
            f"it holds {_values(series)}"
        )


def check_no_missing(data: pd.DataFrame, column: str, argument: str, function: str) -> None:
    """``data[column]`` has no missing value (the rows are named)."""
    missing = data[column].isna().to_numpy()
    if missing.any():
        rows = ", ".join(map(str, data.index[missing][:5]))
        raise ArgumentError(
            f"{function}: {argument} {column!r} has {int(missing.sum())} missing value(s) "
            f"(rows {rows}{', ...' if missing.sum() > 5 else ''}); fill or drop them first"
        )


def check_unique(data: pd.DataFrame, keys: Sequence[str], function: str) -> None:
    """No two rows share ``keys`` (one row per person-year, say)."""
    duplicated = data.duplicated(list(keys), keep=False).to_numpy()
    if duplicated.any():
        first = data.loc[duplicated, list(keys)].head(3).to_dict("records")
        raise ArgumentError(
            f"{function}: {int(duplicated.sum())} rows share their ({', '.join(keys)}) with "
            f"another row, e.g. {first}; it needs one row per ({', '.join(keys)})"
        )


def check_vcov(vcov: object, data: pd.DataFrame, function: str) -> list[str]:
    """The columns a covariance specification clusters by (after checking it)."""
    if isinstance(vcov, str):
        if vcov in VCOV_TYPES:
            return []
    elif isinstance(vcov, Mapping) and len(vcov) == 1:
        ((kind, columns),) = vcov.items()
        if kind in CLUSTER_TYPES and isinstance(columns, str):
            clusters = as_columns(columns, "vcov")
            require_columns(data, {"vcov": clusters}, function)
            return clusters
    raise ArgumentError(
        f"{function}: vcov must be one of {', '.join(map(repr, VCOV_TYPES))} or "
        f"{{'CRV1': 'column'}} (several columns as 'col1 + col2'), got {vcov!r}"
    )


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def formula_columns(formula: str, data: pd.DataFrame) -> list[str]:
    """Columns of ``data`` a pyfixest formula names (functions and operators aside)."""
    return list(dict.fromkeys(n for n in _NAME.findall(formula) if n in data.columns))


def split_formula(formula: object, function: str) -> tuple[str, list[str], list[str]]:
    """Outcome, right-hand-side terms and fixed effects of ``"y ~ x1 + x2 | fe1 + fe2"``."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ArgumentError(
            f"{function}: formula must be text like 'y ~ treatment + x | fe1 + fe2', "
            f"got {formula!r}"
        )
    lhs, rhs = (part.strip() for part in formula.split("~"))
    parts = rhs.split("|")
    if len(parts) > 2 or not lhs or not parts[0].strip():
        raise ArgumentError(
            f"{function}: formula must be 'y ~ terms' or 'y ~ terms | fixed effects', "
            f"got {formula!r}"
        )
    terms = _split_terms(parts[0])
    fixed = _split_terms(parts[1]) if len(parts) == 2 else []
    return lhs, terms, fixed


def _split_terms(text: str) -> list[str]:
    """Split ``a + C(b) + i(c, d)`` on the ``+`` signs outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "+" and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    terms.append(current.strip())
    return [t for t in terms if t]
