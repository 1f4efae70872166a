"""The cleaning's entries in the attrition ledger: counts run on the engine, then recorded.

Each function counts what one cleaning step did (one aggregate query on the engine)
and records it with :meth:`analysis.ledger.Ledger.record`, which refuses counts that
do not add up. Steps that derive a table from another (spells to person-years,
person-years to moves) record the source rows as ``rows_in`` and say why the other
rows did not become output rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from analysis.clean.panel import (
    ORIGIN_NONE,
    ORIGIN_RULES,
    SPELL_REASONS,
    ai_skill_clusters,
    distinct_skills,
)
from analysis.ledger import Ledger

STAGE = "clean"
SECONDARY_JOB = "secondary job in the same year"
DUPLICATE_SKILL = "duplicate skill row"


def count_where(
    engine: Any, table: ir.Table, **conditions: ir.BooleanValue | None
) -> dict[str, int]:
    """Rows of ``table`` meeting each condition (``None``: all rows), in one query."""
    names = list(conditions)
    metrics = {
        f"m{i}": table.count() if conditions[name] is None else table.count(where=conditions[name])
        for i, name in enumerate(names)
    }
    row = engine.frame(table.aggregate(**metrics)).iloc[0]
    # Spark counts with a condition as SUM(CAST(cond AS BIGINT)): missing on no rows.
    return {name: 0 if pd.isna(row[f"m{i}"]) else int(row[f"m{i}"]) for i, name in enumerate(names)}


def record_spells(ledger: Ledger, engine: Any, spell_table: ir.Table, delivery_date: date) -> int:
    """Open spells closed at the delivery date; spells without a day in the window.

    Returns the number of spells kept.
    """
    reasons = {f"r{i}": spell_table.drop_reason == r for i, r in enumerate(SPELL_REASONS)}
    c = count_where(engine, spell_table, n=None, open=spell_table.enddate.isnull(), **reasons)
    n = c["n"]
    ledger.record(
        STAGE,
        "positions",
        "open spells run to the delivery date",
        rows_in=n,
        rows_out=n,
        modified={f"open spell ends on the delivery date ({delivery_date.isoformat()})": c["open"]},
    )
    removed = {r: c[f"r{i}"] for i, r in enumerate(SPELL_REASONS)}
    kept = n - sum(removed.values())
    ledger.record(
        STAGE,
        "positions",
        "keep spells with a day in the year window",
        rows_in=n,
        rows_out=kept,
        removed=removed,
    )
    return kept


def record_spell_years(ledger: Ledger, engine: Any, spell_year_table: ir.Table) -> int:
    """Kept spells expanded to one row per calendar year covered; returns that count."""
    n = count_where(engine, spell_year_table, n=None)["n"]
    ledger.record(
        STAGE,
        "spell_years",
        "expand kept spells into the calendar years they cover",
        rows_in=n,
        rows_out=n,
    )
    return n


def record_panel(
    ledger: Ledger, engine: Any, panel: ir.Table, n_spell_years: int
) -> dict[str, int]:
    """Main-job choice, weights, PPP conversion and the moves derived from the panel."""
    p = panel
    c = count_where(
        engine,
        p,
        n=None,
        weight=p.weight_imputed,
        no_level=p.salary.notnull() & p.country.notnull() & p.price_level.isnull(),
        no_country=p.salary.notnull() & p.country.isnull(),
        no_prev=~p.prev_year_observed,
        country_missing=p.prev_year_observed & p.moved_country.isnull(),
        same=p.prev_year_observed & ~p.moved_country,
        moves=p.prev_year_observed & p.moved_country,
    )
    n = c["n"]
    ledger.record(
        STAGE,
        "panel",
        "choose main job",
        rows_in=n_spell_years,
        rows_out=n,
        removed={SECONDARY_JOB: n_spell_years - n},
    )
    ledger.record(
        STAGE,
        "panel",
        "fill missing weight",
        rows_in=n,
        rows_out=n,
        modified={"missing weight set to 1.0": c["weight"]},
    )
    ledger.record(
        STAGE,
        "panel",
        "convert salary to PPP dollars",
        rows_in=n,
        rows_out=n,
        modified={
            "no PPP price level for the job's country and year: salary_ppp missing": c["no_level"],
            "job country missing: salary_ppp missing": c["no_country"],
        },
    )
    ledger.record(
        STAGE,
        "moves",
        "country changes between consecutive person-years",
        rows_in=n,
        rows_out=c["moves"],
        removed={
            "first person-year, or the year before is not in the panel": c["no_prev"],
            "job country missing in this or the previous year": c["country_missing"],
            "same country as the previous year": c["same"],
        },
    )
    return c


def record_skills(ledger: Ledger, engine: Any, skills: ir.Table, taxonomy: ir.Table) -> None:
    """Duplicate skill rows dropped; skill rows matched to the AI taxonomy."""
    columns = ["user_id", "skill_raw", "skill_mapped", "skill_source", "first_reported"]
    deduped = distinct_skills(skills)
    matched = ai_skill_clusters(deduped, taxonomy).select(*columns).distinct()
    n = count_where(engine, skills, n=None)["n"]
    n_distinct = count_where(engine, deduped, n=None)["n"]
    m = count_where(engine, matched, n=None, undated=matched.first_reported.isnull())
    ledger.record(
        STAGE,
        "skills",
        "drop duplicate skill rows",
        rows_in=n,
        rows_out=n_distinct,
        removed={DUPLICATE_SKILL: n - n_distinct},
    )
    ledger.record(
        STAGE,
        "skills",
        "match skills to the AI taxonomy",
        rows_in=n_distinct,
        rows_out=m["n"],
        removed={"not in the AI taxonomy": n_distinct - m["n"]},
        modified={"AI skill without first_reported: counts in every year": m["undated"]},
    )


def record_persons(
    ledger: Ledger, engine: Any, users: ir.Table, positions: ir.Table, persons: ir.Table
) -> dict[str, int]:
    """Users without a person-year; origin rules. Returns the count of each rule."""
    n_users = count_where(engine, users, n=None)["n"]
    with_spell = count_where(engine, positions.select("user_id").distinct(), n=None)["n"]
    rules: Sequence[str] = (*ORIGIN_RULES, ORIGIN_NONE)
    c = count_where(
        engine, persons, n=None, **{f"r{i}": persons.origin_rule == r for i, r in enumerate(rules)}
    )
    n = c["n"]
    ledger.record(
        STAGE,
        "persons",
        "keep users with a person-year",
        rows_in=n_users,
        rows_out=n,
        removed={
            "no valid spell": n_users - with_spell,
            "no spell with a day in the year window": with_spell - n,
        },
    )
    counts = {r: c[f"r{i}"] for i, r in enumerate(rules)}
    ledger.record(
        STAGE,
        "persons",
        "infer origin",
        rows_in=n,
        rows_out=n,
        modified={f"origin_rule={r}": k for r, k in counts.items()},
    )
    return counts
