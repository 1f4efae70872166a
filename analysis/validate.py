"""Estimates against the published figures: one row per figure, with a computed verdict.

:func:`validation_table` reads the ``estimate`` stage's tables and the published-figures
registry and, for every figure the analysis speaks to, gives the published value, our
estimate with its 95% interval, the rule used to compare, the figure's role and the
verdict. Rules:

- ``interval covers``: the 95% interval of the estimate contains the published number;
- ``sign pattern``: for the BOK's "net outflow every year but 2020", each year's estimated
  net flow has the published sign (the verdict counts the years that match);
- ``same sign``: for figures from another source and population (World Bank-LinkedIn,
  Stanford AI Index), whether the two agree on the direction. Disagreements between
  sources are findings, shown as ``disagrees``, never hidden.

Roles: on a synthetic delivery, ``calibration target`` (the world was fitted to it, see
:data:`analysis.sources.synthetic.calibrate.TARGETS`) or ``out-of-sample check``; on a
real delivery every figure is an ``out-of-sample check``; figures from other sources are
``comparison with another source``. ``python -m analysis validate`` exits non-zero when a
calibration target fails.

The ``validate`` stage (:func:`run_validation`) writes the table into its own folder,
``validation.csv`` beside ``validation_manifest.json``, which records the estimates it
was made from (:mod:`analysis.output_set`).

Examples
--------
>>> table = validation_table("data/estimates")          # doctest: +SKIP
>>> table[["figure_id", "published", "estimate", "verdict"]].head()   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import FOCAL_COUNTRY
from analysis.io import write_atomic, write_frame_atomic
from analysis.output_set import (
    ESTIMATES_MANIFEST,
    VALIDATION_MANIFEST,
    check_output_folder,
    file_record,
    start_output_set,
    verify_estimates,
)
from analysis.sources.published import BOK_PREMIUM_IDS, load_published_figures, parse_year_pattern

Z95 = 1.959964
PASS, FAIL = "pass", "fail"


@dataclass
class Estimate:
    value: float
    std_error: float
    source: str  # table and function it comes from

    @property
    def interval(self) -> tuple[float, float]:
        return self.value - Z95 * self.std_error, self.value + Z95 * self.std_error


def _csv(est_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(est_dir / f"{name}.csv")


def _premium_country(est_dir: Path, country: str) -> Estimate:
    t = _csv(est_dir, "premium_by_country").set_index("country").loc[country]
    return Estimate(t["premium_pct"], t["premium_se"], "premium_by_country.csv (premium_by)")


def _premium_year(est_dir: Path, year: int) -> Estimate:
    t = _csv(est_dir, "premium_kr_by_year").set_index("year").loc[year]
    return Estimate(t["premium_pct"], t["premium_se"], "premium_kr_by_year.csv (premium_by)")


def _premium_avg(est_dir: Path) -> Estimate:
    t = _csv(est_dir, "premium_kr_by_year").dropna(subset=["premium_pct"])
    return Estimate(
        t["premium_pct"].mean(),
        float(np.sqrt((t["premium_se"] ** 2).sum())) / len(t),
        "premium_kr_by_year.csv (mean of the yearly premiums)",
    )


def _premium_skill(est_dir: Path, skill: str) -> Estimate:
    t = _csv(est_dir, "premium_by_skill")
    row = t[(t["country"] == FOCAL_COUNTRY) & (t["skill"] == skill)].iloc[0]
    return Estimate(
        row["premium_pct"], row["premium_se"], "premium_by_skill.csv (premium_by_skill)"
    )


def _stock(est_dir: Path, country: str, year: int) -> Estimate:
    t = _csv(est_dir, "stocks").set_index(["country", "year"]).loc[(country, year)]
    return Estimate(t["ai_workers"], t["ai_workers_se"], "stocks.csv (stocks)")


def _abroad_share(est_dir: Path, group: str) -> Estimate:
    t = _csv(est_dir, "overseas_share")
    row = t[(t["origin"] == FOCAL_COUNTRY) & (t["year"] == t["year"].max()) & (t["group"] == group)]
    return Estimate(
        row["share_abroad"].iloc[0],
        row["share_abroad_se"].iloc[0],
        "overseas_share.csv (overseas_share)",
    )


def _abroad_count(est_dir: Path, destination: str | None) -> Estimate:
    t = _csv(est_dir, "overseas_destinations")
    t = t[
        (t["origin"] == FOCAL_COUNTRY)
        & (t["year"] == t["year"].max())
        & (t["ai"].astype(str) == "True")
    ]
    if destination:
        t = t[t["destination"] == destination]
    return Estimate(
        t["workers"].sum(),
        float(np.sqrt((t["workers_se"] ** 2).sum())),
        "overseas_destinations.csv (overseas_by_destination)",
    )


def _share(est_dir: Path, table: str, item: str, **where: object) -> Estimate:
    t = _csv(est_dir, table)
    mask = t["item"] == item
    for key, value in where.items():
        mask &= t[key].astype(str) == str(value)
    row = t[mask]
    if row.empty:
        raise KeyError(item)
    return Estimate(row["share"].iloc[0], row["share_se"].iloc[0], f"{table}.csv")


#: figure id -> how to get our estimate from the estimates folder
ESTIMATORS: dict[str, Callable[[Path], Estimate]] = {
    **{
        fid: (lambda d, country=country: _premium_country(d, country))
        for country, fid in BOK_PREMIUM_IDS.items()
    },
    "premium_kr_2010": lambda d: _premium_year(d, 2010),
    "premium_kr_avg_2010_2024": _premium_avg,
    "premium_skill_pattern_recognition": lambda d: _premium_skill(d, "ai_pattern_recognition"),
    "premium_skill_neuroscience": lambda d: _premium_skill(d, "ai_neuroscience"),
    "premium_skill_signal_processing": lambda d: _premium_skill(d, "ai_signal_processing"),
    "premium_skill_cloud": lambda d: _premium_skill(d, "ai_cloud_computing"),
    "kr_ai_workers_2024": lambda d: _stock(d, FOCAL_COUNTRY, 2024),
    "kr_ai_workers_2010": lambda d: _stock(d, FOCAL_COUNTRY, 2010),
    "us_ai_workers_2024": lambda d: _stock(d, "USA", 2024),
    "uk_ai_workers_2024": lambda d: _stock(d, "GBR", 2024),
    "fr_ai_workers_2024": lambda d: _stock(d, "FRA", 2024),
    "kr_abroad_share": lambda d: _abroad_share(d, "ai"),
    "kr_abroad_share_gap_vs_nonai": lambda d: _abroad_share(d, "ai_minus_non_ai"),
    "kr_abroad_2024": lambda d: _abroad_count(d, None),
    "kr_abroad_us_2024": lambda d: _abroad_count(d, "USA"),
    "skill_share_2024_cloud": lambda d: _share(
        d, "ai_skill_shares", "ai_cloud_computing", country=FOCAL_COUNTRY, year=2024
    ),
    "skill_share_2024_ml": lambda d: _share(
        d, "ai_skill_shares", "ai_machine_learning", country=FOCAL_COUNTRY, year=2024
    ),
    "skill_share_2024_dl": lambda d: _share(
        d, "ai_skill_shares", "ai_deep_learning", country=FOCAL_COUNTRY, year=2024
    ),
    "skill_share_2024_signal_processing": lambda d: _share(
        d, "ai_skill_shares", "ai_signal_processing", country=FOCAL_COUNTRY, year=2024
    ),
    "kr_ai_education_graduate": lambda d: _share(d, "ai_profile_kor", "degree_graduate", year=2024),
    "kr_ai_education_master": lambda d: _share(d, "ai_profile_kor", "degree_Master", year=2024),
    "kr_ai_education_phd": lambda d: _share(d, "ai_profile_kor", "degree_Doctor", year=2024),
    "kr_ai_majors_engineering": lambda d: _share(
        d, "ai_profile_kor", "field_Engineering", year=2024
    ),
    "kr_ai_majors_business": lambda d: _share(d, "ai_profile_kor", "field_Business", year=2024),
    "kr_ai_majors_it": lambda d: _share(
        d, "ai_profile_kor", "field_Information Technology", year=2024
    ),
    "kr_job_changers_abroad_2024_ai": lambda d: _share(
        d, "job_changers_abroad", "abroad_employer", year=2024, ai=True
    ),
    "kr_job_changers_abroad_2024_nonai": lambda d: _share(
        d, "job_changers_abroad", "abroad_employer", year=2024, ai=False
    ),
}


def _roles(synthetic: bool) -> Callable[[str], str]:
    from analysis.sources.synthetic.calibrate import TARGETS

    def role(fid: str) -> str:
        if synthetic and fid in TARGETS:
            return "calibration target"
        return "out-of-sample check"

    return role


def _net_outflow_row(est_dir: Path, figure: pd.Series, role: str) -> dict[str, object]:
    flows = _csv(est_dir, "flows_ai")
    kor = flows[flows["country"] == FOCAL_COUNTRY].set_index("year")
    pattern = parse_year_pattern(str(figure["pattern"]))
    expected: dict[int, int] = {}  # year -> sign of the net INFLOW
    for sign, key in ((-1, "net_outflow_years"), (1, "net_inflow_years")):
        expected.update(dict.fromkeys(pattern.get(key, []), sign))
    years = [y for y in sorted(expected) if y in kor.index]
    matches = [int(np.sign(kor.loc[y, "net_inflow"]) == expected[y]) for y in years]
    got = ", ".join(f"{y}: {kor.loc[y, 'net_inflow']:+,.0f}" for y in years)
    return {
        "figure_id": figure["id"],
        "figure": figure["figure"],
        "published": figure["pattern"],
        "estimate": float(np.mean(matches)) if matches else np.nan,
        "rule": "sign pattern: share of years whose estimated net AI inflow of Korea has "
        "the published sign",
        "role": role,
        "verdict": PASS if matches and all(matches) else FAIL,
        "note": f"{sum(matches)} of {len(years)} years match; net inflow by year: {got}",
        "source": "flows_ai.csv (flows)",
    }


def validation_table(
    estimates_dir: str | Path,
    *,
    figures: pd.DataFrame | None = None,
    synthetic: bool | None = None,
) -> pd.DataFrame:
    """One row per published figure the estimates speak to, with a computed verdict.

    Parameters
    ----------
    estimates_dir
        Output folder of the ``estimate`` stage.
    figures
        The registry (default: :func:`load_published_figures`).
    synthetic
        Whether the estimates come from the synthetic world (decides which figures are
        calibration targets); read from ``estimates_manifest.json`` when not given.
    """
    est_dir = Path(estimates_dir)
    figures = load_published_figures() if figures is None else figures
    if synthetic is None:
        manifest = json.loads((est_dir / "estimates_manifest.json").read_text())
        synthetic = bool(manifest.get("synthetic", False))
    role = _roles(synthetic)
    rows = []
    by_id = figures.set_index("id")
    for fid, estimator in ESTIMATORS.items():
        if fid not in by_id.index:
            continue
        figure = by_id.loc[fid]
        try:
            est = estimator(est_dir)
        except (KeyError, IndexError, FileNotFoundError) as exc:
            rows.append(
                {
                    "figure_id": fid,
                    "figure": figure["figure"],
                    "published": figure["value"],
                    "role": role(fid),
                    "verdict": "n/a",
                    "rule": "interval covers",
                    "note": f"no estimate: {exc!r}",
                }
            )
            continue
        low, high = est.interval
        published = float(figure["value"])
        covered = low <= published <= high
        rows.append(
            {
                "figure_id": fid,
                "figure": figure["figure"],
                "published": published,
                "unit": figure["unit"],
                "estimate": est.value,
                "std_error": est.std_error,
                "conf_low": low,
                "conf_high": high,
                "z": (est.value - published) / est.std_error if est.std_error else np.nan,
                "rule": "interval covers: the 95% interval contains the published value",
                "role": role(fid),
                "verdict": PASS if covered else FAIL,
                "note": "",
                "source": est.source,
            }
        )
    if "kr_net_outflow_years" in by_id.index:
        figure = by_id.loc["kr_net_outflow_years"].copy()
        figure["id"] = "kr_net_outflow_years"
        rows.append(_net_outflow_row(est_dir, figure, role("kr_net_outflow_years")))
    table = pd.DataFrame(rows)
    columns = [
        "figure_id",
        "figure",
        "published",
        "unit",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "z",
        "rule",
        "role",
        "verdict",
        "note",
        "source",
    ]
    return table.reindex(columns=columns)


def other_source_comparisons(figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Korea's AI net migration in the World Bank-LinkedIn file beside the AI Index and
    the BOK's pattern (role: comparison with another source). Empty when the file is not
    available (the report says how to get it)."""
    from analysis.realdata import korea_ai_net_migration
    from analysis.sources.worldbank import TalentMigrationError, load_talent_migration

    try:
        tm = load_talent_migration()
    except TalentMigrationError:
        return pd.DataFrame()
    result = korea_ai_net_migration(tm, figures)
    table = result.agreement.copy()
    table["role"] = "comparison with another source"
    table["verdict"] = np.where(table["agree"], "agrees", "disagrees")
    return table


def calibration_failures(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of calibration targets whose estimate misses the published figure (``fail``);
    targets without an estimate (``n/a``) are reported by the command, not counted here."""
    return table[(table["role"] == "calibration target") & (table["verdict"] == FAIL)]


#: The validate stage's table, in its output folder.
VALIDATION_FILE = "validation.csv"

#: The published figures the landing page and the PDF's first page lead with: the
#: premiums of Korea, the US and Canada, and Korea's AI workforce at home and abroad.
HEADLINE_FIGURES: tuple[str, ...] = (
    "premium_kr_2024",
    "premium_us",
    "premium_ca",
    "kr_ai_workers_2024",
    "kr_abroad_share",
    "kr_abroad_2024",
    "kr_abroad_us_2024",
)


def run_validation(estimates_dir: str | Path, out_dir: str | Path) -> pd.DataFrame:
    """The ``validate`` stage: :func:`validation_table` of the verified estimates, written
    to ``out_dir/validation.csv`` with its manifest (written last).

    The manifest records the SHA-256 of the estimates manifest the table was made from,
    so the report can tell a validation table of other estimates, and the calibration
    targets that fail. Returns the table.
    """
    estimates_dir = Path(estimates_dir)
    estimates = verify_estimates(estimates_dir)
    out_dir = check_output_folder(out_dir, {"estimates": estimates_dir})
    table = validation_table(estimates_dir, synthetic=bool(estimates.get("synthetic", False)))
    start_output_set(out_dir, VALIDATION_MANIFEST)
    written = write_frame_atomic(table, out_dir / VALIDATION_FILE)
    manifest = {
        "stage": "validate",
        "synthetic": bool(estimates.get("synthetic", False)),
        "estimates_manifest_sha256": file_record(estimates_dir / ESTIMATES_MANIFEST)["sha256"],
        "calibration_failures": sorted(calibration_failures(table)["figure_id"]),
        "outputs": {VALIDATION_FILE: file_record(written)},
    }
    write_atomic(
        out_dir / VALIDATION_MANIFEST,
        lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n"),
    )
    return table
