"""The premium regressions of the estimate stage, out of core: DuckDB over ``panel.parquet``.

The same regressions as :func:`analysis.estimate.premium.premium_by`,
:func:`analysis.estimate.premium.premium_by_skill` and
:func:`analysis.estimate.skillpay.skill_set_premiums` (weighted, fixed effects,
clustered by person), computed from normal equations and a second pass for the
clustered scores (:mod:`analysis.estimate.normal_equations`), so that the memory used
is DuckDB's ``memory_limit`` plus tables of the size of the fixed-effect levels, at any
number of rows. The tables have the columns of their in-memory counterparts, and equal
them (the tests compare both on one panel).

:func:`premium_view` declares the regression rows once: fixed effects as text with
missing values as ``"unknown"`` (as :func:`analysis.estimate.panel_frame.prepare_panel`), the
position's start year, and the skill-set design of
:func:`analysis.estimate.skillpay.skill_set_design`.

Examples
--------
>>> con = connect(memory_limit="1GB")
>>> con.sql("SELECT current_setting('memory_limit')").fetchone()[0]
'953.6 MiB'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import EstimationDataError
from analysis.estimate.normal_equations import (
    NormalEquations,
    Solution,
    cluster_meat,
    clustered_result,
    feols_by,
    normal_equations,
    solve,
)
from analysis.estimate.panel_frame import CONTROL_COLUMNS, control_as_text
from analysis.estimate.premium import PremiumResult, _premium_row, _premium_table
from analysis.estimate.skillpay import COUNT_TERMS, SHARE_PREFIX, UNLISTED, SkillPay
from analysis.sql import identifier, literal, parquet_source

#: DuckDB memory limit of the estimate stage (:data:`analysis.config.DUCKDB_MEMORY_LIMIT`).
MEMORY_LIMIT: str = config.DUCKDB_MEMORY_LIMIT
#: Name of the view :func:`premium_view` creates.
VIEW = "premium_rows"
#: Categorical controls, in the order the stage enters them (those in the panel).
CATEGORICAL = CONTROL_COLUMNS
#: DuckDB integer types, and the code of a missing value of an integer control.
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
MISSING_CODE = -(2**31)
#: Block of the rows of workers without AI skills (shared by every skill's sample).
NON_AI = "non_ai"


def connect(
    memory_limit: str = MEMORY_LIMIT,
    threads: int | None = None,
    temp_directory: str | Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with an explicit memory limit (spilling to ``temp_directory``)."""
    config: dict[str, object] = {"memory_limit": memory_limit}
    if threads:
        config["threads"] = int(threads)
    if temp_directory:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(temp_directory)
    con = duckdb.connect(config=config)
    con.sql("SET enable_progress_bar = false")
    return con


def premium_view(
    con: duckdb.DuckDBPyConnection,
    panel: str | Path,
    skills: Sequence[str],
    columns: Sequence[str] = ("weight", "log_salary"),
) -> list[str]:
    """Create :data:`VIEW` over ``panel`` (a parquet file); return its fixed effects.

    The view has the panel's ``user_id``, ``country``, ``year``, ``columns`` (the
    outcome and weights of the regressions), ``ai`` and skill columns, the categorical
    controls as text
    (``"unknown"`` when missing), ``start_year`` of the position and the skill-set
    design (``share_<skill>``, ``clusters_2``, ``clusters_3plus``, ``ai_unlisted``).
    """
    source = parquet_source(panel)
    types = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    fixed = [c for c in CATEGORICAL if c in types]
    # the same groups as prepare_panel's text with "unknown"; integer codes (missing:
    # MISSING_CODE, below any real code) are faster for DuckDB to group and join
    text = [
        f"coalesce({identifier(c)}, {MISSING_CODE}) AS {identifier(c)}"
        if types[c] in INTEGER_TYPES
        else control_as_text(c)
        for c in fixed
    ]
    if "start_year" in types:  # the clean stage's panel
        text.append(f"coalesce(start_year, {MISSING_CODE}) AS start_year")
        fixed.append("start_year")
    elif "startdate" in types:  # a panel of another origin
        text.append(f"coalesce(year(startdate), {MISSING_CODE}) AS start_year")
        fixed.append("start_year")
    ai = "coalesce(ai, false)"
    held = [f"(coalesce({identifier(s)}, false) AND {ai})" for s in skills]
    count = " + ".join(f"CAST({h} AS INTEGER)" for h in held) or "0"
    design = [
        f"CASE WHEN {h} THEN 1.0 / ({count}) ELSE 0.0 END AS {identifier(SHARE_PREFIX + s)}"
        for s, h in zip(skills, held, strict=True)
    ]
    design += [
        f"CAST({ai} AND ({count}) = 2 AS DOUBLE) AS {COUNT_TERMS[0]}",
        f"CAST({ai} AND ({count}) >= 3 AS DOUBLE) AS {COUNT_TERMS[1]}",
        f"CAST({ai} AND ({count}) = 0 AS DOUBLE) AS {UNLISTED}",
    ]
    keep = list(dict.fromkeys(["user_id", "country", "year", *columns]))
    select = [
        *(identifier(c) for c in keep),
        f"{ai} AS ai",
        *(f"coalesce({identifier(s)}, false) AS {identifier(s)}" for s in skills),
        *text,
        *design,
    ]
    con.sql(f"CREATE OR REPLACE VIEW {VIEW} AS SELECT {', '.join(select)} FROM {source}")
    return fixed


def _group_sizes(
    con: duckdb.DuckDBPyConnection, relation: str, by: Sequence[str], treatment: str, where: str
) -> pd.DataFrame:
    keys = ", ".join(identifier(b) for b in by)
    not_null = " AND ".join(f"{identifier(b)} IS NOT NULL" for b in by)
    sql = (
        f"SELECT {keys}, count(*) AS size, count(*) FILTER ({identifier(treatment)}) AS treated "
        f"FROM {relation} WHERE {not_null} AND ({where or 'true'}) GROUP BY {keys} "
        f"ORDER BY {keys}"
    )
    return con.sql(sql).df()


def _premium_rows(
    sizes: pd.DataFrame,
    results: dict[tuple, PremiumResult | Exception],
    by: Sequence[str],
    treatment: str,
    level: float,
    min_treated: int,
) -> pd.DataFrame:
    """:func:`analysis.estimate.premium.premium_by`'s table from fitted results."""
    rows = []
    for record in sizes.to_dict("records"):
        key = tuple(record[b] for b in by)
        outcome = results.get(key)

        def fit(outcome=outcome) -> PremiumResult:
            if isinstance(outcome, Exception) or outcome is None:
                raise outcome or ValueError("the treatment does not vary in the complete rows")
            if treatment not in outcome.params.index:
                raise EstimationDataError(f"{treatment} is collinear with the fixed effects")
            return outcome

        rows.append(
            _premium_row(
                {b: record[b] for b in by},
                treated=int(record["treated"]),
                size=int(record["size"]),
                fit=fit,
                treatment=treatment,
                level=level,
                min_treated=min_treated,
            )
        )
    return _premium_table(rows, by)


def premium_by_engine(
    con: duckdb.DuckDBPyConnection,
    by: str | Sequence[str],
    *,
    fixed_effects: Sequence[str],
    where: str | None = None,
    outcome: str = "log_salary",
    treatment: str = "ai",
    weights: str = "weight",
    cluster: str = "user_id",
    relation: str = VIEW,
    level: float = 0.95,
    min_treated: int = 2,
) -> pd.DataFrame:
    """:func:`analysis.estimate.premium.premium_by` on :data:`VIEW`, out of core."""
    by = [by] if isinstance(by, str) else list(by)
    fits = feols_by(
        con,
        relation,
        outcome,
        [treatment],
        fixed_effects=fixed_effects,
        weights=weights,
        cluster=cluster,
        by=by,
        where=where,
    )
    results = {key: PremiumResult(**fit.__dict__, treatment=treatment) for key, fit in fits.items()}
    sizes = _group_sizes(con, relation, by, treatment, where or "")
    return _premium_rows(sizes, results, by, treatment, level, min_treated)


def _blocks_sql(skills: Sequence[str], *, every_sample_for_non_ai: bool) -> str:
    """:data:`VIEW` with one row per block (or sample) each row belongs to: ``"all"``
    and each skill held for AI rows; :data:`NON_AI` (or every sample) for the others."""
    held = ", ".join(f"CASE WHEN {identifier(s)} THEN {literal(s)} END" for s in skills)
    ai_blocks = f"list_concat(['all'], list_filter([{held}], x -> x IS NOT NULL))"
    if every_sample_for_non_ai:
        others = "[" + ", ".join(literal(s) for s in ["all", *skills]) + "]"
    else:
        others = f"[{literal(NON_AI)}]"
    return (
        f"(SELECT *, unnest(CASE WHEN ai THEN {ai_blocks} ELSE {others} END) AS _sample "
        f"FROM {VIEW})"
    )


def skill_premiums_engine(
    con: duckdb.DuckDBPyConnection,
    skills: Sequence[str],
    *,
    fixed_effects: Sequence[str],
    countries: Sequence[str] | None = None,
    outcome: str = "log_salary",
    weights: str = "weight",
    cluster: str = "user_id",
    level: float = 0.95,
    min_treated: int = 2,
) -> pd.DataFrame:
    """The rows of ``premium_by_skill.csv`` (each skill's holders, and all AI workers,
    against non-AI workers, pooled over years, by country), out of core.

    The normal equations of the non-AI rows are computed once per country and added to
    those of each skill's holders (:meth:`NormalEquations.__add__`); the clustered
    scores need every sample's residuals, so the second pass reads each non-AI row once
    per sample (DuckDB streams it; nothing is held per row).
    """
    skills = list(skills)
    where = None
    if countries is not None:
        where = "country IN (" + ", ".join(literal(c) for c in countries) + ")"
    stray = con.sql(
        f"SELECT count(*) FROM {VIEW} WHERE NOT ai AND ("
        + " OR ".join(identifier(s) for s in skills)
        + ")"
    ).fetchone()[0]
    if stray:
        raise EstimationDataError(
            f"{stray} rows hold an AI skill cluster but are not AI: rebuild ai"
        )
    blocks = normal_equations(
        con,
        _blocks_sql(skills, every_sample_for_non_ai=False),
        outcome,
        ["ai"],
        fixed_effects=fixed_effects,
        weights=weights,
        by=["country", "_sample"],
        where=where,
    )
    samples: dict[tuple, NormalEquations] = {}
    for (country, block), ne in blocks.items():
        if block != NON_AI and (country, NON_AI) in blocks:
            samples[(country, block)] = blocks[(country, NON_AI)] + ne
    solutions: dict[tuple, Solution] = {}
    failures: dict[tuple, Exception] = {}
    for key, ne in samples.items():
        try:
            solutions[key] = solve(ne)
        except (np.linalg.LinAlgError, ValueError) as exc:
            failures[key] = exc
    identified = {k: s for k, s in solutions.items() if "ai" in s.params.index}
    members = {"all": "true", **{k: f"NOT ai OR {identifier(k)}" for k in skills}}
    meats = cluster_meat(
        con,
        VIEW,
        identified,
        outcome,
        ["ai"],
        cluster=cluster,
        fixed_effects=fixed_effects,
        weights=weights,
        by=["country"],
        where=where,
        samples=members,
    )
    results: dict[tuple, PremiumResult | Exception] = dict(failures)
    for key, sol in solutions.items():
        if key in meats:
            fit = clustered_result(sol, *meats[key], cluster=cluster)
            results[key] = PremiumResult(**fit.__dict__, treatment="ai")
        else:
            results[key] = ValueError("ai is collinear with the fixed effects")
    counts = ", ".join(
        f"count(*) FILTER ({c}) AS {identifier('size:' + k)}, "
        f"count(*) FILTER (ai AND ({c})) AS {identifier('treated:' + k)}"
        for k, c in members.items()
    )
    wide = con.sql(
        f"SELECT country, {counts} FROM {VIEW} WHERE country IS NOT NULL"
        + (f" AND {where}" if where else "")
        + " GROUP BY country ORDER BY country"
    ).df()
    sizes = pd.DataFrame(
        [
            {
                "country": r["country"],
                "_sample": k,
                "size": r[f"size:{k}"],
                "treated": r[f"treated:{k}"],
            }
            for r in wide.to_dict("records")
            for k in members
            if r[f"size:{k}"] > 0
        ]
    )
    table = _premium_rows(sizes, results, ["country", "_sample"], "ai", level, min_treated)
    table = table.rename(columns={"_sample": "skill"})
    rank = {s: i for i, s in enumerate([*skills, "all"])}
    table["_rank"] = table["skill"].map(rank)
    table = table.sort_values(["country", "_rank"], kind="stable").drop(columns="_rank")
    return table[["country", "skill", *[c for c in table if c not in ("country", "skill")]]]


def skill_set_pay_engine(
    con: duckdb.DuckDBPyConnection,
    skills: Sequence[str],
    *,
    countries: Sequence[str],
    fixed_effects: Sequence[str],
    outcome: str = "log_salary",
    weights: str = "weight",
    cluster: str = "user_id",
) -> SkillPay:
    """:func:`analysis.estimate.skillpay.skill_set_premiums` on :data:`VIEW`, out of core.

    Design terms no row of a country has (a cluster nobody there holds, or no AI worker
    without a listed cluster) are left out of that country's regression and listed in
    ``info["unidentified"]``, as in the in-memory version.
    """
    terms = [SHARE_PREFIX + s for s in skills] + list(COUNT_TERMS)
    unlisted = con.sql(f"SELECT count(*) FROM {VIEW} WHERE {UNLISTED} > 0").fetchone()[0]
    if unlisted:
        terms.append(UNLISTED)
    where = "country IN (" + ", ".join(literal(c) for c in countries) + ")"
    present = (
        con.sql(
            "SELECT country, "
            + ", ".join(f"count(*) FILTER ({identifier(t)} <> 0) AS {identifier(t)}" for t in terms)
            + f", count(*) FILTER (ai AND {UNLISTED} = 0) AS _n_ai"
            + f" FROM {VIEW} WHERE {where} GROUP BY country"
        )
        .df()
        .set_index("country")
    )
    for c in countries:
        if c not in present.index or not any(
            present.loc[c, t] > 0 for t in terms if t.startswith(SHARE_PREFIX)
        ):
            raise EstimationDataError(f"no AI worker with a listed skill cluster in {c}")
    # one pass for all countries: a term nobody in a country has is collinear (all
    # zeros) there, so the solver leaves it out, as the in-memory version does
    fits = feols_by(
        con,
        VIEW,
        outcome,
        terms,
        fixed_effects=fixed_effects,
        weights=weights,
        cluster=cluster,
        by=["country"],
        where=where,
    )
    params, covs, nobs, n_ai, unidentified = {}, {}, {}, {}, {}
    for (c,), fit in fits.items():
        params[c] = fit.params.reindex(terms)
        covs[c] = fit.cov.reindex(index=terms, columns=terms)
        nobs[c] = fit.nobs
        n_ai[c] = int(present.loc[c, "_n_ai"])
        lost = [t for t in terms if t not in fit.params.index]
        if lost:
            unidentified[c] = lost
    return SkillPay(
        params=pd.DataFrame(params).T.loc[list(countries)],
        cov=covs,
        nobs=nobs,
        n_ai=n_ai,
        info={
            "outcome": outcome,
            "fixed_effects": list(fixed_effects),
            "weights": weights,
            "vcov": f"CRV1: {cluster}",
            "unidentified": unidentified,
            "estimator": "normal equations in DuckDB",
        },
    )
