"""Estimators recover the synthetic world's truth from a delivery they read like real data.

The delivery is the default one (default seed and scale). It is cleaned by the package's
cleaning stage and estimated with the package's estimators; only the test reads the
world's truth (``_truth/`` and the parameters) to compare. Tolerances are 3.5 standard
errors of each estimate, so each check fails by chance with probability below 0.05%.

Truths:

- premium of country c in 2024: the weighted mean, over the AI workers employed in c in
  2024, of the structural premium of their position, pi_c(start year) plus the mean
  skill deviation of their clusters (a position's pay is set when it starts);
- AI stock: the world's weighted count of AI-skilled workers employed in c at mid-year,
  over the whole simulated population (before LinkedIn coverage);
- overseas share of Korean AI workers: from the same true stocks, by true origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import config
from analysis.clean import clean_delivery
from analysis.estimate.premium import premium_by
from analysis.estimate.stage import _premium_kwargs, prepare_panel
from analysis.estimate.workforce import overseas_share, stocks
from analysis.sources.synthetic import load_params, write_synthetic_delivery
from analysis.sources.synthetic.world import World

Z = 3.5


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("recovery")
    write_synthetic_delivery(root / "delivery", seed=config.DEFAULT_SEED, scale=1.0)
    clean_delivery(root / "delivery", root / "processed")
    panel = prepare_panel(pd.read_parquet(root / "processed" / "panel.parquet"))
    truth = pd.read_parquet(root / "delivery" / "_truth" / "stocks.parquet")
    model = World(load_params(root / "delivery" / "_truth" / "params.toml"), config.DEFAULT_SEED)
    return panel, truth, model


def test_premiums_by_country(world):
    panel, _, model = world
    cross = panel[panel["year"] == 2024]
    table = premium_by(cross, "country", **_premium_kwargs(panel, pooled=False))
    ai = cross[cross["ai"] & cross["country"].notna()]
    clusters = ["ai_" + name.replace(" ", "_") for name in model.cluster_names]
    held = ai[clusters].to_numpy(float)
    country = ai["country"].map({c: i for i, c in enumerate(model.countries)}).to_numpy(int)
    start = pd.to_numeric(ai["start_year"]).to_numpy(int)
    structural = np.array([model.premium(y)[c] for y, c in zip(start, country, strict=True)])
    deviation = (held @ model.skill_deviation.T / np.maximum(held.sum(1), 1)[:, None])[
        np.arange(len(ai)), country
    ]
    truth = (
        ai.assign(t=structural + deviation)
        .groupby("country")
        .apply(lambda g: np.average(g["t"], weights=g["weight"]), include_groups=False)
    )
    checked = 0
    for row in table.itertuples(index=False):
        if row.n_treated < 30:  # too few AI workers for a meaningful check
            continue
        z = (row.estimate - truth[row.country]) / row.std_error
        assert abs(z) < Z, (row.country, row.estimate, truth[row.country], z)
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("country", ["KOR", "USA", "GBR"])
def test_ai_stocks(world, country):
    panel, truth, _ = world
    est = stocks(panel).set_index(["country", "year"]).loc[(country, 2024)]
    true = truth[(truth["year"] == 2024) & (truth["location"] == country) & truth["ai"]][
        "persons"
    ].sum()
    assert abs(est["ai_workers"] - true) < Z * est["ai_workers_se"], (est["ai_workers"], true)


def test_overseas_share_of_korean_ai_workers(world):
    panel, truth, _ = world
    est = overseas_share(panel).query("origin == 'KOR' and year == 2024 and ai == True")
    t = truth[(truth["year"] == 2024) & (truth["origin"] == "KOR") & truth["ai"]]
    true = 100 * t.loc[t["location"] != "KOR", "persons"].sum() / t["persons"].sum()
    row = est.iloc[0]
    assert abs(row["share_abroad"] - true) < Z * row["share_abroad_se"], (row["share_abroad"], true)
