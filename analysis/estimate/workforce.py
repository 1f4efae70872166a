"""The AI workforce: weighted stocks, flows across borders, and overseas shares.

All functions take any person-year frame and name its columns as arguments; weights
are optional (``weights=None`` counts rows). The AI flag must be binary and never
missing, and a frame must hold one row per person and year (checked when it has the
``person`` column; pass ``person=None`` for a frame known to be unique). Weighted
totals carry the standard error of a Horvitz-Thompson total under independent
(Poisson) sampling of persons, ``sqrt(sum w^2)``; weighted shares carry the
linearised standard error of a ratio, ``sqrt(sum w^2 (a - p)^2) / sum w``. Within one
year a person is one row, so these are the right units.

Examples
--------
>>> import pandas as pd
>>> panel = pd.DataFrame({"user_id": [1, 2, 3, 1, 2, 3], "year": [2023] * 3 + [2024] * 3,
...     "country": ["KOR", "KOR", "USA", "USA", "KOR", "USA"], "ai": [True, False, True] * 2,
...     "weight": [10.0, 10.0, 20.0] * 2, "origin": ["KOR", "KOR", "USA"] * 2})
>>> kor = stocks(panel, weights="weight").query("country == 'KOR'")
>>> kor[["ai_workers", "workers"]].values.tolist()
[[10.0, 20.0], [0.0, 10.0]]
>>> flows(panel, weights="weight").query("country == 'KOR' and year == 2024")["outflow"].item()
10.0
>>> stocks(panel).query("country == 'KOR'")["workers"].tolist()  # unweighted: rows
[2.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.estimate.checks import (
    check_binary,
    check_frame,
    check_no_missing,
    check_unique,
    require_columns,
)

#: Column of ones standing in for ``weights=None`` (unweighted counts).
_UNIT = "_unit_weight"


def _checked(
    panel: pd.DataFrame,
    function: str,
    *,
    columns: dict[str, list[str]],
    ai: str,
    weights: str | None,
    keys: Sequence[str] | None,
) -> tuple[pd.DataFrame, str]:
    """``panel`` checked for ``function``: the columns exist, the AI flag is binary and
    never missing, no two rows share ``keys`` (one row per person-year; ``None``: the
    caller knows it); with the weights column to use (a column of ones for ``None``)."""
    check_frame(panel, function)
    require_columns(
        panel, {**columns, "ai": [ai], "weights": [weights] if weights else []}, function
    )
    check_no_missing(panel, ai, "ai", function)
    check_binary(panel, ai, "ai", function)
    if keys is not None and all(k in panel.columns for k in keys):
        check_unique(panel, list(keys), function)
    if weights is None:
        return panel.assign(**{_UNIT: 1.0}), _UNIT
    return panel, weights


def weighted_share(weights: np.ndarray, indicator: np.ndarray) -> tuple[float, float]:
    """Weighted share of rows where ``indicator`` holds, and its linearised standard
    error ``sqrt(sum w^2 (a - p)^2) / sum w`` (both as fractions)."""
    w = np.asarray(weights, dtype=float)
    a = np.asarray(indicator, dtype=float)
    p = float((w * a).sum() / w.sum())
    return p, float(np.sqrt((w**2 * (a - p) ** 2).sum()) / w.sum())


def _weighted_total(frame: pd.DataFrame, mask: pd.Series, weight: str) -> tuple[float, float]:
    w = frame.loc[mask, weight].to_numpy(dtype=float)
    return float(w.sum()), float(np.sqrt((w**2).sum()))


def stocks(
    panel: pd.DataFrame,
    *,
    by: Sequence[str] = ("country", "year"),
    ai: str = "ai",
    weights: str | None = None,
    person: str | None = "user_id",
) -> pd.DataFrame:
    """Weighted numbers of AI and all workers by ``by`` (country and year by default).

    Returns
    -------
    DataFrame
        ``by`` columns, ``ai_workers``, ``ai_workers_se``, ``workers``, ``workers_se``,
        ``ai_share`` (percent) and its ``ai_share_se``, ``n_ai`` and ``n`` (rows).
    """
    keys = [person, "year"] if person else None
    panel, weight = _checked(
        panel, "stocks", columns={"by": list(by)}, ai=ai, weights=weights, keys=keys
    )
    rows = []
    for key, group in panel.groupby(list(by), sort=True, dropna=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        a = group[ai].astype(bool)
        w = group[weight].to_numpy(dtype=float)
        ai_total, ai_se = _weighted_total(group, a, weight)
        share = ai_total / w.sum()
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "ai_workers": ai_total,
                "ai_workers_se": ai_se,
                "workers": float(w.sum()),
                "workers_se": float(np.sqrt((w**2).sum())),
                "ai_share": 100 * share,
                "ai_share_se": 100
                * float(np.sqrt((w**2 * (a.to_numpy() - share) ** 2).sum()) / w.sum()),
                "n_ai": int(a.sum()),
                "n": len(group),
            }
        )
    return pd.DataFrame(rows)


def transitions(
    panel: pd.DataFrame,
    *,
    person: str = "user_id",
    year: str = "year",
    country: str = "country",
) -> pd.DataFrame:
    """Consecutive person-years with the country before and after.

    Only pairs of adjacent years (t-1, t) are kept: a person missing from the panel in
    a year breaks the chain, since where they worked in between is unknown.

    A frame from the cleaning stage carries both already (``prev_year_observed``:
    the person has a row in t-1; ``prev_country``: its country, from the whole
    history), and they are used as they are, without sorting: the same rows, order
    and values as recomputing them on the whole panel, and still right on a subset
    of its rows (say, the AI workers of year t).
    """
    if {"prev_year_observed", "prev_country"} <= set(panel.columns) and country == "country":
        return panel[panel["prev_year_observed"].astype(bool).to_numpy()].copy()
    # order and shift the three key columns only, then take the kept rows of the panel
    # once (the same rows, order and columns as sorting the whole panel)
    keys = panel[[person, year, country]].reset_index(drop=True)
    ordered = keys.sort_values([person, year])
    prev = ordered.groupby(person)[[year, country]].shift()
    kept = (prev[year] == ordered[year] - 1).to_numpy()
    out = panel.iloc[ordered.index.to_numpy()[kept]].copy()
    out["prev_country"] = prev[country].to_numpy()[kept]
    return out


def flows(
    panel: pd.DataFrame,
    *,
    person: str = "user_id",
    year: str = "year",
    country: str = "country",
    ai: str = "ai",
    weights: str | None = None,
    only_ai: bool = True,
    population: pd.DataFrame | None = None,
    check_duplicates: bool = True,
) -> pd.DataFrame:
    """Inflows, outflows and net inflows of workers by country and year.

    A worker flows out of country c in year t if they worked in c in t-1 and elsewhere
    in t; in if the reverse. With ``only_ai``, flows of workers who are AI-skilled in t.

    Parameters
    ----------
    population
        Optional table with ``country``, ``year`` and ``population``: adds flows per
        10,000 residents (``*_per_10k``).
    check_duplicates
        Check that no two rows share (person, year) (``False`` for a frame known to
        hold one row each, such as the cleaning stage's panel).

    Returns
    -------
    DataFrame
        ``country``, ``year``, ``inflow``, ``outflow``, ``net_inflow`` (weighted), their
        standard errors, the ``stock`` at t (same group, weighted) and
        ``net_per_10k_workers`` = 10,000 x net inflow / stock (the LinkedIn-style rate
        per members of the group), and optionally ``net_per_10k_residents``.
    """
    panel, weight = _checked(
        panel,
        "flows",
        columns={"person": [person], "year": [year], "country": [country]},
        ai=ai,
        weights=weights,
        keys=[person, year] if check_duplicates else None,
    )
    columns = [
        c
        for c in dict.fromkeys([person, year, country, ai, weight, "prev_year_observed"])
        if c in panel.columns
    ] + (["prev_country"] if "prev_year_observed" in panel.columns else [])
    steps = transitions(panel[columns], person=person, year=year, country=country)
    if only_ai:
        steps = steps[steps[ai].astype(bool)]
        base = panel[panel[ai].astype(bool)]
    else:
        base = panel
    # a year with no known location is neither a stay nor a move
    known = steps["prev_country"].notna() & steps[country].notna()
    moved = steps[known & (steps["prev_country"] != steps[country])]
    out_w = moved.groupby(["prev_country", year], observed=True)[weight]
    in_w = moved.groupby([country, year], observed=True)[weight]
    outflow = pd.DataFrame(
        {"outflow": out_w.sum(), "outflow_se": np.sqrt(out_w.apply(lambda w: (w**2).sum()))}
    ).rename_axis([country, year])
    inflow = pd.DataFrame(
        {"inflow": in_w.sum(), "inflow_se": np.sqrt(in_w.apply(lambda w: (w**2).sum()))}
    )
    stock = base.groupby([country, year], observed=True)[weight].sum().rename("stock")
    table = pd.concat([stock, inflow, outflow], axis=1).fillna(0.0)
    years = sorted(steps[year].unique())
    table = table[table.index.get_level_values(year).isin(years)]
    table["net_inflow"] = table["inflow"] - table["outflow"]
    # in and out flows of one country-year involve different persons: variances add
    table["net_inflow_se"] = np.sqrt(table["inflow_se"] ** 2 + table["outflow_se"] ** 2)
    table["net_per_10k_workers"] = (
        1e4 * table["net_inflow"] / table["stock"].where(table["stock"] > 0)
    )
    table = table.reset_index().rename(columns={"level_0": country, "level_1": year})
    if population is not None:
        table = table.merge(
            population[["country", "year", "population"]].rename(
                columns={"country": country, "year": year}
            ),
            on=[country, year],
            how="left",
        )
        table["net_per_10k_residents"] = 1e4 * table["net_inflow"] / table["population"]
    return table.sort_values([country, year]).reset_index(drop=True)


#: The rows of :func:`overseas_share` for each origin and year.
SHARE_GROUPS: tuple[str, ...] = ("ai", "non_ai", "ai_minus_non_ai")


def overseas_share(
    panel: pd.DataFrame,
    *,
    origin: str = "origin",
    country: str = "country",
    year: str = "year",
    ai: str = "ai",
    weights: str | None = None,
    person: str | None = "user_id",
) -> pd.DataFrame:
    """Share of each origin's workers who work abroad, for AI and non-AI workers, and the gap.

    Returns
    -------
    DataFrame
        ``origin``, ``year``, ``group`` (:data:`SHARE_GROUPS`: ``"ai"``, ``"non_ai"``,
        and ``"ai_minus_non_ai"`` for the difference of the two shares and its SE),
        ``workers``, ``abroad``, ``share_abroad`` (percent), ``share_abroad_se``, ``n``.
    """
    panel, weight = _checked(
        panel,
        "overseas_share",
        columns={"origin": [origin], "country": [country], "year": [year]},
        ai=ai,
        weights=weights,
        keys=[person, year] if person else None,
    )
    used = list(dict.fromkeys([origin, country, year, ai, weight]))
    data = panel.loc[panel[origin].notna().to_numpy() & panel[country].notna().to_numpy(), used]
    rows = []
    for (o, t), group in data.groupby([origin, year], sort=True, observed=True):
        shares = {}
        for flag, label in ((True, "ai"), (False, "non_ai")):
            g = group[group[ai].astype(bool) == flag]
            if g.empty:
                continue
            w = g[weight].to_numpy(dtype=float)
            a = (g[country] != o).to_numpy()
            p, se = weighted_share(w, a)
            shares[flag] = (p, se)
            rows.append(
                {
                    "origin": o,
                    "year": t,
                    "group": label,
                    "workers": float(w.sum()),
                    "abroad": float((w * a).sum()),
                    "share_abroad": 100 * p,
                    "share_abroad_se": 100 * se,
                    "n": len(g),
                }
            )
        if len(shares) == 2:
            gap = shares[True][0] - shares[False][0]
            se = float(np.hypot(shares[True][1], shares[False][1]))
            rows.append(
                {
                    "origin": o,
                    "year": t,
                    "group": "ai_minus_non_ai",
                    "share_abroad": 100 * gap,
                    "share_abroad_se": 100 * se,
                    "n": len(group),
                }
            )
    return pd.DataFrame(rows)


def overseas_by_destination(
    panel: pd.DataFrame,
    *,
    origin: str = "origin",
    country: str = "country",
    year: str = "year",
    ai: str = "ai",
    weights: str | None = None,
    person: str | None = "user_id",
) -> pd.DataFrame:
    """Where each origin's workers abroad work: weighted counts and shares by destination.

    Returns
    -------
    DataFrame
        ``origin``, ``year``, ``ai``, ``destination``, ``workers`` (weighted),
        ``workers_se``, ``share_of_abroad`` (percent of the origin's workers abroad),
        ``n``.
    """
    panel, weight = _checked(
        panel,
        "overseas_by_destination",
        columns={"origin": [origin], "country": [country], "year": [year]},
        ai=ai,
        weights=weights,
        keys=[person, year] if person else None,
    )
    used = list(dict.fromkeys([origin, country, year, ai, weight]))
    known = panel[origin].notna().to_numpy() & panel[country].notna().to_numpy()
    abroad = panel.loc[known, used]
    abroad = abroad[abroad[country] != abroad[origin]]
    grouped = abroad.groupby([origin, year, ai, country], observed=True)[weight]
    table = (
        pd.DataFrame(
            {
                "workers": grouped.sum(),
                "workers_se": np.sqrt(grouped.apply(lambda w: (w**2).sum())),
                "n": grouped.size(),
            }
        )
        .reset_index()
        .rename(columns={country: "destination"})
    )
    total = table.groupby([origin, year, ai], observed=True)["workers"].transform("sum")
    table["share_of_abroad"] = 100 * table["workers"] / total
    return (
        table.rename(columns={origin: "origin"})
        .sort_values(["origin", year, ai, "workers"], ascending=[True, True, True, False])
        .reset_index(drop=True)
    )
