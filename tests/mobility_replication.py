"""One replication of the compensation-mobility Monte Carlo (tests only).

:func:`mobility_replication` draws a world and its delivery, reads and cleans it like
real data, fits the joint and the naive mobility models exactly as the estimate stage
does, and returns each estimate with its standard error and the world's truth:

- ``alpha``: the emigration logit's pay-gain coefficient, against the world's alpha
  (the log-odds of emigrating are ``alpha * g_i + c(t)``, docs/synthetic-world.md);
- ``beta``: the return logit's coefficient, against ``-alpha`` (a worker abroad
  compares home with where they are, and every abroad country pays a skill the same
  deviation, so the log-odds of returning are ``-alpha * g_i + c(t, country)``);
- ``baseline emigration rate`` and the ``emigration change`` at Canada's and the US
  premium, against the world's own choice probabilities for the same person-years;
- the ``return change`` at the US premium, likewise.

Run as a script it appends the rows of seeds to a CSV, so a long Monte Carlo can be
run in pieces: ``python tests/mobility_replication.py OUT.csv SCALE SEED [SEED ...]``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from world_truth import mobility_response, true_emigration_rate, true_return_rate

from analysis.clean import clean_delivery
from analysis.estimate.counterfactual import scenario_shifts
from analysis.estimate.mobility_model import counterfactual_table
from analysis.estimate.premium import premium_by
from analysis.estimate.skillpay import premium_difference
from analysis.estimate.stage import (
    HOME,
    MOBILITY_MODEL,
    SPEC,
    _premium_kwargs,
    emigration_samples,
    fit_mobility_models,
    prepare_panel,
    skill_set_pay,
)
from analysis.sources.synthetic import load_params, write_synthetic_delivery
from analysis.sources.synthetic.world import World


def world_panel(root: Path, seed: int, scale: float) -> tuple[pd.DataFrame, World, pd.DataFrame]:
    """A fresh world's delivery, cleaned: the panel, the world and its true stocks (the
    delivery and the cleaned files are removed)."""
    delivery, processed = root / f"delivery_{seed}", root / f"processed_{seed}"
    write_synthetic_delivery(delivery, seed=seed, scale=scale)
    clean_delivery(delivery, processed)
    panel = prepare_panel(pd.read_parquet(processed / "panel.parquet"))
    model = World(load_params(delivery / "_truth" / "params.toml"), seed)
    world_stocks = pd.read_parquet(delivery / "_truth" / "stocks.parquet")
    shutil.rmtree(delivery)
    shutil.rmtree(processed)
    return panel, model, world_stocks


def mobility_estimates(panel: pd.DataFrame, model: World) -> list[dict[str, object]]:
    """Estimates, standard errors and truths of the mobility quantities in one panel."""
    pay, design = skill_set_pay(panel)
    difference, cov = premium_difference(
        pay, destination=str(MOBILITY_MODEL["destination"]), home=HOME
    )
    at_home, abroad = emigration_samples(panel, design, difference)
    models = fit_mobility_models(at_home, abroad, list(design.columns), difference, cov)
    pooled = _premium_kwargs(panel, pooled=True)
    korea = premium_by(panel[panel["country"] == HOME].assign(_all="all"), "_all", **pooled)[
        "premium_pct"
    ].iloc[0]  # the "all" row of skill_premiums, as the estimate stage uses it
    shifts = scenario_shifts(float(korea), SPEC["counterfactual_targets_pct"])  # type: ignore[arg-type]
    ai_home, ai_abroad = at_home[at_home["ai"]], abroad[abroad["ai"]]
    w_home, w_abroad = ai_home["weight"].to_numpy(float), ai_abroad["weight"].to_numpy(float)
    emig = {name: true_emigration_rate(model, ai_home, s) for name, s in shifts.items()}
    ret = {name: true_return_rate(model, ai_abroad, s) for name, s in shifts.items()}
    alpha = mobility_response(model)
    rows: list[dict[str, object]] = []
    for method, fit in models.items():
        table = counterfactual_table(fit, shifts).set_index(["scenario", "quantity"])

        def record(quantity, estimate, se, truth, method=method):
            rows.append(
                {
                    "method": method,
                    "quantity": quantity,
                    "estimate": float(estimate),
                    "se": float(se),
                    "truth": float(truth),
                }
            )

        se = np.sqrt(np.diag(fit.cov.loc[["alpha", "beta"], ["alpha", "beta"]].to_numpy()))
        record("alpha", fit.params["alpha"], se[0], alpha)
        record("beta", fit.params["beta"], se[1], -alpha)
        base = table.loc[("baseline", "emigration_rate")]
        record(
            "baseline emigration rate (%)",
            base["estimate"],
            base["std_error"],
            100 * np.average(emig["baseline"], weights=w_home),
        )
        for scenario in shifts:
            if scenario == "baseline":
                continue
            row = table.loc[(scenario, "emigration_rate")]
            truth = 100 * np.average(emig[scenario] - emig["baseline"], weights=w_home)
            record(f"emigration change, {scenario} (pp)", row["change"], row["change_se"], truth)
            row = table.loc[(scenario, "return_rate")]
            truth = 100 * np.average(ret[scenario] - ret["baseline"], weights=w_abroad)
            record(f"return change, {scenario} (pp)", row["change"], row["change_se"], truth)
    return rows


def mobility_replication(root: Path, seed: int, scale: float) -> list[dict[str, object]]:
    """:func:`mobility_estimates` of a fresh world (seed, scale)."""
    panel, model, _ = world_panel(root, seed, scale)
    rows = mobility_estimates(panel, model)
    for row in rows:
        row.update(seed=seed, scale=scale)
    return rows


if __name__ == "__main__":
    out, scale, seeds = Path(sys.argv[1]), float(sys.argv[2]), [int(s) for s in sys.argv[3:]]
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            frame = pd.DataFrame(mobility_replication(Path(tmp), seed, scale))
        frame.to_csv(out, mode="a", header=not out.exists(), index=False)
        print(f"seed {seed} done", flush=True)
