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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
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
from analysis.estimate.steps import (
    Step,
    StepResult,
    StepStore,
    code_digest,
    runtime,
    specification_entries,
    step_key,
)
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


@dataclass
class StageData:
    """The estimate stage's inputs, each read when a step first asks for it."""

    panel_file: Path
    skills: list[str]

    @cached_property
    def panel(self) -> pd.DataFrame:
        """The compact frame (:func:`~analysis.estimate.panel_frame.read_panel_frame`)."""
        return read_panel_frame(self.panel_file, [*FRAME_COLUMNS, *self.skills])

    @cached_property
    def positions(self) -> pd.DataFrame:
        """The main positions of the rows of Korean origin."""
        return read_home_positions(self.panel_file)

    @cached_property
    def population(self) -> pd.DataFrame:
        return load_population()


def premium_step(data: StageData, done: Mapping[str, StepResult]) -> StepResult:
    """The premium tables and the skill-set pay, in DuckDB (memory bounded, spilling to
    a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="estimate-spill-") as spill:
        con = connect(temp_directory=spill)
        try:
            premiums, pay = engine_premium_tables(con, data.panel_file, data.skills)
        finally:
            con.close()
    return {**premiums, "pay": pay}


def workforce_step(data: StageData, done: Mapping[str, StepResult]) -> StepResult:
    """Stocks, flows, overseas shares and profiles. The cleaning stage's panel holds one
    row per person-year (its manifest is verified), so the duplicate checks are skipped."""
    panel, population = data.panel, data.population
    return {
        "stocks": stocks(panel, weights="weight", person=None),
        "flows_ai": flows(panel, weights="weight", population=population, check_duplicates=False),
        "flows_all": flows(
            panel, only_ai=False, weights="weight", population=population, check_duplicates=False
        ),
        "overseas_share": overseas_share(panel, weights="weight", person=None),
        "overseas_destinations": overseas_by_destination(panel, weights="weight", person=None),
        **profile_tables(panel),
    }


def summary_step(data: StageData, done: Mapping[str, StepResult]) -> StepResult:
    """What the manifest says of the panel: rows, persons, and the adjacent person-years
    of Korean-origin workers left out of the emigration and return risk sets because a
    year has no known location."""
    panel = data.panel
    home = panel.loc[
        (panel["origin"] == FOCAL_COUNTRY).to_numpy(),
        ["user_id", "year", "country", "prev_year_observed", "prev_country"],
    ]
    return {
        "summary": {
            "panel_rows": len(panel),
            "persons": int(panel["user_id"].nunique()),
            "mobility_unknown_location": unknown_location_counts(home),
        }
    }


def mobility_step(data: StageData, done: Mapping[str, StepResult]) -> StepResult:
    """The compensation-mobility tables and the counterfactuals."""
    premiums = done["premiums"]
    return mobility_tables(
        data.panel, premiums["premium_by_skill"], premiums["pay"], data.positions
    )


def gravity_step(data: StageData, done: Mapping[str, StepResult]) -> StepResult:
    """Bilateral flows and their PPML gravity fit."""
    bilateral = bilateral_flows(data.panel, done["premiums"]["premium_by_skill"])
    return {"bilateral_flows": bilateral, "gravity": gravity_table(bilateral)}


#: The steps of the stage, in order; together they make every table of :data:`TABLES`.
STEPS: tuple[Step, ...] = (
    Step(
        "premiums",
        "premiums by country, year and skill (DuckDB)",
        ("premium_by_country", "premium_kr_by_year", "premium_by_skill"),
        premium_step,
        reads=("SPEC[premium_year_by_country]", "PREMIUM_MODEL", "MOBILITY_MODEL[destination]"),
        keeps=("pay",),
    ),
    Step(
        "workforce",
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
        workforce_step,
    ),
    Step("summary", "persons and locations of the panel", (), summary_step, keeps=("summary",)),
    Step(
        "mobility",
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
        mobility_step,
        reads=(
            "MOBILITY_MODEL[destination]",
            "MOBILITY_MODEL[emigration_controls]",
            "MOBILITY_MODEL[return_controls]",
            "MOBILITY_MODEL[methods]",
            "EMIGRATION_LOGIT[regressors]",
            "EMIGRATION_LOGIT[categorical]",
            "SPEC[counterfactual_targets_pct]",
        ),
        after=("premiums",),
    ),
    Step(
        "gravity",
        "bilateral flows (PPML gravity)",
        ("bilateral_flows", "gravity"),
        gravity_step,
        after=("premiums",),
    ),
)

#: Folder of the steps' stored results, inside the estimates folder.
STEP_STORE = "_steps"


def run_steps(
    data: StageData,
    panel_sha256: str,
    store: StepStore | None,
    log: Callable[[str], None],
    steps: tuple[Step, ...] = STEPS,
) -> tuple[dict[str, StepResult], dict[str, str]]:
    """Run ``steps`` in order, reusing from ``store`` every result stored under the key
    of this run (:func:`analysis.estimate.steps.step_key`); the results and the keys,
    by step. ``store=None`` computes every step."""
    base = {
        "panel_sha256": panel_sha256,
        "code": code_digest(),
        "environment": runtime(),
        "entries": specification_entries(),
    }
    results: dict[str, StepResult] = {}
    keys: dict[str, str] = {}
    for number, step in enumerate(steps, start=1):
        where = f"estimate [{number}/{len(steps)}]: {step.label}"
        keys[step.name] = key = step_key(step, done=keys, **base)  # type: ignore[arg-type]
        stored = store.load(step.name, key) if store is not None else None
        if stored is not None:
            log(f"{where}: unchanged, reused")
            results[step.name] = stored
            continue
        begin = time.perf_counter()
        log(f"{where} ...")
        result = step.run(data, results)
        if sorted(result) != sorted([*step.tables, *step.keeps]):
            raise RuntimeError(
                f"step {step.name!r} made {sorted(result)}, not {sorted(step.tables + step.keeps)}"
            )
        results[step.name] = result
        if store is not None:
            store.save(step.name, key, result)
        log(f"{where}: {time.perf_counter() - begin:.1f} s")
    return results, keys


def run_estimates(
    panel_dir: str | Path,
    out_dir: str | Path,
    log: Callable[[str], None] | None = None,
    *,
    reuse: bool = True,
) -> dict[str, Path]:
    """Run every estimator on the processed panel and write tidy CSVs to ``out_dir``.

    The premium regressions read ``panel.parquet`` in DuckDB (memory bounded by
    :data:`analysis.estimate.premium_engine.MEMORY_LIMIT`); the other tables use the
    columns in :data:`~analysis.estimate.panel_frame.FRAME_COLUMNS`, read compactly
    (:func:`analysis.estimate.panel_frame.read_panel_frame`). Each step's start and time
    go to ``log`` (default: the ``analysis.estimate.stage`` logger, at INFO).

    With ``reuse`` (the default) a step whose key is the one of the last run in
    ``out_dir`` (same panel, code, libraries and the specification entries it reads;
    :mod:`analysis.estimate.steps`) takes its stored result instead of being computed:
    after a change of the counterfactual targets only the mobility step runs. The
    tables are the same bytes either way. ``reuse=False`` computes every step.
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
    panel_sha256 = clean_manifest["outputs"]["panel.parquet"]["sha256"]
    start_output_set(out_dir, ESTIMATES_MANIFEST)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*singleton.*")
        results, keys = run_steps(
            StageData(panel_file, skills),
            panel_sha256,
            StepStore(out_dir / STEP_STORE) if reuse else None,
            log,
        )
    tables = {name: results[step.name][name] for step in STEPS for name in step.tables}
    if sorted(tables) != sorted(TABLES):
        raise RuntimeError(f"the steps made {sorted(tables)}, the registry lists {sorted(TABLES)}")
    written = {
        name: write_frame_atomic(tables[name].round(10), out_dir / f"{name}.csv") for name in TABLES
    }
    summary = results["summary"]["summary"]
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
        "steps": {
            step.name: {
                "key": keys[step.name],
                "tables": list(step.tables),
                "reads": list(step.reads),
                "after": list(step.after),
            }
            for step in STEPS
        },
        "tables": {
            name: {
                "rows": len(tables[name]),
                "file": f"{name}.csv",
                "function": str(TABLES[name]),
                **file_record(written[name]),
            }
            for name in TABLES
        },
        "panel_rows": summary["panel_rows"],
        "panel_sha256": panel_sha256,
        "mobility_unknown_location": summary["mobility_unknown_location"],
        # share of new main positions without a location, by the year before: the
        # risk sets' pairs with a new position are weighted by 1 / (1 - share)
        "mobility_location_missing_rate": {
            str(row.year): round(row.location_missing, 10)
            for row in tables["mobility_location_missing"].itertuples(index=False)
        },
        "persons": summary["persons"],
    }
    write_atomic(  # last: the set of tables is now whole
        out_dir / ESTIMATES_MANIFEST,
        lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"),
    )
    log(f"estimate: wrote {len(written)} tables to {out_dir}")
    return written
