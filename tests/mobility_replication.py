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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from world_truth import mobility_response, true_emigration_rate, true_return_rate

from analysis.clean import clean_delivery
from analysis.config import FOCAL_COUNTRY
from analysis.estimate.counterfactual import scenario_shifts
from analysis.estimate.panel_frame import (
    FRAME_COLUMNS,
    panel_columns,
    read_home_positions,
    read_panel_frame,
    with_positions,
)
from analysis.estimate.premium_engine import (
    connect,
    premium_view,
    skill_premiums_engine,
    skill_set_pay_engine,
)
from analysis.estimate.samples import mobility_samples
from analysis.estimate.skillpay import SkillPay, premium_difference
from analysis.estimate.specification import MOBILITY_MODEL, SPEC
from analysis.estimate.tables import engine_premium_tables, mobility_tables
from analysis.sources.synthetic import load_params, write_synthetic_delivery
from analysis.sources.synthetic.world import World


def world_delivery(root: Path, seed: int, scale: float) -> tuple[Path, World, pd.DataFrame]:
    """A fresh world's delivery, cleaned: the processed folder, the world and its true
    stocks (the delivery itself is removed)."""
    delivery, processed = root / f"delivery_{seed}", root / f"processed_{seed}"
    write_synthetic_delivery(delivery, seed=seed, scale=scale)
    clean_delivery(delivery, processed)
    model = World(load_params(delivery / "_truth" / "params.toml"), seed)
    world_stocks = pd.read_parquet(delivery / "_truth" / "stocks.parquet")
    shutil.rmtree(delivery)
    return processed, model, world_stocks


@dataclass
class StageEstimates:
    """What the estimate stage computes for the mobility answer, computed as
    :func:`analysis.estimate.stage.run_estimates` does: the premium tables and the
    skill-set premiums out of core, the compact panel frame and the mobility tables."""

    premiums: dict[str, pd.DataFrame]
    pay: SkillPay
    frame: pd.DataFrame
    skills: list[str]
    mobility: dict[str, pd.DataFrame]
    positions: pd.DataFrame


def stage_estimates(processed: Path, *, only_mobility: bool = False) -> StageEstimates:
    """:class:`StageEstimates` of a processed folder. With ``only_mobility`` the premium
    tables are limited to what the mobility tables read (Korea's rows of
    ``premium_by_skill``, by the same function, and the skill-set premiums), which
    makes a Monte Carlo replication about half as long."""
    panel_file = processed / "panel.parquet"
    skills = sorted(c for c in panel_columns(panel_file) if c.startswith("ai_"))
    with tempfile.TemporaryDirectory(prefix="estimate-spill-") as spill:
        con = connect(temp_directory=spill)
        try:
            if only_mobility:
                fixed = premium_view(con, panel_file, skills)
                by_skill = skill_premiums_engine(
                    con, skills, fixed_effects=[*fixed, "year"], countries=[FOCAL_COUNTRY]
                )
                premiums = {"premium_by_skill": by_skill}
                pay = skill_set_pay_engine(
                    con,
                    skills,
                    countries=[FOCAL_COUNTRY, str(MOBILITY_MODEL["destination"])],
                    fixed_effects=[*fixed, "year"],
                )
            else:
                premiums, pay = engine_premium_tables(con, panel_file, skills)
        finally:
            con.close()
    frame = read_panel_frame(panel_file, [*FRAME_COLUMNS, *skills])
    positions = read_home_positions(panel_file)
    mobility = mobility_tables(frame, premiums["premium_by_skill"], pay, positions)
    return StageEstimates(premiums, pay, frame, skills, mobility, positions)


def mobility_estimates(estimates: StageEstimates, model: World) -> list[dict[str, object]]:
    """Estimates, standard errors and truths of the mobility quantities, read from the
    stage's ``mobility_model`` and ``counterfactual`` tables; the truths are the world's
    choice probabilities on the same person-years (the AI workers' samples)."""
    difference, _ = premium_difference(
        estimates.pay, destination=str(MOBILITY_MODEL["destination"]), home=FOCAL_COUNTRY
    )
    frame = estimates.frame
    home_rows = with_positions(frame[frame["origin"] == FOCAL_COUNTRY], estimates.positions)
    samples = mobility_samples(home_rows, estimates.skills, difference)
    ai_home, ai_abroad = (
        samples.ai_at_home.reset_index(drop=True),
        samples.ai_abroad.reset_index(drop=True),
    )
    by_skill = estimates.premiums["premium_by_skill"]
    korea = by_skill.query("country == @FOCAL_COUNTRY and skill == 'all'")["premium_pct"].iloc[0]
    shifts = scenario_shifts(float(korea), SPEC["counterfactual_targets_pct"])  # type: ignore[arg-type]
    w_home, w_abroad = ai_home["weight"].to_numpy(float), ai_abroad["weight"].to_numpy(float)
    emig = {name: true_emigration_rate(model, ai_home, s) for name, s in shifts.items()}
    ret = {name: true_return_rate(model, ai_abroad, s) for name, s in shifts.items()}
    alpha = mobility_response(model)
    params = estimates.mobility["mobility_model"].set_index(["method", "term"])
    counterfactual = estimates.mobility["counterfactual"].set_index(
        ["model", "scenario", "quantity"]
    )
    rows: list[dict[str, object]] = []
    for method in MOBILITY_MODEL["methods"]:  # type: ignore[attr-defined]

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

        for term, truth in (("alpha", alpha), ("beta", -alpha)):
            row = params.loc[(method, term)]
            record(term, row["estimate"], row["std_error"], truth)
        base = counterfactual.loc[(method, "baseline", "emigration_rate")]
        record(
            "baseline emigration rate (%)",
            base["estimate"],
            base["std_error"],
            100 * np.average(emig["baseline"], weights=w_home),
        )
        for scenario in shifts:
            if scenario == "baseline":
                continue
            row = counterfactual.loc[(method, scenario, "emigration_rate")]
            truth = 100 * np.average(emig[scenario] - emig["baseline"], weights=w_home)
            record(f"emigration change, {scenario} (pp)", row["change"], row["change_se"], truth)
            row = counterfactual.loc[(method, scenario, "return_rate")]
            truth = 100 * np.average(ret[scenario] - ret["baseline"], weights=w_abroad)
            record(f"return change, {scenario} (pp)", row["change"], row["change_se"], truth)
    return rows


def mobility_replication(root: Path, seed: int, scale: float) -> list[dict[str, object]]:
    """:func:`mobility_estimates` of a fresh world (seed, scale)."""
    processed, model, _ = world_delivery(root, seed, scale)
    rows = mobility_estimates(stage_estimates(processed, only_mobility=True), model)
    shutil.rmtree(processed)
    for row in rows:
        row.update(seed=seed, scale=scale)
    return rows


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per quantity and method: replications, coverage of the 95% interval, mean and
    standard deviation of the z-scores (estimate - truth) / SE, their Monte Carlo
    standard errors, and the mean estimate and truth."""
    data = rows.assign(z=(rows["estimate"] - rows["truth"]) / rows["se"])
    data["covered"] = data["z"].abs() < 1.959964
    table = data.groupby(["quantity", "method"], sort=False).agg(
        R=("z", "size"),
        coverage=("covered", "mean"),
        mean_z=("z", "mean"),
        sd_z=("z", "std"),
        mean_estimate=("estimate", "mean"),
        mean_truth=("truth", "mean"),
    )
    table["mc_se_mean_z"] = table["sd_z"] / np.sqrt(table["R"])
    table["mc_se_coverage"] = np.sqrt(0.95 * 0.05 / table["R"])
    return table


if __name__ == "__main__" and sys.argv[1] == "--summary":
    # python tests/mobility_replication.py --summary ROWS.csv [ROWS.csv ...]: the table
    # of docs/compensation-mobility.md, as Markdown
    rows = pd.concat([pd.read_csv(f) for f in sys.argv[2:]], ignore_index=True)
    seeds = sorted(int(s) for s in rows["seed"].unique())
    print(f"R = {len(seeds)} worlds, seeds {seeds}")
    print(summary_table(rows).round(3).reset_index().to_markdown(index=False))
elif __name__ == "__main__":
    out, scale, seeds = Path(sys.argv[1]), float(sys.argv[2]), [int(s) for s in sys.argv[3:]]
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            frame = pd.DataFrame(mobility_replication(Path(tmp), seed, scale))
        frame.to_csv(out, mode="a", header=not out.exists(), index=False)
        print(f"seed {seed} done", flush=True)
