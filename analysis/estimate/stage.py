"""The ``estimate`` stage: every result of the analysis as a tidy CSV, from the panel.

``run_estimates(panel_dir, out_dir)`` reads the cleaning stage's outputs
(``panel.parquet``, ``moves.parquet``) and writes one CSV per result, each produced by a
public estimator of :mod:`analysis.estimate`, so every number can be traced to the
function that made it. The specifications follow the BOK report where it is explicit
and are stated in :data:`SPEC` where it is not; ``estimates_manifest.json`` lists every
table with the function and specification behind it.
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from analysis import __version__, config
from analysis.errors import EstimationDataError
from analysis.estimate.counterfactual import scenario_shifts
from analysis.estimate.mobility import (
    gravity_ppml,
    logit_ame,
    mobility_lpm,
    share_premium_slope,
)
from analysis.estimate.mobility_model import (
    MobilityModel,
    counterfactual_table,
    fit_mobility_model,
    profile_interval,
)
from analysis.estimate.panel_frame import CONTROL_COLUMNS, panel_columns, read_panel_frame
from analysis.estimate.premium import (
    EXACT_FIXEF_TOL,
    _model_columns,
    _model_frame,
    exact_demeaner,
    premium_by,
    premium_by_skill,
)
from analysis.estimate.premium_engine import (
    connect,
    premium_by_engine,
    premium_view,
    skill_premiums_engine,
    skill_set_pay_engine,
)
from analysis.estimate.samples import (
    next_year_outcomes,
    risk_sets,
    unknown_location_counts,
)
from analysis.estimate.skillpay import (
    COUNT_TERMS,
    SHARE_PREFIX,
    UNLISTED,
    SkillPay,
    pay_gain_from_design,
    premium_difference,
    skill_set_design,
    skill_set_premiums,
)
from analysis.estimate.workforce import (
    flows,
    overseas_by_destination,
    overseas_share,
    stocks,
    transitions,
    weighted_share,
)
from analysis.io import write_atomic, write_frame_atomic
from analysis.output_set import (
    ESTIMATES_MANIFEST,
    check_output_folder,
    file_record,
    start_output_set,
    verify_clean_output,
)
from analysis.sources.population import load_population
from analysis.sql import literal, parquet_source

HOME = "KOR"
#: Specification choices the report does not pin down, in one place.
SPEC: dict[str, object] = {
    "premium_controls": "fixed effects for seniority, job category, highest degree, field of "
    "study, sex, industry and position start year (when in the panel) and year (pooled "
    "samples)",
    "premium_year_by_country": config.DEFAULT_YEARS[1],
    "weights": "weight (sampling weight of the person)",
    "cluster": "user_id",
    "fixed_effects_solver": "normal equations in DuckDB with every fixed effect as "
    "indicators (analysis.estimate.normal_equations), clustered scores by a second pass; "
    "equal to pyfixest's dummy-variable regression with fixef_rm='none' (singleton rows "
    "are kept: they change no estimate; pyfixest's default drops them from N and K)",
    "mobility_model": "joint pseudo-likelihood of the skill-set pay equations (home and "
    "destination) and the emigration and return logits of AI workers of Korean origin; "
    "the naive plug-in estimator beside it (docs/compensation-mobility.md)",
    "counterfactual_targets_pct": {"Canada's level (18%)": 18.0, "US level (25%)": 25.0},
}


def _fixed_effects(panel: pd.DataFrame, pooled: bool) -> list[str]:
    candidates = [*CONTROL_COLUMNS, "start_year"]
    fes = [c for c in candidates if c in panel.columns]
    return [*fes, "year"] if pooled else fes


def prepare_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Fill missing categories with ``"unknown"`` (so a missing degree is a category, not a
    dropped row) and make the AI columns boolean."""
    data = panel.copy()
    if "startdate" in data and "start_year" not in data:
        # salaries are set per position when it starts: compare positions of one vintage
        data["start_year"] = pd.to_datetime(data["startdate"]).dt.year.astype(str)
    for col in CONTROL_COLUMNS:
        if col in data:
            data[col] = data[col].astype("object").where(data[col].notna(), "unknown").astype(str)
    for col in [c for c in data.columns if c == "ai" or c.startswith("ai_")]:
        data[col] = data[col].fillna(False).astype(bool)
    return data


def skill_columns(panel: pd.DataFrame) -> list[str]:
    return sorted(c for c in panel.columns if c.startswith("ai_") and panel[c].dtype == bool)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with categorical columns as text: the subsets handed to the model
    fitters (a fraction of the panel) behave exactly as an uncompressed panel."""
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not categorical:
        return frame
    return frame.assign(**{c: frame[c].astype(object) for c in categorical})


@dataclass(frozen=True)
class PremiumModel:
    """The premium regression of the estimate stage (the BOK's comparison): log salary
    on the AI flag, weighted by the sampling weight, clustered by person, with the
    controls of :func:`_fixed_effects` as fixed effects."""

    outcome: str = "log_salary"
    treatment: str = "ai"
    weights: str = "weight"
    cluster: str = "user_id"

    def keywords(self, panel: pd.DataFrame, pooled: bool) -> dict[str, object]:
        """:func:`analysis.estimate.premium.estimate_premium`'s keywords on ``panel``
        (the treatment aside: the skill premiums change it)."""
        return {
            "outcome": self.outcome,
            "fixed_effects": _fixed_effects(panel, pooled),
            "weights": self.weights,
            "vcov": {"CRV1": self.cluster},
            "demeaner": exact_demeaner(EXACT_FIXEF_TOL),
        }


#: The one premium specification of the stage.
PREMIUM_MODEL = PremiumModel()


def _premium_kwargs(panel: pd.DataFrame, pooled: bool) -> dict[str, object]:
    return PREMIUM_MODEL.keywords(panel, pooled)


def skill_premiums(panel: pd.DataFrame, countries: list[str] | None = None) -> pd.DataFrame:
    """Premium of each skill cluster (holders against non-AI workers) and of all AI
    workers (``skill == "all"``), pooled over years, in each country (or in
    ``countries`` only): the rows of ``premium_by_skill.csv``."""
    skills = skill_columns(panel)
    pooled = _premium_kwargs(panel, pooled=True)
    if countries is not None:
        panel = panel[panel["country"].isin(countries)]
    # the model's columns only, fixed effects as codes: no copy of the whole panel per fit
    columns = _model_columns({**pooled, "treatment": PREMIUM_MODEL.treatment}, "country", *skills)
    lean = _model_frame(panel, columns, pooled["fixed_effects"])
    rows = []
    groups = lean.groupby("country")
    for country, group in tqdm(
        groups, total=groups.ngroups, desc="premiums by skill", unit="country", disable=None
    ):
        table = premium_by_skill(group, skills, **pooled)
        overall = premium_by(
            group.assign(_all="all"), "_all", treatment=PREMIUM_MODEL.treatment, **pooled
        ).drop(columns="_all")
        rows.append(
            pd.concat([table, overall.assign(skill="all")], ignore_index=True).assign(
                country=country
            )
        )
    by_skill = pd.concat(rows, ignore_index=True)
    return by_skill[["country", *[c for c in by_skill.columns if c != "country"]]]


def premium_tables(panel: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Premium by country (last year), Korea by year, and by skill in every country."""
    last = int(SPEC["premium_year_by_country"])  # type: ignore[arg-type]
    cross = panel[panel["year"] == last]
    treatment = PREMIUM_MODEL.treatment
    by_country = premium_by(
        cross, "country", treatment=treatment, **_premium_kwargs(panel, pooled=False)
    )
    kor = panel[panel["country"] == HOME]
    by_year = premium_by(kor, "year", treatment=treatment, **_premium_kwargs(panel, pooled=False))
    return {
        "premium_by_country": by_country,
        "premium_kr_by_year": by_year,
        "premium_by_skill": skill_premiums(panel),
    }


def weighted_shares(data: pd.DataFrame, columns: list[str], by: list[str]) -> pd.DataFrame:
    """Weighted share (percent) of rows where each boolean column holds, with the
    linearised standard error of a ratio, by group."""
    rows = []
    for key, group in data.groupby(by, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        w = group["weight"].to_numpy(float)
        for col in columns:
            p, se = weighted_share(w, group[col].astype(bool).to_numpy())
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "item": col,
                    "share": 100 * p,
                    "share_se": 100 * se,
                    "n": len(group),
                }
            )
    return pd.DataFrame(rows)


def profile_tables(panel: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Who the AI workers are and how they change jobs: skill shares of AI workers by
    country and year; degree and field of Korea's AI workers; the share of job changers
    in Korea whose new employer is abroad, for AI and non-AI workers, by year."""
    skills = skill_columns(panel)
    ai = panel[panel["ai"]]
    skill_shares = weighted_shares(ai, skills, ["country", "year"])
    kor_ai = _as_text(ai[ai["country"] == HOME])
    degree = pd.get_dummies(kor_ai["highest_degree"], prefix="degree").astype(bool)
    field = (
        pd.get_dummies(kor_ai["field"], prefix="field").astype(bool)
        if "field" in kor_ai
        else pd.DataFrame(index=kor_ai.index)
    )
    graduate = kor_ai["highest_degree"].isin(["Master", "MBA", "Doctor"]).rename("degree_graduate")
    profile_data = pd.concat([kor_ai[["year", "weight"]], degree, field, graduate], axis=1)
    profile = weighted_shares(
        profile_data, [c for c in profile_data if c not in ("year", "weight")], ["year"]
    )
    # job changers: in Korea last year, changed employer this year
    changers = (
        panel[
            (panel["prev_country"] == HOME)
            & panel["job_change"].astype("boolean").fillna(False).astype(bool)
        ]
        if "job_change" in panel
        else panel.iloc[0:0]
    )
    changers = changers[changers["country"].notna()]  # a job with no location is not abroad
    changers = changers.assign(abroad_employer=changers["country"] != HOME)
    job_changers = weighted_shares(changers, ["abroad_employer"], ["year", "ai"])
    return {
        "ai_skill_shares": skill_shares,
        "ai_profile_kor": profile,
        "job_changers_abroad": job_changers,
    }


#: The compensation-mobility model (:mod:`analysis.estimate.mobility_model`): the pay gain
#: of the worker's own skill set in the destination over home, and the controls of the
#: emigration and return logits (AI-skilled workers of Korean origin).
MOBILITY_MODEL: dict[str, object] = {
    "destination": "USA",
    "emigration_controls": ["year"],
    "return_controls": ["year", "country"],
    "methods": ["joint", "naive"],
}


def skill_set_pay(panel: pd.DataFrame) -> tuple[SkillPay, pd.DataFrame]:
    """Skill-set premiums (:func:`analysis.estimate.skillpay.skill_set_premiums`) at home
    and in the destination, pooled over years with the premium controls, and the
    skill-set design of every panel row."""
    design = skill_set_design(panel, skill_columns(panel))
    kwargs = _premium_kwargs(panel, pooled=True)
    countries = [HOME, str(MOBILITY_MODEL["destination"])]
    pay = skill_set_premiums(panel, design, countries=countries, **kwargs)  # type: ignore[arg-type]
    return pay, design


def emigration_samples(
    panel: pd.DataFrame, design: pd.DataFrame, difference: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Person-years of workers of Korean origin with next year's outcomes, the skill-set
    design and their pay gain from moving (``pay_gain`` = ``z_i' d``, also as
    ``premium_gap``), split into those working at home (at risk of emigrating) and those
    working abroad (at risk of returning). Non-AI workers have a gain of zero."""
    korean = panel["origin"] == HOME
    data = next_year_outcomes(pd.concat([panel[korean], design.loc[korean]], axis=1))
    data["pay_gain"] = pay_gain_from_design(data[list(design.columns)], difference)
    data["premium_gap"] = data["pay_gain"]
    return data[data["country"] == HOME], data[data["country"] != HOME]


def skill_set_design_terms(skills: list[str]) -> list[str]:
    """Every column :func:`analysis.estimate.skillpay.skill_set_design` can make."""
    return [SHARE_PREFIX + s for s in skills] + [*COUNT_TERMS, UNLISTED]


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
    data, rates = risk_sets(panel[panel["origin"] == HOME])
    ai = data["ai"].to_numpy(bool)
    design = skill_set_design(data.loc[ai], skills)
    data["pay_gain"] = 0.0
    data.loc[ai, "pay_gain"] = pay_gain_from_design(design, difference)
    data["premium_gap"] = data["pay_gain"]
    ai_rows = pd.concat([data.loc[ai], design], axis=1)
    home = (ai_rows["country"] == HOME).to_numpy()
    return MobilitySamples(
        data[(data["country"] == HOME).to_numpy()], ai_rows[home], ai_rows[~home], rates
    )


#: Weights of the mobility models' risk sets: the sampling weight times the weight that
#: lets new positions with a known location stand for those without one
#: (:mod:`analysis.estimate.samples`).
RISK_WEIGHT: str = "risk_weight"

#: The individual emigration logit: regressors and categorical controls.
EMIGRATION_LOGIT: dict[str, list[str]] = {"regressors": ["ai", "pay_gain"], "categorical": ["year"]}


def fit_mobility_models(
    at_home: pd.DataFrame, abroad: pd.DataFrame, design_terms: list[str], difference, cov
) -> dict[str, MobilityModel]:
    """The joint and the naive compensation-mobility model on the AI workers."""
    return {
        method: fit_mobility_model(
            at_home[at_home["ai"]],
            abroad[abroad["ai"]],
            design_terms=design_terms,
            difference=difference,
            difference_cov=cov,
            emigration_controls=MOBILITY_MODEL["emigration_controls"],  # type: ignore[arg-type]
            return_controls=MOBILITY_MODEL["return_controls"],  # type: ignore[arg-type]
            weights=RISK_WEIGHT,
            method=method,
        )
        for method in MOBILITY_MODEL["methods"]  # type: ignore[attr-defined]
    }


def mobility_model_table(models: dict[str, MobilityModel]) -> pd.DataFrame:
    """alpha, beta and the premium differences ``d`` of each method, one row a term,
    with Wald intervals and, for alpha and beta, robust profile-likelihood intervals
    (:func:`analysis.estimate.mobility_model.profile_interval`)."""
    rows = []
    for method, model in models.items():
        terms = ["alpha", "beta"] + [f"d:{t}" for t in model.terms]
        table = model.result(terms).tidy().assign(method=method)
        # robust profile-likelihood intervals of the two pay responses
        for column in ("profile_low", "profile_high"):
            table[column] = np.nan
        for name in ("alpha", "beta"):
            table.loc[table["term"] == name, ["profile_low", "profile_high"]] = profile_interval(
                model, name
            )
        for key in ("emigration_events", "return_events", "emigration_nobs", "return_nobs"):
            table[key] = model.info[key]
        table["separated_emigration"] = model.info["separated"]["emigration"]  # type: ignore[index]
        table["separated_return"] = model.info["separated"]["return"]  # type: ignore[index]
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def mobility_tables(
    panel: pd.DataFrame,
    premiums: pd.DataFrame,
    pay: SkillPay | None = None,
    positions: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The compensation-mobility tables. ``pay`` (the skill-set premiums at home and in
    the destination) is estimated from ``panel`` when not given; the design is built
    for workers of Korean origin only, the rows the mobility samples use. Their main
    positions come from ``panel`` or, for a frame read without them, from
    ``positions`` (:func:`read_home_positions`)."""
    skills = skill_columns(panel)
    needed = [
        "user_id", "year", "country", "origin", "prev_country", "prev_year_observed",
        "weight", "ai", "job_category", "highest_degree", "sex", "position_id", *skills,
    ]  # fmt: skip
    if pay is None:
        pay, _ = skill_set_pay(panel)
    last = int(panel["year"].max())
    panel = panel.loc[panel["origin"] == HOME, [c for c in needed if c in panel]]
    if positions is not None and "position_id" not in panel:
        panel = with_positions(panel, positions)
    difference, cov = premium_difference(
        pay, destination=str(MOBILITY_MODEL["destination"]), home=HOME
    )
    at_home, ai_at_home, ai_abroad, location_missing = mobility_samples(panel, skills, difference)
    design_terms = [t for t in ai_at_home.columns if t in set(skill_set_design_terms(skills))]
    fe = [c for c in ("year", "job_category", "highest_degree", "sex") if c in at_home]
    lpm = mobility_lpm(
        at_home,
        outcome="emigrate_next",
        regressors=["ai", "pay_gain"],
        fixed_effects=fe,
        weights=RISK_WEIGHT,
        vcov={"CRV1": "user_id"},
        engine="duckdb",
    )
    ame = logit_ame(
        at_home,
        "emigrate_next",
        weights=RISK_WEIGHT,
        vcov={"CRV1": "user_id"},
        **EMIGRATION_LOGIT,  # type: ignore[arg-type]
    )
    individual = pd.concat(
        [
            lpm.tidy().assign(model="linear probability, FE: " + ", ".join(fe)),
            ame.tidy().assign(model="logit, average marginal effects"),
        ],
        ignore_index=True,
    )
    individual.insert(0, "outcome", "emigrate_next")

    # across skills: share of Korean-origin AI holders of each skill abroad (last year)
    kr = panel[(panel["origin"] == HOME) & (panel["year"] == last) & panel["country"].notna()]
    home_prem = premiums[premiums["country"] == HOME].set_index("skill")
    points = []
    for skill in skills:
        holders = kr[kr[skill]]
        if holders.empty or skill not in home_prem.index:
            continue
        w = holders["weight"]
        points.append(
            {
                "skill": skill,
                "premium_pct": home_prem.loc[skill, "premium_pct"],
                "share_abroad": 100 * float((w * (holders["country"] != HOME)).sum() / w.sum()),
                "workers": float(w.sum()),
                "n": len(holders),
            }
        )
    points_frame = pd.DataFrame(points)
    slope, plot = share_premium_slope(
        points_frame, share="share_abroad", premium="premium_pct", weights="workers", label="skill"
    )
    skill_slope = slope.tidy().assign(points=len(points_frame))

    models = fit_mobility_models(ai_at_home, ai_abroad, design_terms, difference, cov)
    by_country = premiums[(premiums["country"] == HOME) & (premiums["skill"] == "all")]
    shifts = scenario_shifts(
        float(by_country["premium_pct"].iloc[0]), SPEC["counterfactual_targets_pct"]
    )  # type: ignore[arg-type]
    counterfactual = pd.concat(
        [counterfactual_table(model, shifts) for model in models.values()], ignore_index=True
    )
    return {
        "premium_skill_set": pay.tidy(),
        "mobility_individual": individual,
        "mobility_model": mobility_model_table(models),
        "mobility_skill_slope": skill_slope,
        "mobility_skill_points": plot,
        "counterfactual": counterfactual,
        "mobility_location_missing": location_missing.rename_axis("year").reset_index(),
    }


def bilateral_flows(panel: pd.DataFrame, premiums: pd.DataFrame) -> pd.DataFrame:
    """Weighted moves of AI workers origin x destination x skill x year, zeros included,
    with the premium gap (destination minus origin premium of the skill)."""
    skills = skill_columns(panel)
    needed = ["user_id", "year", "country", "ai", "weight", *skills]
    history = [c for c in ("prev_country", "prev_year_observed") if c in panel]
    needed += history
    if len(history) == 2:
        # the cleaned panel carries each row's previous year: keep the AI workers' rows
        # that have one before copying any column (a copy of the whole frame's columns
        # was the estimate stage's peak memory at the BOK's size)
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


#: The function behind each table (``estimates_manifest.json`` lists it with the table).
TABLE_SOURCES: dict[str, str] = {
    "premium_by_country": "analysis.estimate.premium_engine.premium_by_engine "
    "(by country, last year; equals analysis.estimate.premium.premium_by)",
    "premium_kr_by_year": "analysis.estimate.premium_engine.premium_by_engine "
    "(Korea, by year; equals analysis.estimate.premium.premium_by)",
    "premium_by_skill": "analysis.estimate.premium_engine.skill_premiums_engine "
    "(equals analysis.estimate.stage.skill_premiums)",
    "stocks": "analysis.estimate.workforce.stocks",
    "flows_ai": "analysis.estimate.workforce.flows (AI workers)",
    "flows_all": "analysis.estimate.workforce.flows (all workers)",
    "overseas_share": "analysis.estimate.workforce.overseas_share",
    "overseas_destinations": "analysis.estimate.workforce.overseas_by_destination",
    "ai_skill_shares": "analysis.estimate.stage.profile_tables",
    "ai_profile_kor": "analysis.estimate.stage.profile_tables",
    "job_changers_abroad": "analysis.estimate.stage.profile_tables",
    "mobility_individual": "analysis.estimate.mobility.mobility_lpm, logit_ame "
    "(analysis.estimate.stage.mobility_tables)",
    "mobility_skill_slope": "analysis.estimate.mobility.share_premium_slope",
    "mobility_skill_points": "analysis.estimate.mobility.share_premium_slope",
    "premium_skill_set": "analysis.estimate.premium_engine.skill_set_pay_engine "
    "(equals analysis.estimate.skillpay.skill_set_premiums)",
    "mobility_model": "analysis.estimate.mobility_model.fit_mobility_model "
    "(analysis.estimate.stage.fit_mobility_models)",
    "counterfactual": "analysis.estimate.mobility_model.counterfactual_table",
    "mobility_location_missing": "analysis.estimate.samples.location_missing_rates",
    "bilateral_flows": "analysis.estimate.stage.bilateral_flows",
    "gravity": "analysis.estimate.mobility.gravity_ppml (analysis.estimate.stage.gravity_table)",
}


#: Columns of the panel the workforce, profile, mobility and flow tables read.
FRAME_COLUMNS: tuple[str, ...] = (
    "user_id",
    "year",
    "country",
    "origin",
    "prev_country",
    "prev_year_observed",
    "weight",
    "ai",
    "highest_degree",
    "field",
    "job_category",
    "sex",
    "job_change",
)

#: Columns read for the person-years of Korean origin only (the mobility samples): the
#: main position, which tells a new position from a continued one
#: (:mod:`analysis.estimate.samples`), and the keys that align them with the frame.
POSITION_COLUMNS: tuple[str, ...] = ("user_id", "year", "position_id")


def read_home_positions(panel_file: Path) -> pd.DataFrame:
    """``POSITION_COLUMNS`` of the panel's rows of Korean origin, in file order (the
    order of the frame's rows of Korean origin); read apart from the frame so that
    the 8-byte position id is held for those rows only."""
    return read_panel_frame(panel_file, list(POSITION_COLUMNS), where=f"origin = {literal(HOME)}")


def with_positions(home_rows: pd.DataFrame, positions: pd.DataFrame) -> pd.DataFrame:
    """The frame's rows of Korean origin with their ``position_id`` (from
    :func:`read_home_positions`), after checking that the two line up row by row."""
    aligned = len(positions) == len(home_rows) and all(
        np.array_equal(positions[c].to_numpy(), home_rows[c].to_numpy())
        for c in ("user_id", "year")
    )
    if not aligned:
        raise RuntimeError("the position ids do not line up with the frame's rows of Korean origin")
    return home_rows.assign(position_id=positions["position_id"].to_numpy())


#: The fewest persons a group must hold for the estimate stage to run: the premiums
#: need AI and non-AI workers in Korea and the destination in the premium year, the
#: mobility model AI workers of Korean origin at home and abroad. Fewer is a named
#: error up front, not a failure deep inside an estimator.
MINIMUM_PERSONS: int = 2


def estimability_problems(panel_file: Path, skills: list[str]) -> list[str]:
    """What the panel lacks for the estimate stage (empty when it can run)."""
    year = int(SPEC["premium_year_by_country"])  # type: ignore[arg-type]
    destination = str(MOBILITY_MODEL["destination"])
    source = parquet_source(panel_file)
    held = " OR ".join(f'"{s}"' for s in skills) or "false"
    con = duckdb.connect()
    try:
        counts = con.sql(
            f"""SELECT
              count(DISTINCT user_id) FILTER (year = {year} AND country = '{HOME}' AND ai),
              count(DISTINCT user_id) FILTER (year = {year} AND country = '{HOME}' AND NOT ai),
              count(DISTINCT user_id) FILTER (year = {year} AND country = '{destination}' AND ai),
              count(DISTINCT user_id)
                FILTER (year = {year} AND country = '{destination}' AND NOT ai),
              count(DISTINCT user_id) FILTER (origin = '{HOME}' AND ai AND country = '{HOME}'),
              count(DISTINCT user_id) FILTER (origin = '{HOME}' AND ai AND country <> '{HOME}'),
              count(DISTINCT user_id) FILTER ({held})
            FROM {source}"""
        ).fetchone()
    finally:
        con.close()
    needs = [
        f"AI workers in {HOME} in {year}",
        f"non-AI workers in {HOME} in {year}",
        f"AI workers in {destination} in {year}",
        f"non-AI workers in {destination} in {year}",
        f"AI workers of {HOME} origin working in {HOME}",
        f"AI workers of {HOME} origin working abroad",
        "workers holding an AI skill cluster",
    ]
    return [
        f"{what}: {n} (at least {MINIMUM_PERSONS} needed)"
        for what, n in zip(needs, counts, strict=True)
        if n < MINIMUM_PERSONS
    ]


def engine_premium_tables(
    con: duckdb.DuckDBPyConnection, panel_file: Path, skills: list[str]
) -> tuple[dict[str, pd.DataFrame], SkillPay]:
    """The premium tables and the skill-set premiums of the mobility model, out of core
    (:mod:`analysis.estimate.premium_engine`): the same specifications as
    :func:`premium_tables` and :func:`skill_set_pay`."""
    fixed = premium_view(con, panel_file, skills)
    last = int(SPEC["premium_year_by_country"])  # type: ignore[arg-type]
    tables = {
        "premium_by_country": premium_by_engine(
            con, "country", fixed_effects=fixed, where=f"year = {last}"
        ),
        "premium_kr_by_year": premium_by_engine(
            con, "year", fixed_effects=fixed, where=f"country = '{HOME}'"
        ),
        "premium_by_skill": skill_premiums_engine(con, skills, fixed_effects=[*fixed, "year"]),
    }
    pay = skill_set_pay_engine(
        con,
        skills,
        countries=[HOME, str(MOBILITY_MODEL["destination"])],
        fixed_effects=[*fixed, "year"],
    )
    return tables, pay


def run_estimates(
    panel_dir: str | Path, out_dir: str | Path, log: Callable[[str], None] = print
) -> dict[str, Path]:
    """Run every estimator on the processed panel and write tidy CSVs to ``out_dir``.

    The premium regressions read ``panel.parquet`` in DuckDB (memory bounded by
    :data:`analysis.estimate.premium_engine.MEMORY_LIMIT`); the other tables use the
    columns in :data:`FRAME_COLUMNS`, read compactly
    (:func:`analysis.estimate.panel_frame.read_panel_frame`).
    """
    panel_dir = Path(panel_dir)
    clean_manifest = verify_clean_output(panel_dir)
    out_dir = check_output_folder(out_dir, {"panel": panel_dir})
    panel_file = panel_dir / "panel.parquet"
    columns = panel_columns(panel_file)
    skills = sorted(c for c in columns if c.startswith("ai_"))
    problems = estimability_problems(panel_file, skills)
    if problems:
        raise EstimationDataError(
            f"{panel_file} holds too few workers to estimate from: " + "; ".join(problems)
        )
    tables: dict[str, pd.DataFrame] = {}
    population = load_population()
    state: dict[str, object] = {}

    def premium_step() -> dict[str, pd.DataFrame]:
        with tempfile.TemporaryDirectory(prefix="estimate-spill-") as spill:
            con = connect(temp_directory=spill)
            try:
                premiums, state["pay"] = engine_premium_tables(con, panel_file, skills)
            finally:
                con.close()
        state["panel"] = read_panel_frame(panel_file, [*FRAME_COLUMNS, *skills])
        state["positions"] = read_home_positions(panel_file)
        return premiums

    def workforce_tables() -> dict[str, pd.DataFrame]:
        panel = state["panel"]
        return {
            # the cleaning stage's panel holds one row per person-year (its manifest
            # is verified above), so the duplicate checks are skipped
            "stocks": stocks(panel, weights="weight", person=None),
            "flows_ai": flows(
                panel, weights="weight", population=population, check_duplicates=False
            ),
            "flows_all": flows(
                panel,
                only_ai=False,
                weights="weight",
                population=population,
                check_duplicates=False,
            ),
            "overseas_share": overseas_share(panel, weights="weight", person=None),
            "overseas_destinations": overseas_by_destination(panel, weights="weight", person=None),
            **profile_tables(panel),
        }

    def gravity_tables() -> dict[str, pd.DataFrame]:
        bilateral = bilateral_flows(state["panel"], tables["premium_by_skill"])
        return {"bilateral_flows": bilateral, "gravity": gravity_table(bilateral)}

    steps: list[tuple[str, Callable[[], dict[str, pd.DataFrame]]]] = [
        ("premiums by country, year and skill (DuckDB)", premium_step),
        ("stocks, flows and overseas shares", workforce_tables),
        (
            "mobility, compensation-mobility model and counterfactuals",
            lambda: mobility_tables(
                state["panel"],
                tables["premium_by_skill"],
                state["pay"],  # type: ignore[arg-type]
                state["positions"],  # type: ignore[arg-type]
            ),
        ),
        ("bilateral flows (PPML gravity)", gravity_tables),
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*singleton.*")
        for number, (label, step) in enumerate(steps, start=1):
            begin = time.perf_counter()
            log(f"estimate [{number}/{len(steps)}]: {label} ...")
            tables.update(step())
            log(f"estimate [{number}/{len(steps)}]: {label}: {time.perf_counter() - begin:.1f} s")
    panel = state["panel"]
    assert isinstance(panel, pd.DataFrame)
    written = {}
    start_output_set(out_dir, ESTIMATES_MANIFEST)
    for name, frame in tables.items():
        written[name] = write_frame_atomic(frame.round(10), out_dir / f"{name}.csv")
    generator = clean_manifest.get("delivery", {}).get("checksums", {}).get("generator")
    manifest = {
        "stage": "estimate",
        "synthetic": generator == "analysis.sources.synthetic",
        "package_version": __version__,
        "panel": str(panel_dir),
        "spec": SPEC,
        "tables": {
            name: {
                "rows": len(frame),
                "file": f"{name}.csv",
                "function": TABLE_SOURCES[name],
                **file_record(written[name]),
            }
            for name, frame in tables.items()
        },
        "panel_rows": len(panel),
        "panel_sha256": clean_manifest["outputs"]["panel.parquet"]["sha256"],
        # adjacent person-years of Korean-origin workers left out of the emigration and
        # return risk sets because a year has no known location
        "mobility_unknown_location": unknown_location_counts(
            panel.loc[
                (panel["origin"] == HOME).to_numpy(),
                ["user_id", "year", "country", "prev_year_observed", "prev_country"],
            ]
        ),
        # share of new main positions without a location, by the year before: the
        # risk sets' pairs with a new position are weighted by 1 / (1 - share)
        "mobility_location_missing_rate": {
            str(row.year): round(row.location_missing, 10)
            for row in tables["mobility_location_missing"].itertuples(index=False)
        },
        "persons": int(panel["user_id"].nunique()),
    }
    write_atomic(  # last: the set of tables is now whole
        out_dir / ESTIMATES_MANIFEST,
        lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"),
    )
    log(f"estimate: wrote {len(written)} tables to {out_dir}")
    return written
