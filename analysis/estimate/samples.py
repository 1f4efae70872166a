"""Risk sets of the mobility models: person-years with next year's location and outcome.

A person-year of year *t* is at risk of emigrating (at home in *t*) or of returning
(abroad in *t*) when the person has a row in *t + 1*. Its outcome is read from the
country of the main job in *t + 1*; a job with no location is neither a stay nor a move,
so such pairs are left out of the risk sets and counted (:func:`unknown_location_counts`).

Leaving them out is not neutral. A location can only go missing with a *new* position:
a person who keeps the position of year *t* keeps its (known) country, while every move
between countries starts a new position. Dropping the pairs whose new position has no
location therefore drops movers more often than stayers, and the observed emigration
and return rates are too low by about the share of new positions without a location
(1% of positions in the synthetic world; see ``docs/compensation-mobility.md``). Assuming
only that a new position's location is missing independently of where it is (given the
year), the known new positions stand for the unknown ones: each pair whose main
position changes is weighted by ``1 / (1 - m_t)``, ``m_t`` the weighted share of new
positions of year *t + 1* with no location (:func:`location_missing_rates`). The
weight is in ``location_weight`` and, times the sampling weight, in ``risk_weight``,
which the mobility models use. A panel without ``position_id`` cannot tell new
positions from continued ones and is not reweighted (``location_weight`` is 1).

Examples
--------
>>> import pandas as pd
>>> panel = pd.DataFrame({
...     "user_id": [1, 1, 2, 2, 3, 3, 4, 4],
...     "year": [2020, 2021] * 4,
...     "country": ["KOR", "USA", "KOR", "KOR", "KOR", None, "KOR", "KOR"],
...     "position_id": [10, 11, 20, 21, 30, 31, 40, 40],
...     "origin": "KOR", "weight": 1.0})
>>> data = next_year_outcomes(panel)
>>> data["user_id"].tolist(), data["emigrate_next"].tolist()
([1, 2, 4], [1.0, 0.0, 0.0])
>>> data["location_weight"].round(6).tolist()  # persons 1 and 2 also stand for person 3
[1.5, 1.5, 1.0]
>>> location_missing_rates(panel).to_dict()
{2020: 0.3333333333333333}
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.config import FOCAL_COUNTRY
from analysis.errors import EstimationDataError
from analysis.estimate.skillpay import pay_gain_from_design, skill_set_design
from analysis.estimate.workforce import transitions

#: Highest share of new positions without a location that the risk sets are
#: reweighted for; beyond it the known positions cannot stand for the missing ones.
MAX_LOCATION_MISSING: float = 0.5


def _pairs(panel: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``panel`` (year *t*) whose person has a row in *t + 1*, with
    ``next_country`` and, when the panel has ``position_id``, ``new_position_next``
    (the main position of *t + 1* is another one)."""
    has_position = "position_id" in panel
    keys = ["user_id", "year", "country", "prev_year_observed", "prev_country"]
    keys += ["position_id"] if has_position else []
    steps = transitions(panel[[c for c in keys if c in panel]])  # rows at t with t-1 seen
    # (person, t + 1) looked up for every row (t): no copy of the panel
    following = pd.MultiIndex.from_arrays(
        [steps["user_id"].to_numpy(), steps["year"].to_numpy() - 1]
    )
    rows = pd.MultiIndex.from_arrays([panel["user_id"].to_numpy(), panel["year"].to_numpy()])
    position = following.get_indexer(rows)
    has_next = position >= 0
    found = position[has_next]
    data = panel[has_next].assign(next_country=steps["country"].array.take(found))
    if has_position:
        next_position = steps["position_id"].to_numpy().take(found)
        data["new_position_next"] = data["position_id"].to_numpy() != next_position
    return data


def location_missing_rates(panel: pd.DataFrame, weights: str = "weight") -> pd.Series:
    """Share of new main positions without a location, by the year *t* they follow.

    Among adjacent person-year pairs with a known country in *t* whose main position in
    *t + 1* is a new one, the (``weights``-weighted) share whose new position has no
    country. Empty when the panel has no ``position_id``.

    Parameters
    ----------
    panel
        Person-years with ``user_id``, ``year``, ``country``, ``position_id`` and
        ``weights`` (``prev_year_observed`` and ``prev_country`` are used when present).
    weights
        Column of sampling weights.

    Returns
    -------
    pandas.Series
        Indexed by year *t*; years without a new position are absent.
    """
    if "position_id" not in panel:
        return pd.Series(dtype=float, name="location_missing")
    return _missing_rates(_pairs(panel), weights)


def _missing_rates(data: pd.DataFrame, weights: str) -> pd.Series:
    """:func:`location_missing_rates` of the pairs made by :func:`_pairs`."""
    new = data[data["country"].notna().to_numpy() & data["new_position_next"].to_numpy()]
    w = new[weights].to_numpy(float)
    frame = pd.DataFrame(
        {
            "year": new["year"].to_numpy(),
            "missing": w * new["next_country"].isna().to_numpy(),
            "all": w,
        }
    )
    sums = frame.groupby("year")[["missing", "all"]].sum()
    rates = (sums["missing"] / sums["all"]).rename("location_missing")
    rates.index = rates.index.astype(int)
    return rates[sums["all"] > 0]


class RiskSets(NamedTuple):
    """The risk sets (:func:`next_year_outcomes`) and the shares of new positions
    without a location they are reweighted for (:func:`location_missing_rates`), from
    one pairing of the panel's years."""

    outcomes: pd.DataFrame
    location_missing: pd.Series


def next_year_outcomes(panel: pd.DataFrame, weights: str = "weight") -> pd.DataFrame:
    """Person-years with next year's country (adjacent years only), the outcomes
    ``emigrate_next`` (at home now, abroad next year) and ``return_next`` (abroad now,
    at home next year), and the risk-set weights ``location_weight`` and
    ``risk_weight`` (see the module docstring).

    Only person-years whose country is known in both years are at risk: a job with no
    location is neither a stay nor a move. The excluded pairs are counted by
    :func:`unknown_location_counts`; the pairs kept whose main position changes are
    weighted up by ``1 / (1 - m_t)`` (:func:`location_missing_rates`) so that they also
    stand for the new positions whose location is missing.

    Raises
    ------
    EstimationDataError
        When more than :data:`MAX_LOCATION_MISSING` of a year's new positions have no
        location.
    """
    return risk_sets(panel, weights).outcomes


def risk_sets(panel: pd.DataFrame, weights: str = "weight") -> RiskSets:
    """:func:`next_year_outcomes` and :func:`location_missing_rates` of the rows with a
    known origin, pairing the years once."""
    data = _pairs(panel)
    data = data[data["country"].notna().to_numpy() & data["origin"].notna().to_numpy()]
    location_weight = np.ones(len(data))
    rates = pd.Series(dtype=float, name="location_missing")
    if "new_position_next" in data:
        rates = _missing_rates(data, weights)
        too_many = rates[rates > MAX_LOCATION_MISSING]
        if len(too_many):
            raise EstimationDataError(
                "the locations of most new positions are missing (share of new main "
                "positions without a country, by the year before: "
                + ", ".join(f"{year}: {rate:.0%}" for year, rate in too_many.items())
                + "); emigration and return rates cannot be estimated from the rest"
            )
        rate = data["year"].map(rates).fillna(0.0).to_numpy(float)
        location_weight = np.where(data["new_position_next"].to_numpy(), 1.0 / (1.0 - rate), 1.0)
    data = data.assign(location_weight=location_weight)
    data = data[data["next_country"].notna().to_numpy()]
    data["risk_weight"] = data[weights].to_numpy(float) * data["location_weight"].to_numpy()
    home = data["country"] == data["origin"]
    data["emigrate_next"] = (home & (data["next_country"] != data["origin"])).astype(float)
    data["return_next"] = (~home & (data["next_country"] == data["origin"])).astype(float)
    return RiskSets(data, rates)


def unknown_location_counts(panel: pd.DataFrame) -> dict[str, int]:
    """Adjacent person-year pairs left out of the emigration and return risk sets
    because the country is unknown in the first year, the second, or both."""
    steps = transitions(panel)
    now, before = steps["country"].isna(), steps["prev_country"].isna()
    return {
        "pairs": len(steps),
        "unknown_first_year": int((before & ~now).sum()),
        "unknown_second_year": int((now & ~before).sum()),
        "unknown_both_years": int((now & before).sum()),
    }


def emigration_samples(
    panel: pd.DataFrame, design: pd.DataFrame, difference: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Person-years of workers of Korean origin with next year's outcomes, the skill-set
    design and their pay gain from moving (``pay_gain`` = ``z_i' d``, also as
    ``premium_gap``), split into those working at home (at risk of emigrating) and those
    working abroad (at risk of returning). Non-AI workers have a gain of zero."""
    korean = panel["origin"] == FOCAL_COUNTRY
    data = next_year_outcomes(pd.concat([panel[korean], design.loc[korean]], axis=1))
    data["pay_gain"] = pay_gain_from_design(data[list(design.columns)], difference)
    data["premium_gap"] = data["pay_gain"]
    return data[data["country"] == FOCAL_COUNTRY], data[data["country"] != FOCAL_COUNTRY]


class MobilitySamples(NamedTuple):
    """The mobility models' samples (:func:`mobility_samples`)."""

    #: person-years at home of workers of Korean origin, outcomes and pay gain
    at_home: pd.DataFrame
    #: the AI workers' person-years at home, with their skill-set design
    ai_at_home: pd.DataFrame
    #: the AI workers' person-years abroad, with their skill-set design
    ai_abroad: pd.DataFrame
    #: share of new positions without a location, by year (the risk sets' reweighting)
    location_missing: pd.Series


def mobility_samples(
    panel: pd.DataFrame, skills: list[str], difference: pd.Series
) -> MobilitySamples:
    """:func:`emigration_samples` in the memory of the panel's Korean rows: the
    person-years at home of workers of Korean origin with their outcomes and pay gain
    (``z_i' d``; zero for non-AI workers), the AI workers' person-years at home and
    abroad with their skill-set design (built for AI rows only), and the location
    missing rates the risk sets are reweighted for."""
    data, rates = risk_sets(panel[panel["origin"] == FOCAL_COUNTRY])
    ai = data["ai"].to_numpy(bool)
    design = skill_set_design(data.loc[ai], skills)
    data["pay_gain"] = 0.0
    data.loc[ai, "pay_gain"] = pay_gain_from_design(design, difference)
    data["premium_gap"] = data["pay_gain"]
    ai_rows = pd.concat([data.loc[ai], design], axis=1)
    home = (ai_rows["country"] == FOCAL_COUNTRY).to_numpy()
    return MobilitySamples(
        data[(data["country"] == FOCAL_COUNTRY).to_numpy()], ai_rows[home], ai_rows[~home], rates
    )


#: Weights of the mobility models' risk sets: the sampling weight times the weight that
#: lets new positions with a known location stand for those without one
#: (:mod:`analysis.estimate.samples`).
RISK_WEIGHT: str = "risk_weight"
