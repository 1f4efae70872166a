"""The estimate stage's tables that apply the specifications to the panel: the premiums
(by country, year and skill; skill-set premiums), and the compensation-mobility tables
(individual models, the joint model, the counterfactuals). Each returns tidy frames by
table name; :mod:`analysis.estimate.stage` writes them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from analysis.config import FOCAL_COUNTRY
from analysis.errors import ArgumentError
from analysis.estimate.counterfactual import scenario_shifts
from analysis.estimate.mobility import logit_ame, mobility_lpm, share_premium_slope
from analysis.estimate.mobility_model import (
    MobilityModel,
    counterfactual_table,
    fit_mobility_model,
    profile_interval,
)
from analysis.estimate.panel_frame import skill_columns, with_positions
from analysis.estimate.premium import _model_columns, _model_frame, premium_by, premium_by_skill
from analysis.estimate.premium_engine import (
    premium_by_engine,
    premium_view,
    skill_premiums_engine,
    skill_set_pay_engine,
)
from analysis.estimate.samples import RISK_WEIGHT, mobility_samples
from analysis.estimate.skillpay import (
    SkillPay,
    premium_difference,
    skill_set_design,
    skill_set_design_terms,
    skill_set_premiums,
)
from analysis.estimate.specification import (
    EMIGRATION_LOGIT,
    MOBILITY_MODEL,
    PREMIUM_MODEL,
    SPEC,
    premium_keywords,
)
from analysis.sql import literal


def skill_premiums(panel: pd.DataFrame, countries: list[str] | None = None) -> pd.DataFrame:
    """Premium of each skill cluster (holders against non-AI workers) and of all AI
    workers (``skill == "all"``), pooled over years, in each country (or in
    ``countries`` only): the rows of ``premium_by_skill.csv``."""
    skills = skill_columns(panel)
    pooled = premium_keywords(panel, pooled=True)
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
        cross, "country", treatment=treatment, **premium_keywords(panel, pooled=False)
    )
    kor = panel[panel["country"] == FOCAL_COUNTRY]
    by_year = premium_by(kor, "year", treatment=treatment, **premium_keywords(panel, pooled=False))
    return {
        "premium_by_country": by_country,
        "premium_kr_by_year": by_year,
        "premium_by_skill": skill_premiums(panel),
    }


def skill_set_pay(panel: pd.DataFrame) -> tuple[SkillPay, pd.DataFrame]:
    """Skill-set premiums (:func:`analysis.estimate.skillpay.skill_set_premiums`) at home
    and in the destination, pooled over years with the premium controls, and the
    skill-set design of every panel row."""
    design = skill_set_design(panel, skill_columns(panel))
    kwargs = premium_keywords(panel, pooled=True)
    countries = [FOCAL_COUNTRY, str(MOBILITY_MODEL["destination"])]
    pay = skill_set_premiums(panel, design, countries=countries, **kwargs)  # type: ignore[arg-type]
    return pay, design


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
    panel = panel.loc[panel["origin"] == FOCAL_COUNTRY, [c for c in needed if c in panel]]
    if positions is not None and "position_id" not in panel:
        panel = with_positions(panel, positions)
    difference, cov = premium_difference(
        pay, destination=str(MOBILITY_MODEL["destination"]), home=FOCAL_COUNTRY
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
    kr = panel[
        (panel["origin"] == FOCAL_COUNTRY) & (panel["year"] == last) & panel["country"].notna()
    ]
    home_prem = premiums[premiums["country"] == FOCAL_COUNTRY].set_index("skill")
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
                "share_abroad": 100
                * float((w * (holders["country"] != FOCAL_COUNTRY)).sum() / w.sum()),
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
    by_country = premiums[(premiums["country"] == FOCAL_COUNTRY) & (premiums["skill"] == "all")]
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


def engine_premium_tables(
    con: duckdb.DuckDBPyConnection, panel_file: Path, skills: list[str]
) -> tuple[dict[str, pd.DataFrame], SkillPay]:
    """The premium tables and the skill-set premiums of the mobility model, out of core
    (:mod:`analysis.estimate.premium_engine`): the same specifications as
    :func:`premium_tables` and :func:`skill_set_pay`."""
    model = PREMIUM_MODEL
    if model.treatment != "ai":
        raise ArgumentError(
            f"the premium engine estimates the AI premium (treatment 'ai'), not "
            f"{model.treatment!r}: PREMIUM_MODEL in analysis.estimate.specification"
        )
    columns = [model.weights, model.outcome, model.cluster]
    fixed = premium_view(con, panel_file, skills, columns=columns)
    common = {"outcome": model.outcome, "weights": model.weights, "cluster": model.cluster}
    last = int(SPEC["premium_year_by_country"])  # type: ignore[arg-type]
    tables = {
        "premium_by_country": premium_by_engine(
            con, "country", fixed_effects=fixed, where=f"year = {last}", **common
        ),
        "premium_kr_by_year": premium_by_engine(
            con, "year", fixed_effects=fixed, where=f"country = {literal(FOCAL_COUNTRY)}", **common
        ),
        "premium_by_skill": skill_premiums_engine(
            con, skills, fixed_effects=[*fixed, "year"], **common
        ),
    }
    pay = skill_set_pay_engine(
        con,
        skills,
        countries=[FOCAL_COUNTRY, str(MOBILITY_MODEL["destination"])],
        fixed_effects=[*fixed, "year"],
        **common,
    )
    return tables, pay
