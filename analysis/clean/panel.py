"""The cleaning, written once as Ibis expressions: spells to a person-year panel.

Nothing here runs a query: each function takes Ibis tables and returns an Ibis
expression, which an engine (:mod:`analysis.clean.engine`, DuckDB or Spark) runs.

Conventions
-----------
Day counts
    Spell dates are month-level. A spell covers every calendar day from its
    ``startdate`` (the first of its month) through the **last day of its ``enddate``
    month**, both included; an open spell (``enddate`` missing) runs through the
    delivery date, included. ``days_in_year`` counts the covered days of the year
    (``end_exclusive - max(startdate, 1 Jan)``, where ``end_exclusive`` is the first
    day after the covered period, capped at 1 Jan of the next year). A spell from
    2020-01 to 2020-02 has 60 days in 2020 (a leap year); one from 2019-12 to 2020-01
    has 31 days in 2019 and 31 in 2020.
Main job
    Per person and year, the spell with the most days in that year; ties go to the
    higher ``salary``, then ``total_compensation``, then ``seniority`` (missing values
    lose every tie-break), then the later ``startdate``, then the lower
    ``position_id`` (which makes the choice unique).
AI skills
    A person is AI-skilled in year *t* if at least one of their skills is in the
    taxonomy (``skill_mapped`` matched to ``mapped`` names, ``skill_raw`` to ``raw``
    names, case-insensitively) with ``first_reported`` in year *t* or earlier. A
    matching skill without ``first_reported`` counts in every year. Exact duplicate
    skill rows are dropped first.
Origin
    The country of the earliest high-school education (``degree`` starting with
    "high school", case-insensitive), else of the earliest bachelor's ("bachelor..."),
    else of the earliest education of any kind, else of the first job (earliest
    ``startdate``, then lowest ``position_id``). Only education rows with a known
    country count; "earliest" orders by ``startdate``, ``enddate``, ``education_number``
    (missing last) and finally the country, so the result is unique.
Moves and job changes
    Compare a person-year with the person's previous person-year **only when that is
    the calendar year before** (``prev_year_observed``); otherwise the comparisons are
    missing. ``moved_country`` is true when the job country differs (missing when
    either country is). ``move_type``: ``emigration`` (from the origin country to
    another), ``return`` (from abroad to the origin), ``onward`` (from abroad to
    another country abroad); missing when there is no move or no origin.
    ``job_change``: the employer (``rcid``) differs. ``job_change_abroad``: a job
    change whose new employer is in another country than the previous year's job,
    i.e. a cross-border job change (false when there is no job change).

Examples
--------
>>> from datetime import date
>>> import ibis, pandas as pd
>>> positions = ibis.memtable(pd.DataFrame({
...     "user_id": [1], "position_id": [10], "startdate": [date(2020, 1, 1)],
...     "enddate": [date(2020, 2, 1)]}))
>>> years = ibis.memtable(pd.DataFrame({"year": [2019, 2020, 2021]}))
>>> window = YearWindow(2019, 2021, date(2024, 12, 31))
>>> sy = spell_years(spells(positions, window), years)
>>> ibis.duckdb.connect().execute(sy.select("year", "days_in_year")).values.tolist()
[[2020, 60]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from analysis.clean.buckets import IdRange

#: ``first_reported`` year given to AI skills without one: before every year.
UNDATED_YEAR = -1

#: Reasons a spell contributes no person-year (ledger wording).
SPELL_AFTER_DELIVERY = "open spell starts after the delivery date"
SPELL_BEFORE_WINDOW = "spell ends before the year window"
SPELL_AFTER_WINDOW = "spell starts after the year window"
SPELL_REASONS: tuple[str, ...] = (SPELL_AFTER_DELIVERY, SPELL_BEFORE_WINDOW, SPELL_AFTER_WINDOW)

ORIGIN_RULES: tuple[str, ...] = ("high_school", "bachelor", "earliest_education", "first_job")
ORIGIN_NONE = "none"

#: Columns of the positions table carried into the panel when the delivery has them.
CARRIED_EXTRAS: tuple[str, ...] = ("industry",)


@dataclass(frozen=True)
class YearWindow:
    """The analysis years (inclusive) and the delivery date that closes open spells."""

    first_year: int
    last_year: int
    delivery_date: date


@dataclass(frozen=True)
class Sources:
    """The tables the cleaning reads, as Ibis tables of one engine."""

    users: ir.Table
    positions: ir.Table
    education: ir.Table
    skills: ir.Table
    years: ir.Table
    taxonomy: ir.Table
    ppp: ir.Table

    def within(self, ids: IdRange) -> Sources:
        """The person tables restricted to the persons in ``ids`` (reference tables kept)."""
        return replace(
            self,
            users=ids.filter(self.users),
            positions=ids.filter(self.positions),
            education=ids.filter(self.education),
            skills=ids.filter(self.skills),
        )


# --------------------------------------------------------------------------- spells
def spells(positions: ir.Table, window: YearWindow) -> ir.Table:
    """Positions with ``end_exclusive``, ``start_year``, ``end_year`` and ``drop_reason``.

    ``drop_reason`` is missing for spells with at least one day in the window, else
    one of :data:`SPELL_REASONS`.
    """
    p = positions
    month = p.enddate.month()
    next_month = ibis.date(p.enddate.year() + ibis.ifelse(month == 12, 1, 0), month % 12 + 1, 1)
    end_exclusive = ibis.coalesce(next_month, ibis.date(window.delivery_date + timedelta(days=1)))
    start_year = p.startdate.year()
    end_year = ibis.coalesce(p.enddate.year(), window.delivery_date.year)
    drop_reason = ibis.cases(
        (
            p.enddate.isnull() & (p.startdate > ibis.date(window.delivery_date)),
            SPELL_AFTER_DELIVERY,
        ),
        (end_year < window.first_year, SPELL_BEFORE_WINDOW),
        (start_year > window.last_year, SPELL_AFTER_WINDOW),
        else_=ibis.null("string"),
    )
    return p.mutate(
        end_exclusive=end_exclusive,
        start_year=start_year,
        end_year=end_year,
        drop_reason=drop_reason,
    )


def spell_years(spell_table: ir.Table, years: ir.Table) -> ir.Table:
    """One row per kept spell and calendar year it covers, with ``days_in_year``.

    A non-equi join of the spells to the (small) table of years.
    """
    kept = spell_table.filter(spell_table.drop_reason.isnull())
    joined = kept.join(years, (years.year >= kept.start_year) & (years.year <= kept.end_year))
    first_day = ibis.date(joined.year, 1, 1)
    next_first_day = ibis.date(joined.year + 1, 1, 1)
    days = ibis.least(joined.end_exclusive, next_first_day).delta(
        ibis.greatest(joined.startdate, first_day), unit="day"
    )
    return joined.mutate(year=joined.year.cast("int32"), days_in_year=days.cast("int32"))


def main_jobs(spell_year_table: ir.Table) -> ir.Table:
    """The main job of each person-year (see the module docstring for the rule)."""
    t = spell_year_table
    order = [
        ibis.desc(t.days_in_year),
        t.salary.isnull(),
        ibis.desc(t.salary),
        t.total_compensation.isnull(),
        ibis.desc(t.total_compensation),
        t.seniority.isnull(),
        ibis.desc(t.seniority),
        ibis.desc(t.startdate),
        t.position_id,
    ]
    rank = ibis.row_number().over(ibis.window(group_by=[t.user_id, t.year], order_by=order))
    ranked = t.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).drop("_rank")


# --------------------------------------------------------------------------- persons
def person_attributes(users: ir.Table) -> ir.Table:
    """``user_id``, ``sex`` (``sex_predicted``, else ``f_prob >= 0.5``), ``highest_degree``,
    ``user_country``."""
    predicted = users.sex_predicted.lower()
    sex = ibis.cases(
        (predicted.isin(("female", "male")), predicted),
        (users.f_prob >= 0.5, "female"),
        (users.f_prob < 0.5, "male"),
        else_=ibis.null("string"),
    )
    return users.select(
        "user_id", sex=sex, highest_degree=users.highest_degree, user_country=users.user_country
    )


def fields_of_study(education: ir.Table) -> ir.Table:
    """``user_id`` and ``field``: the field of study of the person's last education spell
    that names one (highest ``education_number``, then latest start). The BOK's
    "education" control covers the field as well as the degree."""
    edu = education.filter(education.field.notnull()).select(
        "user_id", "education_number", "startdate", "field"
    )
    order = [
        edu.education_number.isnull(),
        ibis.desc(edu.education_number),
        edu.startdate.isnull(),
        ibis.desc(edu.startdate),
        edu.field,
    ]
    ranked = edu.mutate(
        _rank=ibis.row_number().over(ibis.window(group_by=edu.user_id, order_by=order))
    )
    return ranked.filter(ranked._rank == 0).select("user_id", "field")


def origins(users: ir.Table, education: ir.Table, positions: ir.Table) -> ir.Table:
    """``user_id``, ``origin`` and ``origin_rule`` for every user (rule in the module doc)."""
    edu = education.filter(education.university_country.notnull()).select(
        "user_id", "degree", "startdate", "enddate", "education_number", "university_country"
    )
    degree = edu.degree.lower()
    priority = ibis.cases(
        (degree.startswith("high school"), 1), (degree.startswith("bachelor"), 2), else_=3
    )
    edu = edu.mutate(_priority=priority)
    order = [
        edu._priority,
        edu.startdate.isnull(),
        edu.startdate,
        edu.enddate.isnull(),
        edu.enddate,
        edu.education_number.isnull(),
        edu.education_number,
        edu.university_country,
    ]
    ranked = edu.mutate(
        _rank=ibis.row_number().over(ibis.window(group_by=edu.user_id, order_by=order))
    )
    first_edu = ranked.filter(ranked._rank == 0).select(
        "user_id",
        edu_country=ranked.university_country,
        edu_rule=ibis.cases(
            (ranked._priority == 1, ORIGIN_RULES[0]),
            (ranked._priority == 2, ORIGIN_RULES[1]),
            else_=ORIGIN_RULES[2],
        ),
    )
    jobs = positions.filter(positions.country.notnull()).select(
        "user_id", "startdate", "position_id", "country"
    )
    job_rank = ibis.row_number().over(
        ibis.window(group_by=jobs.user_id, order_by=[jobs.startdate, jobs.position_id])
    )
    jobs = jobs.mutate(_rank=job_rank)
    first_job = jobs.filter(jobs._rank == 0).select("user_id", job_country=jobs.country)
    ids = users.select("user_id")
    joined = ids.left_join(first_edu, "user_id").left_join(first_job, "user_id")
    return joined.select(
        "user_id",
        origin=ibis.coalesce(joined.edu_country, joined.job_country),
        origin_rule=ibis.cases(
            (joined.edu_rule.notnull(), joined.edu_rule),
            (joined.job_country.notnull(), ORIGIN_RULES[3]),
            else_=ORIGIN_NONE,
        ),
    )


# --------------------------------------------------------------------------- AI skills
def distinct_skills(skills: ir.Table) -> ir.Table:
    """Skill rows without exact duplicates (same user, names, source and date)."""
    return skills.select(
        "user_id", "skill_raw", "skill_mapped", "skill_source", "first_reported"
    ).distinct()


def ai_skill_clusters(skill_rows: ir.Table, taxonomy: ir.Table) -> ir.Table:
    """One row per (skill row, cluster) where the skill is in the taxonomy.

    Columns: the skill row's columns, ``cluster`` and ``first_year`` (year of
    ``first_reported``, missing when it is).
    """
    columns = ["user_id", "skill_raw", "skill_mapped", "skill_source", "first_reported"]
    keyed = skill_rows.mutate(
        _raw_key=skill_rows.skill_raw.lower(), _mapped_key=skill_rows.skill_mapped.lower()
    )
    matches = []
    for name_type, key in (("raw", "_raw_key"), ("mapped", "_mapped_key")):
        names = taxonomy.filter(taxonomy.name_type == name_type).select("name_key", "cluster")
        matched = keyed.join(names, keyed[key] == names.name_key)
        matches.append(matched.select(*columns, "cluster"))
    pairs = ibis.union(*matches, distinct=True)
    return pairs.mutate(first_year=pairs.first_reported.year().cast("int32"))


def ai_by_person(pairs: ir.Table, clusters: Sequence[str]) -> ir.Table:
    """Per person: ``ai_from`` (first year AI-skilled; :data:`UNDATED_YEAR` when an
    undated skill counts for every year), ``ai_first_year`` (earliest dated year),
    ``ai_undated`` and, per cluster, ``_from_<cluster>``."""
    from_year = ibis.coalesce(pairs.first_year, UNDATED_YEAR)
    metrics = {
        "ai_from": from_year.min(),
        "ai_first_year": pairs.first_year.min(),
        "ai_undated": pairs.first_year.isnull().any(),
    }
    for cluster in clusters:
        metrics[f"_from_{cluster}"] = from_year.min(where=pairs.cluster == cluster)
    return pairs.group_by("user_id").aggregate(**metrics)


def person_table(src: Sources, clusters: Sequence[str]) -> ir.Table:
    """Everything the panel and the persons table take from the person, one row per user.

    ``user_id``, ``sex``, ``highest_degree``, ``user_country`` (:func:`person_attributes`),
    ``origin``, ``origin_rule`` (:func:`origins`), ``field`` (:func:`fields_of_study`),
    ``ai_from``, ``ai_first_year``, ``ai_undated`` and ``_from_<cluster>``
    (:func:`ai_by_person`; missing for users without an AI skill). The pipeline
    computes it once for both tables.
    """
    attrs = person_attributes(src.users)
    origin = origins(src.users, src.education, src.positions)
    field = fields_of_study(src.education)
    ai = ai_by_person(ai_skill_clusters(distinct_skills(src.skills), src.taxonomy), clusters)
    joined = attrs.left_join(origin, "user_id").left_join(field, "user_id").left_join(ai, "user_id")
    return joined.select(
        "user_id",
        "sex",
        "highest_degree",
        "user_country",
        "origin",
        "origin_rule",
        "field",
        "ai_from",
        "ai_first_year",
        "ai_undated",
        *[f"_from_{c}" for c in clusters],
    )


# --------------------------------------------------------------------------- panel
def panel_columns(clusters: Sequence[str], extras: Mapping[str, str]) -> dict[str, str]:
    """Output columns of the panel and their types, in order.

    Key ``(user_id, year)``. The main job's ``position_id``, ``rcid``, ``country`` (ISO3),
    ``startdate``/``enddate`` (as delivered; ``enddate`` missing = open), ``start_year``
    (the year of ``startdate``: salaries are set when a position starts, so the premium
    regressions compare positions of one vintage), ``days_in_year``, ``seniority``,
    ``job_category``, ``role_k1500``, ``salary``, ``total_compensation``; ``log_salary``;
    ``price_level`` (PPP table, job country and year), ``salary_ppp = salary / price_level``
    and its log; ``weight`` (missing set to 1.0, ``weight_imputed`` marks those); person
    attributes ``sex``, ``highest_degree``, ``origin``; ``abroad`` (job country differs from
    origin); ``ai`` and one ``ai_<cluster>`` flag per cluster for that year;
    ``prev_year_observed``, ``prev_country``, ``moved_country``, ``move_type``,
    ``job_change``, ``job_change_abroad`` (see the module docstring); then ``extras``
    (``industry``).
    """
    columns = {
        "user_id": "int64",
        "year": "int32",
        "position_id": "int64",
        "rcid": "int64",
        "country": "string",
        "startdate": "date",
        "enddate": "date",
        "start_year": "int32",
        "days_in_year": "int32",
        "seniority": "int32",
        "job_category": "string",
        "role_k1500": "string",
        "salary": "float64",
        "total_compensation": "float64",
        "log_salary": "float64",
        "price_level": "float64",
        "salary_ppp": "float64",
        "log_salary_ppp": "float64",
        "weight": "float64",
        "weight_imputed": "boolean",
        "sex": "string",
        "highest_degree": "string",
        "field": "string",
        "origin": "string",
        "abroad": "boolean",
        "ai": "boolean",
        **{cluster: "boolean" for cluster in clusters},
        "prev_year_observed": "boolean",
        "prev_country": "string",
        "moved_country": "boolean",
        "move_type": "string",
        "job_change": "boolean",
        "job_change_abroad": "boolean",
    }
    columns.update(extras)
    return columns


#: Columns of the positions table that the main job carries into the panel (plus the
#: delivery's :data:`CARRIED_EXTRAS`). Nothing else enters the window that picks the
#: main job: the other columns (company, state, metro, the source file name, ...) would
#: be sorted and, beyond DuckDB's memory limit, spilled for every spell-year.
MAIN_JOB_COLUMNS: tuple[str, ...] = (
    "user_id",
    "position_id",
    "rcid",
    "country",
    "startdate",
    "enddate",
    "seniority",
    "job_category",
    "role_k1500",
    "salary",
    "total_compensation",
    "weight",
)


def main_with_previous(src: Sources, window: YearWindow, extras: Sequence[str] = ()) -> ir.Table:
    """The main job of each person-year, with the person's previous person-year
    (``_prev_year``, ``_prev_country``, ``_prev_rcid``), taken while rows are narrow.

    Only :data:`MAIN_JOB_COLUMNS` and ``extras`` of the positions are kept.
    """
    narrow = src.positions.select(*MAIN_JOB_COLUMNS, *extras)
    sy = spell_years(spells(narrow, window), src.years)
    main = main_jobs(sy.drop("end_exclusive", "start_year", "end_year", "drop_reason"))
    previous = ibis.window(group_by=main.user_id, order_by=main.year)
    return main.mutate(
        _prev_year=main.year.lag().over(previous),
        _prev_country=main.country.lag().over(previous),
        _prev_rcid=main.rcid.lag().over(previous),
    )


def build_panel(
    src: Sources,
    window: YearWindow,
    clusters: Sequence[str],
    extras: Sequence[str] = (),
    main: ir.Table | None = None,
    people: ir.Table | None = None,
) -> ir.Table:
    """The person-year panel, one main job per person and year (without the log
    columns, which :func:`finish_panel` adds).

    ``main`` and ``people`` are :func:`main_with_previous` and :func:`person_table`
    when the caller has already computed them (the pipeline materializes both: see
    :meth:`analysis.clean.engine.Engine.materialize`).
    """
    main = main_with_previous(src, window, extras) if main is None else main
    people = person_table(src, clusters) if people is None else people
    people = people.select(
        "user_id",
        "sex",
        "highest_degree",
        "field",
        "origin",
        "ai_from",
        *[f"_from_{c}" for c in clusters],
    )
    ppp = src.ppp.select(ppp_country="country", ppp_year="year", price_level="price_level")
    joined = main.left_join(people, "user_id").left_join(
        ppp, [main.country == ppp.ppp_country, main.year == ppp.ppp_year]
    )
    j = joined.select(
        "user_id",
        "year",
        "position_id",
        "rcid",
        "country",
        "startdate",
        "enddate",
        "days_in_year",
        "seniority",
        "job_category",
        "role_k1500",
        "salary",
        "total_compensation",
        "price_level",
        *extras,
        "sex",
        "highest_degree",
        "field",
        "origin",
        "ai_from",
        *[f"_from_{c}" for c in clusters],
        "_prev_year",
        "_prev_country",
        "_prev_rcid",
        weight=ibis.coalesce(main.weight, 1.0),
        weight_imputed=main.weight.isnull(),
    )
    observed = ibis.coalesce(j._prev_year == j.year - 1, False)
    prev_country = ibis.ifelse(observed, j._prev_country, ibis.null("string"))
    moved = ibis.ifelse(observed, j._prev_country != j.country, ibis.null("boolean"))
    job_change = ibis.ifelse(observed, j._prev_rcid != j.rcid, ibis.null("boolean"))
    return j.mutate(
        start_year=j.startdate.year(),
        salary_ppp=j.salary / j.price_level,
        abroad=j.country != j.origin,
        ai=ibis.coalesce(j.ai_from <= j.year, False),
        **{c: ibis.coalesce(j[f"_from_{c}"] <= j.year, False) for c in clusters},
        prev_year_observed=observed,
        prev_country=prev_country,
        moved_country=moved,
        move_type=ibis.cases(
            (moved & (j._prev_country == j.origin) & (j.country != j.origin), "emigration"),
            (moved & (j._prev_country != j.origin) & (j.country == j.origin), "return"),
            (moved & (j._prev_country != j.origin) & (j.country != j.origin), "onward"),
            else_=ibis.null("string"),
        ),
        job_change=job_change,
        job_change_abroad=ibis.cases(
            (job_change.isnull(), ibis.null("boolean")),
            (~job_change, False),
            else_=j.country != j._prev_country,
        ),
    ).drop(
        "ai_from", "_prev_year", "_prev_country", "_prev_rcid", *[f"_from_{c}" for c in clusters]
    )


def finish_panel(panel: ir.Table) -> ir.Table:
    """Add ``log_salary`` and ``log_salary_ppp``.

    Applied by the DuckDB writer on every engine: Spark's ``ln`` (Java ``StrictMath``)
    and DuckDB's (C library) differ in the last bit for about 1% of values, so taking
    logs in one place keeps the files identical across engines.
    """
    return panel.mutate(log_salary=panel.salary.ln(), log_salary_ppp=panel.salary_ppp.ln())


# --------------------------------------------------------------------------- persons, moves
def persons_columns(clusters: Sequence[str]) -> dict[str, str]:
    """Output columns of the persons table and their types, in order.

    Key ``user_id``. ``origin``/``origin_rule`` (``high_school``, ``bachelor``,
    ``earliest_education``, ``first_job`` or ``none``); ``sex``, ``highest_degree``,
    ``user_country`` (profile location at the snapshot); ``first_year``/``last_year``
    and ``n_person_years`` in the panel; ``n_positions`` (valid spells, any year);
    ``ever_ai`` (any taxonomy skill); ``ai_first_year`` (earliest ``first_reported``
    year of an AI skill, missing if none is dated); ``ai_undated`` (an AI skill without
    ``first_reported``, which makes the person AI-skilled in every year); one
    ``ai_<cluster>`` flag per cluster ever held and ``n_ai_clusters``.
    """
    return {
        "user_id": "int64",
        "origin": "string",
        "origin_rule": "string",
        "sex": "string",
        "highest_degree": "string",
        "field": "string",
        "user_country": "string",
        "first_year": "int32",
        "last_year": "int32",
        "n_person_years": "int64",
        "n_positions": "int64",
        "ever_ai": "boolean",
        "ai_first_year": "int32",
        "ai_undated": "boolean",
        **{cluster: "boolean" for cluster in clusters},
        "n_ai_clusters": "int32",
    }


def build_persons(
    panel: ir.Table,
    src: Sources,
    clusters: Sequence[str],
    people: ir.Table | None = None,
) -> ir.Table:
    """One row per person with at least one person-year in the panel.

    ``people`` is :func:`person_table` when the caller has already computed it.
    """
    stats = panel.group_by("user_id").aggregate(
        first_year=panel.year.min(), last_year=panel.year.max(), n_person_years=panel.count()
    )
    n_positions = src.positions.group_by("user_id").aggregate(n_positions=src.positions.count())
    people = person_table(src, clusters) if people is None else people
    joined = stats.inner_join(people, "user_id").left_join(n_positions, "user_id")
    held = {c: joined[f"_from_{c}"].notnull() for c in clusters}
    n_clusters = sum((ibis.ifelse(flag, 1, 0) for flag in held.values()), ibis.literal(0))
    return joined.select(
        "user_id",
        "origin",
        "origin_rule",
        "sex",
        "highest_degree",
        "field",
        "user_country",
        "first_year",
        "last_year",
        "n_person_years",
        "n_positions",
        "ai_first_year",
        ever_ai=joined.ai_from.notnull(),
        ai_undated=ibis.coalesce(joined.ai_undated, False),
        n_ai_clusters=n_clusters,
        **held,
    )


#: Output columns of the moves table (key ``(user_id, year)``): the person-year of
#: arrival, the countries left and entered, the move type, origin, AI flag and weight
#: of that person-year.
MOVES_COLUMNS: dict[str, str] = {
    "user_id": "int64",
    "year": "int32",
    "from_country": "string",
    "to_country": "string",
    "move_type": "string",
    "origin": "string",
    "ai": "boolean",
    "weight": "float64",
}


def build_moves(panel: ir.Table) -> ir.Table:
    """One row per country change between consecutive person-years."""
    moved = panel.filter(panel.moved_country)
    return moved.select(
        "user_id",
        "year",
        "move_type",
        "origin",
        "ai",
        "weight",
        from_country=moved.prev_country,
        to_country=moved.country,
    )
