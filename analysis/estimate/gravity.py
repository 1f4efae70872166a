"""AI workers' moves between countries by skill, and the PPML gravity model on them."""

from __future__ import annotations

import pandas as pd

from analysis.estimate.mobility import gravity_ppml
from analysis.estimate.panel_frame import skill_columns
from analysis.estimate.workforce import transitions


def bilateral_flows(panel: pd.DataFrame, premiums: pd.DataFrame) -> pd.DataFrame:
    """Weighted moves of AI workers origin x destination x skill x year, zeros included,
    with the premium gap (destination minus origin premium of the skill)."""
    skills = skill_columns(panel)
    needed = ["user_id", "year", "country", "ai", "weight", *skills]
    history = [c for c in ("prev_country", "prev_year_observed") if c in panel]
    needed += history
    if len(history) == 2:
        # the cleaned panel carries each row's previous year: keep the AI workers' rows
        # that have one before copying any column (a copy of every row would set the
        # stage's peak memory)
        keep = panel["ai"].to_numpy(bool) & panel["prev_year_observed"].to_numpy(bool)
        steps = transitions(panel.loc[keep, needed])
    else:
        steps = transitions(panel[needed])
    known = steps["prev_country"].notna() & steps["country"].notna()
    steps = steps[known & steps["ai"] & (steps["prev_country"] != steps["country"])]
    countries = sorted(panel["country"].dropna().unique())
    years = sorted(steps["year"].unique()) if len(steps) else []
    grid = pd.MultiIndex.from_product(
        [countries, countries, skills, years], names=["origin", "destination", "skill", "year"]
    )
    grid = grid.to_frame(index=False)
    grid = grid[grid["origin"] != grid["destination"]]
    counts = []
    for skill in skills:
        moved = steps[steps[skill]]
        counts.append(
            moved.groupby(["prev_country", "country", "year"], observed=True)["weight"]
            .sum()
            .rename("flow")
            .reset_index()
            .rename(columns={"prev_country": "origin", "country": "destination"})
            .assign(skill=skill)
        )
    flow = (
        pd.concat(counts, ignore_index=True)
        if counts
        else pd.DataFrame(columns=["origin", "destination", "year", "flow", "skill"])
    )
    table = grid.merge(flow, on=["origin", "destination", "skill", "year"], how="left")
    table["flow"] = table["flow"].fillna(0.0)
    prem = premiums.set_index(["country", "skill"])["estimate"]
    table["premium_gap"] = (
        table.set_index(["destination", "skill"]).index.map(prem).to_numpy()
        - table.set_index(["origin", "skill"]).index.map(prem).to_numpy()
    )
    return table.dropna(subset=["premium_gap"])


def gravity_table(bilateral: pd.DataFrame, period_years: int = 5) -> pd.DataFrame:
    """PPML gravity on flows pooled into periods of ``period_years`` (yearly cells of a
    sample are mostly zeros); pairs that never trade are left out (they carry no
    information given the pair's fixed effects). A model that cannot be fitted gives a
    row saying why rather than no row."""
    data = bilateral.assign(period=(bilateral["year"] - bilateral["year"].min()) // period_years)
    data = data.groupby(["origin", "destination", "skill", "period"], as_index=False).agg(
        flow=("flow", "sum"), premium_gap=("premium_gap", "mean")
    )
    data = data[data.groupby(["origin", "destination"])["flow"].transform("sum") > 0]
    try:
        result = gravity_ppml(data, year="period")
    except ValueError as exc:
        return pd.DataFrame(
            [{"term": "premium_gap", "note": f"not estimable: {exc}", "nobs": len(data)}]
        )
    note = "; ".join(str(result.info[k]) for k in ("separation", "fallback") if k in result.info)
    return result.tidy().assign(note=note, estimator=result.estimator, period_years=period_years)
