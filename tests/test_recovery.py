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
- overseas share of Korean AI workers: from the same true stocks, by true origin;
- mobility response: in the world, a Korean-origin worker at home chooses among staying
  and moving by a multinomial logit whose skill-specific pay gain is common to every
  destination (``docs/synthetic-world.md``), so the log-odds of emigrating are exactly
  ``alpha * gain + c(year, AI)``: the emigration logit's coefficient on the pay gain
  estimates ``alpha``. Its regressor is built from *estimated* premiums, so it is
  attenuated by their sampling error; at this scale that bias is small against the
  coefficient's standard error (the slow Monte Carlo measures it);
- counterfactual: the change in Korea's AI emigration rate if its premium rose to the US
  level, against the same change computed from the world's own choice probabilities for
  the same workers (their skills and years, the same premium shift).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from world_truth import (
    mobility_response,
    true_ai_stock,
    true_emigration_rate,
    true_overseas_share,
    true_premiums,
)

from analysis import config
from analysis.clean import clean_delivery
from analysis.estimate.counterfactual import premium_counterfactual, scenario_shifts
from analysis.estimate.mobility import fit_logit
from analysis.estimate.premium import premium_by
from analysis.estimate.stage import (
    EMIGRATION_LOGIT,
    HOME,
    SPEC,
    _premium_kwargs,
    emigration_samples,
    prepare_panel,
    skill_premiums,
)
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
    truth = true_premiums(model, cross)
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
    true = true_ai_stock(truth, country, 2024)
    assert abs(est["ai_workers"] - true) < Z * est["ai_workers_se"], (est["ai_workers"], true)


def test_overseas_share_of_korean_ai_workers(world):
    panel, truth, _ = world
    est = overseas_share(panel).query("origin == 'KOR' and year == 2024 and ai == True")
    true = true_overseas_share(truth, "KOR", 2024)
    row = est.iloc[0]
    assert abs(row["share_abroad"] - true) < Z * row["share_abroad_se"], (row["share_abroad"], true)


@pytest.fixture(scope="module")
def emigration(world):
    panel, _, model = world
    premiums = skill_premiums(panel)
    at_home, abroad = emigration_samples(panel, premiums)
    return at_home, abroad, premiums, model


def test_emigration_logit_recovers_the_pay_response(emigration):
    at_home, _, _, model = emigration
    fit = fit_logit(at_home, "emigrate_next", **EMIGRATION_LOGIT)
    j = fit.names.index("pay_gain")
    estimate, se = fit.beta[j], float(np.sqrt(fit.cov[j, j]))
    alpha = mobility_response(model)
    assert abs(estimate - alpha) < Z * se, (estimate, alpha, se)
    assert se < 5 * alpha  # the check has some power: a zero response sits 0.6 SE away


def test_counterfactual_emigration_change_matches_the_world(emigration):
    at_home, abroad, premiums, model = emigration
    ai_home, ai_abroad = at_home[at_home["ai"]], abroad[abroad["ai"]]
    korea = premiums.loc[
        (premiums["country"] == HOME) & (premiums["skill"] == "all"), "premium_pct"
    ].iloc[0]
    targets = {"US level": SPEC["counterfactual_targets_pct"]["US level (25%)"]}
    shifts = scenario_shifts(float(korea), targets)
    table = premium_counterfactual(ai_home, ai_abroad, scenarios=shifts)
    row = table.query("scenario == 'US level' and quantity == 'emigration_rate'").iloc[0]
    weights = ai_home["weight"].to_numpy(float)
    base = true_emigration_rate(model, ai_home, 0.0)
    shifted = true_emigration_rate(model, ai_home, shifts["US level"])
    truth = 100 * np.average(shifted - base, weights=weights)
    assert truth < 0  # a higher home premium keeps workers at home
    assert abs(row["change"] - truth) < Z * row["change_se"], (row["change"], truth)
    # the baseline rate too: the panel's timing of moves does not bias it
    baseline = table.query("scenario == 'baseline' and quantity == 'emigration_rate'").iloc[0]
    true_base = 100 * np.average(base, weights=weights)
    assert abs(baseline["estimate"] - true_base) < Z * baseline["std_error"], true_base
