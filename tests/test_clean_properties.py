"""Invariants of the cleaning on generated deliveries (hypothesis).

Each example is a random small delivery: a few people with random spells (open or
closed, overlapping or not, with or without salary, seniority and country, ties
likely), random skills, a random year window and delivery date. The checks use an
independent day count written here with :mod:`datetime`, not the code under test.
"""

from __future__ import annotations

import calendar
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
from delivery_factory import write_delivery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_clean_panel import KOR, USA, build_tables, skill, spell

from analysis import config
from analysis.clean import clean_delivery

FIRST_MONTH = 2008 * 12  # months counted from year 0: 2008-01


def _ym(month_index: int) -> str:
    return f"{month_index // 12:04d}-{month_index % 12 + 1:02d}"


def _covered(start: str, end: str | None, delivery: date) -> tuple[date, date]:
    """First and last covered day (both included) of a spell."""
    y, m = (int(x) for x in start.split("-"))
    first = date(y, m, 1)
    if end is None:
        return first, delivery
    y, m = (int(x) for x in end.split("-"))
    return first, date(y, m, calendar.monthrange(y, m)[1])


def _days(first: date, last: date, year: int) -> int:
    lo, hi = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
    return max(0, (hi - lo).days + 1)


@st.composite
def deliveries(draw: st.DrawFn) -> dict:
    n_users = draw(st.integers(1, 6))
    specs = []
    for user in range(1, n_users + 1):
        for _ in range(draw(st.integers(0, 4))):
            start = draw(st.integers(FIRST_MONTH, FIRST_MONTH + 12 * 18))
            length = draw(st.one_of(st.none(), st.integers(0, 40)))
            specs.append(
                {
                    "user": user,
                    "start": _ym(start),
                    "end": None if length is None else _ym(start + length),
                    "country": draw(st.sampled_from([KOR, USA, None])),
                    "rcid": draw(st.sampled_from([None, 1, 2])),
                    "salary": draw(st.sampled_from([None, 50_000.0, 60_000.0])),
                    "tc": draw(st.sampled_from([None, 70_000.0])),
                    "seniority": draw(st.sampled_from([None, 1, 2])),
                }
            )
    ids = draw(st.permutations(range(1, len(specs) + 1))) if specs else []
    positions = [
        spell(
            s["user"],
            pid,
            s["start"],
            s["end"],
            s["country"],
            rcid=s["rcid"],
            salary=s["salary"],
            tc=s["tc"],
            seniority=s["seniority"],
        )
        for s, pid in zip(specs, ids, strict=True)
    ]
    skills = [
        skill(
            draw(st.integers(1, n_users)),
            name,
            name.lower(),
            draw(st.sampled_from([None, "2012-03", "2019-11"])),
        )
        for name in draw(st.lists(st.sampled_from(["Machine Learning", "Excel", "DL"]), max_size=5))
    ]
    first = draw(st.integers(2009, 2016))
    last = draw(st.integers(first, first + 8))
    # the delivery date falls inside the window more often than not
    updated = draw(st.dates(min_value=date(first, 1, 1), max_value=date(last + 1, 6, 30)))
    tables = build_tables(
        list(range(1, n_users + 1)), positions, (), skills, updated=updated.isoformat()
    )
    return {"tables": tables, "years": (first, last), "delivery_date": updated}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=deliveries())
def test_panel_invariants(case: dict) -> None:
    first, last = case["years"]
    with tempfile.TemporaryDirectory() as tmp:
        delivery = write_delivery(Path(tmp) / "delivery", case["tables"])
        clean_delivery(delivery, Path(tmp) / "out", years=case["years"], allow_empty=True)
        panel = pd.read_parquet(Path(tmp) / "out" / "panel.parquet")
        ledger = pd.read_parquet(Path(tmp) / "out" / "ledger.parquet")
        persons = pd.read_parquet(Path(tmp) / "out" / "persons.parquet")

    positions = case["tables"]["positions"]
    # spells that start or end implausibly long after the delivery date are quarantined
    # by the reader (analysis.config.PLAUSIBILITY_BOUNDS), not cleaned
    delivery = pd.Timestamp(case["delivery_date"])
    bounds = config.PLAUSIBILITY_BOUNDS
    late_start = delivery + pd.DateOffset(
        months=bounds[("positions", "startdate")].months_after_delivery
    )
    late_end = delivery + pd.DateOffset(
        months=bounds[("positions", "enddate")].months_after_delivery
    )
    plausible = (pd.to_datetime(positions["startdate"]) <= late_start) & ~(
        pd.to_datetime(positions["enddate"]) > late_end
    )
    positions = positions[plausible]
    days: dict[tuple[int, int], dict[int, int]] = {}
    for row in positions.itertuples(index=False):
        start = row.startdate.strftime("%Y-%m")
        end = None if pd.isna(row.enddate) else row.enddate.strftime("%Y-%m")
        covered = _covered(start, end, case["delivery_date"])
        for year in range(first, last + 1):
            n = _days(*covered, year)
            if n > 0:
                days.setdefault((row.user_id, year), {})[row.position_id] = n

    # keys: unique, non-null, and exactly the person-years some spell covers
    keys = list(zip(panel.user_id, panel.year, strict=True))
    assert panel[["user_id", "year"]].notna().all().all()
    assert len(keys) == len(set(keys))
    assert set(keys) == set(days)
    owner = dict(zip(positions.position_id, positions.user_id, strict=True))
    for row in panel.itertuples(index=False):
        spells_in_year = days[(row.user_id, row.year)]
        # the chosen spell is one of the person's spells and covers the year ...
        assert owner[row.position_id] == row.user_id
        assert spells_in_year.get(row.position_id) == row.days_in_year > 0
        # ... with the most days
        assert row.days_in_year == max(spells_in_year.values())

    assert set(persons.user_id) == {u for u, _ in days}
    for _, step in ledger.groupby(["stage", "table", "step"]):
        removed = step.loc[step.action == "removed", "rows_affected"].sum()
        assert step.rows_in.iloc[0] - step.rows_out.iloc[0] == removed
    chain = ledger.drop_duplicates(["stage", "table", "step"]).set_index(["table", "step"])
    assert chain.loc[("panel", "choose main job"), "rows_out"] == len(panel)
    assert chain.loc[
        ("spell_years", "expand kept spells into the calendar years they cover"), "rows_in"
    ] == sum(len(v) for v in days.values())
