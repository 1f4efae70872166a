"""The synthetic world's truths that estimates are checked against (tests only).

Estimators never read these: only tests do, to compare. Each function takes the world
(:class:`~analysis.sources.synthetic.world.World`, rebuilt from the delivery's
``_truth/params.toml``) or the delivery's ``_truth/stocks.parquet`` and the cleaned
panel rows an estimate was computed on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.config import FOCAL_COUNTRY
from analysis.estimate.skillpay import SHARE_PREFIX
from analysis.sources.synthetic.world import World


def cluster_columns(model: World) -> list[str]:
    """Panel columns of the world's skill clusters (``ai_<cluster>``)."""
    return ["ai_" + name.replace(" ", "_") for name in model.cluster_names]


def true_premiums(model: World, rows: pd.DataFrame) -> pd.Series:
    """True premium by country: the weighted mean, over the AI workers in ``rows``, of
    the structural premium of their position, pi_c(start year) plus the mean deviation
    of their clusters (a position's pay is set when it starts)."""
    ai = rows[rows["ai"] & rows["country"].notna()]
    held = ai[cluster_columns(model)].to_numpy(float)
    country = ai["country"].map({c: i for i, c in enumerate(model.countries)}).to_numpy(int)
    start = pd.to_numeric(ai["start_year"]).to_numpy(int)
    structural = np.array([model.premium(y)[c] for y, c in zip(start, country, strict=True)])
    deviation = (held @ model.skill_deviation.T / np.maximum(held.sum(1), 1)[:, None])[
        np.arange(len(ai)), country
    ]
    return (
        ai.assign(t=structural + deviation)
        .groupby("country")
        .apply(lambda g: np.average(g["t"], weights=g["weight"]), include_groups=False)
    )


def true_ai_stock(stocks: pd.DataFrame, country: str, year: int) -> float:
    """The world's count of AI-skilled workers employed in ``country`` at mid-year, over
    the whole simulated population (before LinkedIn coverage)."""
    rows = stocks[(stocks["year"] == year) & (stocks["location"] == country) & stocks["ai"]]
    return float(rows["persons"].sum())


def true_overseas_share(stocks: pd.DataFrame, origin: str, year: int) -> float:
    """Percent of the world's AI workers of ``origin`` who work abroad in ``year``."""
    rows = stocks[(stocks["year"] == year) & (stocks["origin"] == origin) & stocks["ai"]]
    abroad = rows.loc[rows["location"] != origin, "persons"].sum()
    return float(100 * abroad / rows["persons"].sum())


def _next_year_choice(model: World, rows: pd.DataFrame, location: np.ndarray, shift: float):
    """persons x countries: the world's probabilities of each location in t + 1 for
    Korean-origin workers (rows of year t at ``location``), with Korea's AI premium
    raised by ``shift`` log points, at the worker's skills."""
    home = model.countries.index(FOCAL_COUNTRY)
    out = np.zeros((len(rows), model.n_countries))
    for year, idx in rows.groupby("year").indices.items():
        group = rows.iloc[idx]
        premium = model.premium_matrix(int(year) + 1, group[cluster_columns(model)].to_numpy(bool))
        premium[:, home] += shift
        premium *= group["ai"].to_numpy(bool)[:, None]
        origin = np.full(len(group), home)
        out[idx] = model.location_choice_probabilities(
            int(year) + 1, location[idx], origin, premium
        )
    return out


def true_emigration_rate(model: World, rows: pd.DataFrame, shift: float = 0.0) -> np.ndarray:
    """The world's probability that each Korean-origin worker at home in year t (a row of
    ``rows``) works abroad in t + 1, with Korea's AI premium raised by ``shift`` log
    points; computed with the world's own choice model at the worker's skills."""
    home = model.countries.index(FOCAL_COUNTRY)
    location = np.full(len(rows), home)
    return 1.0 - _next_year_choice(model, rows, location, shift)[:, home]


def true_return_rate(model: World, rows: pd.DataFrame, shift: float = 0.0) -> np.ndarray:
    """The world's probability that each Korean-origin worker abroad in year t (a row of
    ``rows``, with its ``country``) works in Korea in t + 1, with Korea's AI premium
    raised by ``shift`` log points."""
    index = {c: i for i, c in enumerate(model.countries)}
    location = rows["country"].map(index).to_numpy(int)
    return _next_year_choice(model, rows, location, shift)[:, model.countries.index(FOCAL_COUNTRY)]


def mobility_response(model: World) -> float:
    """``alpha``: the weight of the pay gain in the world's location-choice utility, which
    is the slope of the log-odds of emigrating in the pay gain (see test_recovery)."""
    return float(model.params.value("mobility", "alpha"))


def contrast_statistic(estimate: pd.Series, cov: pd.DataFrame, truth: pd.Series) -> float:
    """Wald statistic of ``estimate - truth`` on the share terms' contrasts with their
    mean (a common shift of every share is the country premium, which the mobility model
    absorbs) and on the other terms directly."""
    shares = [t for t in estimate.index if t.startswith(SHARE_PREFIX)]
    others = [t for t in estimate.index if t not in shares]
    p = len(shares)
    C = np.zeros((p - 1 + len(others), len(estimate)))
    for i in range(p - 1):
        C[i, :p] = -1.0 / p
        C[i, i] += 1.0
    for j, _ in enumerate(others):
        C[p - 1 + j, p + j] = 1.0
    order = shares + others
    gap = C @ (estimate[order] - truth[order]).to_numpy()
    sigma = C @ cov.loc[order, order].to_numpy() @ C.T
    return float(gap @ np.linalg.solve(sigma, gap))


def true_premium_difference(model: World, terms: list[str]) -> pd.Series:
    """The world's ``theta_USA - theta_KOR`` of each design term (share terms up to a
    common constant; count effects zero)."""
    names = cluster_columns(model)
    dev = model.skill_deviation
    usa, kor = model.countries.index("USA"), model.countries.index(FOCAL_COUNTRY)
    truth = pd.Series(0.0, index=terms)
    for term in terms:
        if term.startswith(SHARE_PREFIX):
            k = names.index(term.removeprefix(SHARE_PREFIX))
            truth[term] = dev[usa, k] - dev[kor, k]
    return truth
