"""Moments of a delivery, measured on the delivery itself, for calibration and checks.

The calibration must fit the world to the published figures *as they would be
measured on the data*, not on the model's internals. This module reads a delivery
with the package's reader (:func:`analysis.sources.revelio.read_delivery`) and
measures each moment with simple, documented rules:

- **person-year**: the spell that covers 1 July of the year (the best-paid one if a
  side job overlaps); its ``weight`` is the person's weight;
- **AI-skilled in year t**: at least one skill of the AI taxonomy
  (``analysis/data/ai_skill_taxonomy.csv``, matched on ``skill_mapped`` or ``skill_raw``)
  first reported in or before t (always, if ``first_reported`` is missing);
- **origin**: the country of the earliest high-school education, else bachelor's, else
  the earliest education, else the first job;
- **premium**: weighted OLS of log salary on the AI indicator with seniority,
  job-category, degree, field of study, industry, sex and position-vintage (start year)
  fixed effects (pyfixest: the BOK's "job function, education, industry, seniority,
  gender"),
  as exp(b) - 1 in percent. The vintage matters because a position carries one salary,
  set when it starts: a long-running position's pay is that of an earlier year.

These are the calibration's measurement rules; the cleaning stage (:mod:`analysis.clean`)
and the estimators (:mod:`analysis.estimate`) are the package's full versions of the
same ideas.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyfixest as pf

from analysis.config import FOCAL_COUNTRY
from analysis.estimate.results import RegressionResult
from analysis.sources.published import BOK_PREMIUM_IDS
from analysis.sources.revelio import Delivery, read_delivery
from analysis.sources.taxonomy import load_ai_taxonomy

#: The BOK's premium countries other than the focal one -> registry ids.
COUNTRIES_WITH_PREMIUM = {c: f for c, f in BOK_PREMIUM_IDS.items() if c != FOCAL_COUNTRY}
SKILL_PREMIUM_IDS = {
    "pattern recognition": "premium_skill_pattern_recognition",
    "neuroscience": "premium_skill_neuroscience",
    "signal processing": "premium_skill_signal_processing",
    "cloud computing": "premium_skill_cloud",
}
SKILL_SHARE_IDS = {
    "cloud computing": "skill_share_2024_cloud",
    "machine learning": "skill_share_2024_ml",
    "deep learning": "skill_share_2024_dl",
    "signal processing": "skill_share_2024_signal_processing",
}


@dataclass
class Moment:
    """One measured moment: value, its standard error where known, and sample size."""

    figure_id: str
    value: float
    std_error: float
    nobs: int


def _panel(delivery: Delivery, years: range) -> pd.DataFrame:
    """Person-year frame: main spell at 1 July, AI status, clusters, origin."""
    con = delivery.con
    taxonomy = load_ai_taxonomy()
    con.register(
        "_taxonomy",
        taxonomy.assign(key=taxonomy["name"].str.lower())[["key", "name_type", "cluster"]],
    )
    delivery.execute(f"""
        CREATE OR REPLACE TEMP TABLE _years AS
        SELECT range AS year FROM range({years.start}, {years.stop})""")
    delivery.execute("""
        CREATE OR REPLACE TEMP TABLE _ai_skills AS
        SELECT DISTINCT s.user_id, t.cluster,
               coalesce(year(s.first_reported), 0) AS first_year
        FROM skills s JOIN _taxonomy t
          ON (t.name_type = 'mapped' AND lower(s.skill_mapped) = t.key)
          OR (t.name_type = 'raw' AND lower(s.skill_raw) = t.key)""")
    delivery.execute("""
        CREATE OR REPLACE TEMP TABLE _origin AS
        WITH ranked AS (
          SELECT user_id, university_country AS country,
                 row_number() OVER (PARTITION BY user_id ORDER BY
                   CASE WHEN degree = 'High School' THEN 0 WHEN degree = 'Bachelor' THEN 1
                        ELSE 2 END, startdate NULLS LAST, education_number) AS r
          FROM education WHERE university_country IS NOT NULL),
        first_job AS (
          SELECT user_id, arg_min(country, startdate) AS country FROM positions
          WHERE country IS NOT NULL GROUP BY user_id)
        SELECT u.user_id, coalesce(r.country, j.country) AS origin
        FROM users u LEFT JOIN ranked r ON r.user_id = u.user_id AND r.r = 1
        LEFT JOIN first_job j ON j.user_id = u.user_id""")
    # field of study of the last (highest) education spell: the "education" control
    delivery.execute("""
        CREATE OR REPLACE TEMP TABLE _field AS
        SELECT user_id, arg_max(field, coalesce(education_number, 0)) AS field
        FROM education WHERE field IS NOT NULL GROUP BY user_id""")
    delivery_date = delivery.delivery_date
    has_industry = "industry" in delivery.extra_columns.get("positions", [])
    industry = "m.industry" if has_industry else "CAST(NULL AS VARCHAR) AS industry"
    frame = delivery.query(f"""
        WITH spells AS (
          SELECT p.*, y.year FROM positions p JOIN _years y
            ON p.startdate <= make_date(y.year, 7, 1)
           AND coalesce(p.enddate, DATE '{delivery_date}') >= make_date(y.year, 7, 1)),
        main AS (
          SELECT * FROM spells QUALIFY row_number() OVER (
            PARTITION BY user_id, year ORDER BY salary DESC NULLS LAST, position_number) = 1)
        SELECT m.user_id, m.year, m.country, m.rcid, m.salary, m.weight, m.seniority,
               year(m.startdate) AS vintage,
               m.job_category, u.highest_degree AS degree, f.field, {industry},
               coalesce(u.sex_predicted, 'unknown') AS sex, o.origin,
               EXISTS (SELECT 1 FROM _ai_skills a WHERE a.user_id = m.user_id
                       AND a.first_year <= m.year) AS ai
        FROM main m JOIN users u USING (user_id) LEFT JOIN _origin o USING (user_id)
        LEFT JOIN _field f USING (user_id)
        ORDER BY m.user_id, m.year""")
    clusters = delivery.query("SELECT user_id, cluster, first_year FROM _ai_skills")
    con.unregister("_taxonomy")
    return frame, clusters


def _premium(frame: pd.DataFrame, regressor: str) -> tuple[float, float, int]:
    data = frame.dropna(subset=["salary"]).assign(log_salary=lambda d: np.log(d["salary"]))
    data["degree"] = data["degree"].fillna("unknown")
    data["job_category"] = data["job_category"].fillna("unknown")
    data["seniority"] = data["seniority"].fillna(0)
    data["field"] = data["field"].fillna("unknown")
    data["industry"] = data["industry"].fillna("unknown")
    data[regressor] = data[regressor].astype(float)
    # Salaries are modelled per position as of its start: compare positions of one vintage.
    fes = "seniority + job_category + degree + field + industry + sex + vintage"
    if data["year"].nunique() > 1:
        fes += " + year"
    with warnings.catch_warnings():  # singleton cells are dropped, as they should be
        warnings.filterwarnings("ignore", message=".*singleton.*")
        fit = pf.feols(
            f"log_salary ~ {regressor} | {fes}",
            data=data,
            weights="weight",
            vcov={"CRV1": "user_id"},
        )
    result = RegressionResult.from_pyfixest(fit, vcov_type="CRV1: user_id", estimator="feols")
    b, se = float(result.params[regressor]), float(result.std_errors[regressor])
    # percent and delta-method standard error of exp(b) - 1
    return 100 * (np.exp(b) - 1), 100 * np.exp(b) * se, result.nobs


def measure_moments(delivery: str | Path | Delivery) -> dict[str, Moment]:
    """Measure every calibration and check moment on a delivery.

    Returns
    -------
    dict
        ``{figure id: Moment}``; ids are those of ``analysis/data/published_figures.csv``
        (plus ``kr_abroad_share_nonai`` and ``kr_abroad_us_share_2024``, which the
        registry states only indirectly).
    """
    if not isinstance(delivery, Delivery):
        delivery = read_delivery(delivery, con=duckdb.connect())
    panel, clusters = _panel(delivery, range(2010, 2025))
    out: dict[str, Moment] = {}

    def stock(country: str, year: int) -> Moment:
        sel = panel[(panel["country"] == country) & (panel["year"] == year) & panel["ai"]]
        w = sel["weight"].to_numpy()
        # standard error of a weighted total under independent sampling of persons
        return Moment("", float(w.sum()), float(np.sqrt((w**2).sum())), len(sel))

    for fid, (c, y) in {
        "kr_ai_workers_2010": (FOCAL_COUNTRY, 2010),
        "kr_ai_workers_2024": (FOCAL_COUNTRY, 2024),
        "us_ai_workers_2024": ("USA", 2024),
        "uk_ai_workers_2024": ("GBR", 2024),
        "fr_ai_workers_2024": ("FRA", 2024),
    }.items():
        m = stock(c, y)
        m.figure_id = fid
        out[fid] = m

    kor = panel[panel["country"] == FOCAL_COUNTRY]
    yearly = {year: _premium(kor[kor["year"] == year], "ai") for year in range(2010, 2025)}
    out["premium_kr_2024"] = Moment("premium_kr_2024", *yearly[2024])
    out["premium_kr_2010"] = Moment("premium_kr_2010", *yearly[2010])
    # the report's 2010-2024 average: the mean of the yearly premiums
    out["premium_kr_avg_2010_2024"] = Moment(
        "premium_kr_avg_2010_2024",
        float(np.mean([v[0] for v in yearly.values()])),
        float(np.sqrt(sum(v[1] ** 2 for v in yearly.values())) / len(yearly)),
        sum(v[2] for v in yearly.values()),
    )
    for country, fid in COUNTRIES_WITH_PREMIUM.items():
        sel = panel[(panel["country"] == country) & (panel["year"] == 2024)]
        out[fid] = Moment(fid, *_premium(sel, "ai"))

    # skill premiums in Korea, pooled 2010-2024: holders of the cluster vs non-AI workers
    for cluster, fid in SKILL_PREMIUM_IDS.items():
        holders = clusters.loc[clusters["cluster"] == cluster, ["user_id", "first_year"]]
        sel = kor.merge(holders, on="user_id", how="left")
        sel["holds"] = sel["first_year"].notna() & (sel["first_year"] <= sel["year"])
        sel = sel[~sel["ai"] | sel["holds"]]
        out[fid] = Moment(fid, *_premium(sel, "holds"))

    # skill shares among Korea's AI workers, 2024 (weighted)
    ai24 = kor[(kor["year"] == 2024) & kor["ai"]][["user_id", "weight"]]
    total = ai24["weight"].sum()
    for cluster, fid in SKILL_SHARE_IDS.items():
        held = ai24["user_id"].isin(
            clusters.loc[
                (clusters["cluster"] == cluster) & (clusters["first_year"] <= 2024), "user_id"
            ]
        )
        share = ai24.loc[held, "weight"].sum() / total
        out[fid] = Moment(
            fid, 100 * share, 100 * np.sqrt(share * (1 - share) / len(ai24)), len(ai24)
        )

    # Koreans abroad, 2024
    kr = panel[(panel["origin"] == FOCAL_COUNTRY) & (panel["year"] == 2024)]
    abroad = kr["country"].notna() & (kr["country"] != FOCAL_COUNTRY)
    for flag, fid in ((True, "kr_abroad_share"), (False, "kr_abroad_share_nonai")):
        sel = kr["ai"] == flag
        share = kr.loc[sel & abroad, "weight"].sum() / kr.loc[sel, "weight"].sum()
        out[fid] = Moment(
            fid, 100 * share, 100 * np.sqrt(share * (1 - share) / sel.sum()), int(sel.sum())
        )
    out["kr_abroad_share_gap_vs_nonai"] = Moment(
        "kr_abroad_share_gap_vs_nonai",
        out["kr_abroad_share"].value - out["kr_abroad_share_nonai"].value,
        float(np.hypot(out["kr_abroad_share"].std_error, out["kr_abroad_share_nonai"].std_error)),
        out["kr_abroad_share"].nobs + out["kr_abroad_share_nonai"].nobs,
    )
    ai_abroad = kr[kr["ai"] & abroad]
    out["kr_abroad_2024"] = Moment(
        "kr_abroad_2024",
        float(ai_abroad["weight"].sum()),
        float(np.sqrt((ai_abroad["weight"] ** 2).sum())),
        len(ai_abroad),
    )
    us = ai_abroad["country"] == "USA"
    out["kr_abroad_us_2024"] = Moment(
        "kr_abroad_us_2024",
        float(ai_abroad.loc[us, "weight"].sum()),
        float(np.sqrt((ai_abroad.loc[us, "weight"] ** 2).sum())),
        int(us.sum()),
    )
    share_us = out["kr_abroad_us_2024"].value / max(out["kr_abroad_2024"].value, 1e-9)
    out["kr_abroad_us_share_2024"] = Moment(
        "kr_abroad_us_share_2024",
        100 * share_us,
        100 * np.sqrt(share_us * (1 - share_us) / max(len(ai_abroad), 1)),
        len(ai_abroad),
    )
    return out


def net_flows(delivery: Delivery) -> pd.DataFrame:
    """Korean-origin AI workers' emigration and return by year (weighted), from the
    change of main-job country between consecutive person-years."""
    panel, _ = _panel(delivery, range(2009, 2025))
    kr = panel[panel["origin"] == FOCAL_COUNTRY].sort_values(["user_id", "year"])
    prev = kr.groupby("user_id")[["year", "country"]].shift()
    step = kr.assign(prev_year=prev["year"], prev_country=prev["country"])
    step = step[(step["prev_year"] == step["year"] - 1) & step["ai"]]
    emig = (step["prev_country"] == FOCAL_COUNTRY) & (step["country"] != FOCAL_COUNTRY)
    ret = (step["prev_country"] != FOCAL_COUNTRY) & (step["country"] == FOCAL_COUNTRY)
    out = pd.DataFrame(
        {
            "emigration": step[emig].groupby("year")["weight"].sum(),
            "return": step[ret].groupby("year")["weight"].sum(),
        }
    ).fillna(0.0)
    out["net_outflow"] = out["emigration"] - out["return"]
    return out.reset_index()
