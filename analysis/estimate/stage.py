"""The ``estimate`` stage: every result of the analysis as a tidy CSV, from the panel.

``run_estimates(panel_dir, out_dir)`` reads the cleaning stage's ``panel.parquet`` and
writes one CSV per table of :data:`TABLES`, the registry that names the public function
behind each table; ``estimates_manifest.json`` records it beside the table, with the
specifications (:mod:`analysis.estimate.specification`). The stage only orders the work:
the premiums in DuckDB, then the tables computed on the compact frame
(:mod:`analysis.estimate.panel_frame`) by the domain modules (:mod:`~analysis.estimate.workforce`,
:mod:`~analysis.estimate.profiles`, :mod:`~analysis.estimate.tables`,
:mod:`~analysis.estimate.gravity`).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analysis import __version__
from analysis.config import FOCAL_COUNTRY
from analysis.errors import EstimationDataError, StageInputError
from analysis.estimate.gravity import bilateral_flows, gravity_table
from analysis.estimate.mobility import gravity_ppml, logit_ame, mobility_lpm, share_premium_slope
from analysis.estimate.mobility_model import counterfactual_table, fit_mobility_model
from analysis.estimate.panel_frame import (
    FRAME_COLUMNS,
    panel_columns,
    read_home_positions,
    read_panel_frame,
)
from analysis.estimate.premium_engine import (
    connect,
    premium_by_engine,
    skill_premiums_engine,
    skill_set_pay_engine,
)
from analysis.estimate.profiles import profile_tables
from analysis.estimate.samples import location_missing_rates, unknown_location_counts
from analysis.estimate.specification import MINIMUM_PERSONS, MOBILITY_MODEL, SPEC
from analysis.estimate.tables import engine_premium_tables, mobility_tables
from analysis.estimate.workforce import flows, overseas_by_destination, overseas_share, stocks
from analysis.io import write_atomic, write_frame_atomic
from analysis.output_set import (
    ESTIMATES_MANIFEST,
    check_output_folder,
    file_record,
    start_output_set,
    verify_clean_output,
)
from analysis.sources.population import load_population
from analysis.sql import identifier, literal, parquet_source

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """The public function(s) behind a table, and what the name alone does not say."""

    functions: tuple[Callable[..., object], ...]
    detail: str = ""

    def __str__(self) -> str:
        names = ", ".join(f"{f.__module__}.{f.__qualname__}" for f in self.functions)
        return f"{names} ({self.detail})" if self.detail else names


def source(*functions: Callable[..., object], detail: str = "") -> Source:
    """:class:`Source` of ``functions``."""
    return Source(functions, detail)


#: Every table of the stage, by file name, and the function behind it (the manifest
#: records it beside the table). The steps of :func:`run_estimates` make exactly these.
TABLES: dict[str, Source] = {
    "premium_by_country": source(
        premium_by_engine, detail="by country, premium year; equals premium.premium_by"
    ),
    "premium_kr_by_year": source(
        premium_by_engine, detail="the focal country, by year; equals premium.premium_by"
    ),
    "premium_by_skill": source(skill_premiums_engine, detail="equals tables.skill_premiums"),
    "premium_skill_set": source(skill_set_pay_engine, detail="equals skillpay.skill_set_premiums"),
    "stocks": source(stocks),
    "flows_ai": source(flows, detail="AI workers"),
    "flows_all": source(flows, detail="all workers"),
    "overseas_share": source(overseas_share),
    "overseas_destinations": source(overseas_by_destination),
    "ai_skill_shares": source(profile_tables),
    "ai_profile_kor": source(profile_tables),
    "job_changers_abroad": source(profile_tables),
    "mobility_individual": source(mobility_lpm, logit_ame),
    "mobility_model": source(fit_mobility_model),
    "mobility_skill_slope": source(share_premium_slope),
    "mobility_skill_points": source(share_premium_slope),
    "counterfactual": source(counterfactual_table),
    "mobility_location_missing": source(location_missing_rates),
    "bilateral_flows": source(bilateral_flows),
    "gravity": source(gravity_table, gravity_ppml),
}


def estimability_problems(panel_file: Path, skills: list[str]) -> list[str]:
    """What the panel lacks for the estimate stage (empty when it can run)."""
    year = int(SPEC["premium_year_by_country"])  # type: ignore[arg-type]
    destination = str(MOBILITY_MODEL["destination"])
    source = parquet_source(panel_file)
    held = " OR ".join(identifier(s) for s in skills) or "false"
    home, dest = literal(FOCAL_COUNTRY), literal(destination)
    con = duckdb.connect()
    try:
        counts = con.sql(
            f"""SELECT
              count(DISTINCT user_id) FILTER (year = {year} AND country = {home} AND ai),
              count(DISTINCT user_id) FILTER (year = {year} AND country = {home} AND NOT ai),
              count(DISTINCT user_id) FILTER (year = {year} AND country = {dest} AND ai),
              count(DISTINCT user_id) FILTER (year = {year} AND country = {dest} AND NOT ai),
              count(DISTINCT user_id) FILTER (origin = {home} AND ai AND country = {home}),
              count(DISTINCT user_id) FILTER (origin = {home} AND ai AND country <> {home}),
              count(DISTINCT user_id) FILTER ({held})
            FROM {source}"""
        ).fetchone()
    finally:
        con.close()
    needs = [
        f"AI workers in {FOCAL_COUNTRY} in {year}",
        f"non-AI workers in {FOCAL_COUNTRY} in {year}",
        f"AI workers in {destination} in {year}",
        f"non-AI workers in {destination} in {year}",
        f"AI workers of {FOCAL_COUNTRY} origin working in {FOCAL_COUNTRY}",
        f"AI workers of {FOCAL_COUNTRY} origin working abroad",
        "workers holding an AI skill cluster",
    ]
    return [
        f"{what}: {n} (at least {MINIMUM_PERSONS} needed)"
        for what, n in zip(needs, counts, strict=True)
        if n < MINIMUM_PERSONS
    ]


def run_estimates(
    panel_dir: str | Path, out_dir: str | Path, log: Callable[[str], None] | None = None
) -> dict[str, Path]:
    """Run every estimator on the processed panel and write tidy CSVs to ``out_dir``.

    The premium regressions read ``panel.parquet`` in DuckDB (memory bounded by
    :data:`analysis.estimate.premium_engine.MEMORY_LIMIT`); the other tables use the
    columns in :data:`~analysis.estimate.panel_frame.FRAME_COLUMNS`, read compactly
    (:func:`analysis.estimate.panel_frame.read_panel_frame`). Each step's start and time
    go to ``log`` (default: the ``analysis.estimate.stage`` logger, at INFO).
    """
    log = log or logger.info
    panel_dir = Path(panel_dir)
    clean_manifest = verify_clean_output(panel_dir)
    if "panel" in clean_manifest.get("datasets", {}):
        raise StageInputError(
            f"{panel_dir} holds no panel.parquet: the clean stage wrote the panel as a Spark "
            f"dataset at {clean_manifest['datasets']['panel']['location']}. The estimate stage "
            "reads the single-file panel; clean again without --dataset-root",
            rerun="clean",
        )
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

    # (label, the tables it makes, the step)
    steps: list[tuple[str, tuple[str, ...], Callable[[], dict[str, pd.DataFrame]]]] = [
        (
            "premiums by country, year and skill (DuckDB)",
            ("premium_by_country", "premium_kr_by_year", "premium_by_skill"),
            premium_step,
        ),
        (
            "stocks, flows and overseas shares",
            (
                "stocks",
                "flows_ai",
                "flows_all",
                "overseas_share",
                "overseas_destinations",
                "ai_skill_shares",
                "ai_profile_kor",
                "job_changers_abroad",
            ),
            workforce_tables,
        ),
        (
            "mobility, compensation-mobility model and counterfactuals",
            (
                "premium_skill_set",
                "mobility_individual",
                "mobility_model",
                "mobility_skill_slope",
                "mobility_skill_points",
                "counterfactual",
                "mobility_location_missing",
            ),
            lambda: mobility_tables(
                state["panel"],
                tables["premium_by_skill"],
                state["pay"],  # type: ignore[arg-type]
                state["positions"],  # type: ignore[arg-type]
            ),
        ),
        ("bilateral flows (PPML gravity)", ("bilateral_flows", "gravity"), gravity_tables),
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*singleton.*")
        for number, (label, names, step) in enumerate(steps, start=1):
            begin = time.perf_counter()
            log(f"estimate [{number}/{len(steps)}]: {label} ...")
            made = step()
            if sorted(made) != sorted(names):
                raise RuntimeError(f"step {label!r} made {sorted(made)}, not {sorted(names)}")
            tables.update(made)
            log(f"estimate [{number}/{len(steps)}]: {label}: {time.perf_counter() - begin:.1f} s")
    if sorted(tables) != sorted(TABLES):
        raise RuntimeError(f"the steps made {sorted(tables)}, the registry lists {sorted(TABLES)}")
    panel = state["panel"]
    assert isinstance(panel, pd.DataFrame)
    written = {}
    start_output_set(out_dir, ESTIMATES_MANIFEST)
    for name, frame in tables.items():
        written[name] = write_frame_atomic(frame.round(10), out_dir / f"{name}.csv")
    delivery = clean_manifest.get("delivery", {}).get("checksums", {})
    synthetic = delivery.get("generator") == "analysis.sources.synthetic"
    manifest = {
        "stage": "estimate",
        "synthetic": synthetic,
        # the synthetic world's settings (the report's pages state them)
        "seed": delivery.get("seed") if synthetic else None,
        "scale": delivery.get("scale") if synthetic else None,
        "package_version": __version__,
        "panel": str(panel_dir),
        "spec": SPEC,
        "tables": {
            name: {
                "rows": len(frame),
                "file": f"{name}.csv",
                "function": str(TABLES[name]),
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
                (panel["origin"] == FOCAL_COUNTRY).to_numpy(),
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
