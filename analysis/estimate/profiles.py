"""Who the AI workers are: weighted shares of skills, degrees and fields, and of job
changers whose new employer is abroad (the estimate stage's profile tables)."""

from __future__ import annotations

import pandas as pd

from analysis.config import FOCAL_COUNTRY
from analysis.estimate.panel_frame import as_text, skill_columns
from analysis.estimate.workforce import weighted_share


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
    kor_ai = as_text(ai[ai["country"] == FOCAL_COUNTRY])
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
            (panel["prev_country"] == FOCAL_COUNTRY)
            & panel["job_change"].astype("boolean").fillna(False).astype(bool)
        ]
        if "job_change" in panel
        else panel.iloc[0:0]
    )
    changers = changers[changers["country"].notna()]  # a job with no location is not abroad
    changers = changers.assign(abroad_employer=changers["country"] != FOCAL_COUNTRY)
    job_changers = weighted_shares(changers, ["abroad_employer"], ["year", "ai"])
    return {
        "ai_skill_shares": skill_shares,
        "ai_profile_kor": profile,
        "job_changers_abroad": job_changers,
    }
