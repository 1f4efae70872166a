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
from scipy import stats
from world_truth import (
    contrast_statistic,
    mobility_response,
    true_ai_stock,
    true_emigration_rate,
    true_overseas_share,
    true_premium_difference,
    true_premiums,
)

from analysis import config
from analysis.clean import clean_delivery
from analysis.config import FOCAL_COUNTRY
from analysis.estimate.counterfactual import scenario_shifts
from analysis.estimate.mobility_model import counterfactual_table
from analysis.estimate.panel_frame import prepare_panel
from analysis.estimate.premium import premium_by
from analysis.estimate.samples import emigration_samples
from analysis.estimate.skillpay import premium_difference
from analysis.estimate.specification import SPEC, premium_keywords
from analysis.estimate.tables import fit_mobility_models, skill_premiums, skill_set_pay
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
    table = premium_by(cross, "country", treatment="ai", **premium_keywords(panel, pooled=False))
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
    est = stocks(panel, weights="weight").set_index(["country", "year"]).loc[(country, 2024)]
    true = true_ai_stock(truth, country, 2024)
    assert abs(est["ai_workers"] - true) < Z * est["ai_workers_se"], (est["ai_workers"], true)


def test_overseas_share_of_korean_ai_workers(world):
    panel, truth, _ = world
    est = overseas_share(panel, weights="weight").query(
        "origin == 'KOR' and year == 2024 and group == 'ai'"
    )
    true = true_overseas_share(truth, "KOR", 2024)
    row = est.iloc[0]
    assert abs(row["share_abroad"] - true) < Z * row["share_abroad_se"], (row["share_abroad"], true)


@pytest.fixture(scope="module")
def skill_pay(world):
    panel, _, model = world
    pay, design = skill_set_pay(panel)
    return pay, design, model


def test_skill_set_premiums_recover_each_clusters_own_premium(skill_pay):
    pay, _, model = skill_pay
    difference, cov = premium_difference(pay, destination="USA", home=FOCAL_COUNTRY)
    truth = true_premium_difference(model, list(difference.index))
    statistic = contrast_statistic(difference, cov, truth)
    assert statistic < stats.chi2.ppf(0.9995, len(difference) - 1), statistic


@pytest.fixture(scope="module")
def mobility(world, skill_pay):
    panel, _, model = world
    pay, design, _ = skill_pay
    difference, cov = premium_difference(pay, destination="USA", home=FOCAL_COUNTRY)
    at_home, abroad = emigration_samples(panel, design, difference)
    models = fit_mobility_models(at_home, abroad, list(design.columns), difference, cov)
    return at_home, abroad, models, model


def test_mobility_model_recovers_the_pay_response(mobility):
    _, _, models, model = mobility
    alpha = mobility_response(model)
    for fit in models.values():
        estimate, se = fit.params["alpha"], float(np.sqrt(fit.cov.loc["alpha", "alpha"]))
        assert abs(estimate - alpha) < Z * se, (fit.method, estimate, alpha, se)


def test_counterfactual_emigration_change_matches_the_world(world, mobility):
    panel, _, model = world
    at_home, _, models, _ = mobility
    ai_home = at_home[at_home["ai"]]
    premiums = skill_premiums(panel, countries=[FOCAL_COUNTRY])
    korea = premiums.loc[premiums["skill"] == "all", "premium_pct"].iloc[0]
    targets = {"US level": SPEC["counterfactual_targets_pct"]["US level (25%)"]}
    shifts = scenario_shifts(float(korea), targets)
    table = counterfactual_table(models["joint"], shifts)
    row = table.query("scenario == 'US level' and quantity == 'emigration_rate'").iloc[0]
    weights = ai_home["weight"].to_numpy(float)
    base = true_emigration_rate(model, ai_home, 0.0)
    shifted = true_emigration_rate(model, ai_home, shifts["US level"])
    truth = 100 * np.average(shifted - base, weights=weights)
    assert truth < 0  # a higher home premium keeps workers at home
    assert abs(row["change"] - truth) < Z * row["change_se"], (row["change"], truth)
    baseline = table.query("scenario == 'baseline' and quantity == 'emigration_rate'").iloc[0]
    true_base = 100 * np.average(base, weights=weights)
    assert abs(baseline["estimate"] - true_base) < Z * baseline["std_error"], true_base
