"""Monte Carlo on the synthetic world itself (slow: ``pytest -m slow -s`` to run it).

Each replication draws a fresh world and delivery (seed 1, 2, ...; scale ``SCALE``),
reads and cleans it like real data, estimates, and compares each estimate with that
world's truth (``world_truth``): Korea's and the US's AI premium in 2024, Korea's AI
stock in 2024, the overseas share of Korea's AI workers in 2024, the mobility response
(the emigration logit's coefficient on the pay gain against the world's ``alpha``) and
the counterfactual change in Korea's AI emigration rate at the US premium level.

For each quantity the test prints the coverage of the 95% interval, the mean and the
standard deviation of the z-scores (estimate - truth) / SE, and asserts coverage within
three Monte Carlo standard errors, sqrt(0.95 * 0.05 / R), of 0.95. A mean z far from 0
is bias (for the mobility response, the attenuation from building the pay gain out of
estimated premiums); a z standard deviation far from 1 means the standard errors are
too small or too large.

R is ``MC_WORLD_REPLICATIONS`` (default 40; each replication takes about half a minute
on two cores).
"""

from __future__ import annotations

import os
import shutil

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

pytestmark = pytest.mark.slow
R = int(os.environ.get("MC_WORLD_REPLICATIONS", "40"))
SCALE = 0.5
YEAR = 2024
CRITICAL = 1.959964


def replication(root, seed: int) -> list[dict[str, float | str]]:
    """Estimates, standard errors and truths of one world."""
    delivery, processed = root / f"delivery_{seed}", root / f"processed_{seed}"
    write_synthetic_delivery(delivery, seed=seed, scale=SCALE)
    clean_delivery(delivery, processed)
    panel = prepare_panel(pd.read_parquet(processed / "panel.parquet"))
    world_stocks = pd.read_parquet(delivery / "_truth" / "stocks.parquet")
    model = World(load_params(delivery / "_truth" / "params.toml"), seed)
    shutil.rmtree(delivery)
    shutil.rmtree(processed)
    out: list[dict[str, float | str]] = []

    def record(quantity: str, estimate: float, se: float, truth: float) -> None:
        out.append(
            {"seed": seed, "quantity": quantity, "estimate": estimate, "se": se, "truth": truth}
        )

    cross = panel[panel["year"] == YEAR]
    premiums = premium_by(cross, "country", **_premium_kwargs(panel, pooled=False))
    truth = true_premiums(model, cross)
    for row in premiums[premiums["country"].isin([HOME, "USA"])].itertuples(index=False):
        record(f"premium {row.country} {YEAR}", row.estimate, row.std_error, truth[row.country])
    est = stocks(panel).set_index(["country", "year"]).loc[(HOME, YEAR)]
    record(
        f"AI stock {HOME} {YEAR}",
        est["ai_workers"],
        est["ai_workers_se"],
        true_ai_stock(world_stocks, HOME, YEAR),
    )
    share = overseas_share(panel).query("origin == @HOME and year == @YEAR and ai == True")
    record(
        f"overseas share {HOME} {YEAR}",
        share["share_abroad"].iloc[0],
        share["share_abroad_se"].iloc[0],
        true_overseas_share(world_stocks, HOME, YEAR),
    )
    by_skill = skill_premiums(panel)
    at_home, abroad = emigration_samples(panel, by_skill)
    fit = fit_logit(at_home, "emigrate_next", **EMIGRATION_LOGIT)
    j = fit.names.index("pay_gain")
    record("mobility response", fit.beta[j], np.sqrt(fit.cov[j, j]), mobility_response(model))
    korea = by_skill.loc[
        (by_skill["country"] == HOME) & (by_skill["skill"] == "all"), "premium_pct"
    ].iloc[0]
    targets = {"US level": SPEC["counterfactual_targets_pct"]["US level (25%)"]}
    shifts = scenario_shifts(float(korea), targets)
    ai_home, ai_abroad = at_home[at_home["ai"]], abroad[abroad["ai"]]
    table = premium_counterfactual(ai_home, ai_abroad, scenarios=shifts)
    row = table.query("scenario == 'US level' and quantity == 'emigration_rate'").iloc[0]
    w = ai_home["weight"].to_numpy(float)
    true_change = 100 * np.average(
        true_emigration_rate(model, ai_home, shifts["US level"])
        - true_emigration_rate(model, ai_home, 0.0),
        weights=w,
    )
    record("emigration change, US-level premium (pp)", row["change"], row["change_se"], true_change)
    return out


def test_intervals_cover_the_worlds_truth(tmp_path):
    rows = [r for seed in range(1, R + 1) for r in replication(tmp_path, seed)]
    frame = pd.DataFrame(rows)
    frame["z"] = (frame["estimate"] - frame["truth"]) / frame["se"]
    frame["covered"] = frame["z"].abs() < CRITICAL
    summary = frame.groupby("quantity", sort=False).agg(
        replications=("z", "size"),
        coverage=("covered", "mean"),
        mean_z=("z", "mean"),
        sd_z=("z", "std"),
        mean_estimate=("estimate", "mean"),
        mean_truth=("truth", "mean"),
    )
    tolerance = 3 * np.sqrt(0.95 * 0.05 / R)
    print(f"\nMonte Carlo on the synthetic world: R = {R}, scale {SCALE}")
    print(f"coverage must lie within 0.95 +/- {tolerance:.3f}")
    print(summary.round(3).to_string())
    failed = summary[(summary["coverage"] - 0.95).abs() > tolerance]
    assert failed.empty, failed
