"""The cleaning on small hand-made deliveries: the exact panel, persons, moves and ledger.

Every expected row below is worked out by hand from the spells (the day counts in
the comments), not taken from the code under test. Spells cover the first day of
their start month through the last day of their end month; open spells run
through the delivery date.
"""

from __future__ import annotations

import filecmp
import math
from pathlib import Path

import pandas as pd
import pytest
from delivery_factory import write_delivery

from analysis.clean import clean_delivery
from analysis.config import DATA_RAW

KOR, USA, CAN, FRA, GBR, DEU, ITA = (
    "South Korea",
    "United States",
    "Canada",
    "France",
    "United Kingdom",
    "Germany",
    "Italy",
)


# --------------------------------------------------------------------------- builders
def spell(
    user_id: int,
    position_id: int,
    start: str,
    end: str | None,
    country: str | None,
    *,
    rcid: int | None = None,
    salary: float | None = None,
    tc: float | None = None,
    seniority: int | None = None,
    weight: float | None = 2.0,
) -> dict:
    """One position row; ``start``/``end`` are ``YYYY-MM`` (``end=None``: open)."""
    return {
        "user_id": user_id,
        "position_id": position_id,
        "rcid": rcid,
        "company": None if rcid is None else f"Company {rcid}",
        "startdate": f"{start}-01",
        "enddate": None if end is None else f"{end}-01",
        "country": country,
        "state": None,
        "metro_area": None,
        "role_k1500": "engineer",
        "seniority": seniority,
        "salary": salary,
        "total_compensation": tc,
        "weight": weight,
        "position_number": None,
    }


def school(user_id: int, degree: str, country: str, start: str | None, number: int = 1) -> dict:
    return {
        "user_id": user_id,
        "education_number": number,
        "university_name": f"{degree} school",
        "university_country": country,
        "degree": degree,
        "field": None,
        "startdate": None if start is None else f"{start}-01",
        "enddate": None,
    }


def skill(user_id: int, raw: str, mapped: str | None, first_reported: str | None) -> dict:
    return {
        "user_id": user_id,
        "skill_raw": raw,
        "skill_mapped": mapped,
        "skill_source": "R",
        "first_reported": None if first_reported is None else f"{first_reported}-01",
    }


def build_tables(
    user_ids: list[int],
    positions: list[dict],
    education: list[dict] = (),
    skills: list[dict] = (),
    *,
    updated: str = "2024-12-15",
) -> dict[str, pd.DataFrame]:
    """Four tables in the contract's layout (types as a real delivery has them)."""
    users = pd.DataFrame(
        {
            "user_id": pd.array(user_ids, dtype="int64"),
            "sex_predicted": ["female" if u % 2 else None for u in user_ids],
            "f_prob": [0.9 if u % 2 else 0.2 for u in user_ids],
            "highest_degree": ["Bachelor"] * len(user_ids),
            "user_country": [KOR] * len(user_ids),
            "updated_dt": pd.to_datetime([updated] * len(user_ids)),
        }
    )
    pos = pd.DataFrame(positions, columns=list(spell(0, 0, "2000-01", None, None)))
    pos = pos.astype(
        {
            "user_id": "int64",
            "position_id": "int64",
            "rcid": "Int64",
            "seniority": "Int64",
            "position_number": "Int64",
            "salary": "float64",
            "total_compensation": "float64",
            "weight": "float64",
        }
    )
    for col in ("startdate", "enddate"):
        pos[col] = pd.to_datetime(pos[col])
    edu = pd.DataFrame(list(education), columns=list(school(0, "x", "y", None)))
    edu = edu.astype({"user_id": "int64", "education_number": "Int64"})
    for col in ("startdate", "enddate"):
        edu[col] = pd.to_datetime(edu[col])
    edu["field"] = edu["field"].astype("string")
    sk = pd.DataFrame(list(skills), columns=list(skill(0, "x", None, None)))
    sk = sk.astype({"user_id": "int64", "skill_mapped": "string"})
    sk["first_reported"] = pd.to_datetime(sk["first_reported"])
    return {"users": users, "positions": pos, "education": edu, "skills": sk}


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as tuples with missing values as None (for exact comparisons)."""
    sub = frame[columns].astype(object)
    return [tuple(None if _missing(v) else v for v in row) for row in sub.itertuples(index=False)]


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


# --------------------------------------------------------------------------- main delivery
def main_tables() -> dict[str, pd.DataFrame]:
    """Users 1-8 (spell patterns), 9-10 (no person-year), 51-59 (ties in 2020)."""
    p = [
        # 1: overlapping spells
        spell(1, 101, "2019-03", "2020-06", KOR, rcid=11, salary=50_000, seniority=2),
        spell(1, 102, "2020-05", "2021-12", KOR, rcid=12, salary=60_000, seniority=3),
        # 2: gaps (nothing in 2019); one spell before the window
        spell(2, 201, "2018-01", "2018-06", USA, rcid=21, salary=90_000),
        spell(2, 202, "2020-02", "2020-02", USA, rcid=22, salary=95_000),
        spell(2, 203, "2010-01", "2012-12", USA, rcid=23),
        # 3: a move from Korea to the US inside 2019; the US job is open
        spell(3, 301, "2017-01", "2019-04", KOR, rcid=31, salary=40_000),
        spell(3, 302, "2019-05", None, USA, rcid=32, salary=120_000),
        # 4: no education: origin is the first job's country (before the window)
        spell(4, 401, "2015-01", "2016-12", GBR, rcid=41),
        spell(4, 402, "2019-07", None, FRA, rcid=42, salary=55_000),
        # 5: emigration, onward, return
        spell(5, 501, "2018-01", "2018-12", KOR, rcid=51, salary=40_000),
        spell(5, 502, "2019-01", "2019-12", USA, rcid=52, salary=100_000),
        spell(5, 503, "2020-01", "2020-12", CAN, rcid=53, salary=80_000),
        spell(5, 504, "2021-01", "2021-12", KOR, rcid=54, salary=45_000),
        # 6: job change at home, transfer abroad within the firm, unknown employer
        spell(6, 601, "2018-01", "2018-12", KOR, rcid=61),
        spell(6, 602, "2019-01", "2019-12", KOR, rcid=62),
        spell(6, 603, "2020-01", "2020-12", USA, rcid=62),
        spell(6, 604, "2021-01", "2021-12", USA, rcid=None),
        # 7: AI from 2020 (first_reported 2020-05); 8: undated AI skill, no salary
        spell(7, 701, "2018-01", None, KOR, rcid=71, salary=50_000),
        spell(8, 801, "2021-03", "2021-08", CAN, rcid=81, salary=None),
        # 10: a spell after the window and an open spell after the delivery date
        spell(10, 1001, "2023-01", "2023-12", KOR, rcid=100),
        spell(10, 1002, "2025-01", None, KOR, rcid=100),
        # 51-59: ties in 2020 (all in Germany unless said otherwise)
        spell(51, 5101, "2020-01", "2020-12", DEU, rcid=1, salary=100_000),
        spell(51, 5102, "2020-01", "2020-12", DEU, rcid=2, salary=90_000),
        spell(52, 5201, "2020-01", "2020-12", DEU, rcid=1, salary=100_000, tc=120_000),
        spell(52, 5202, "2020-01", "2020-12", DEU, rcid=2, salary=100_000, tc=130_000),
        spell(53, 5301, "2020-01", "2020-12", DEU, rcid=1, salary=1e5, tc=1.2e5, seniority=3),
        spell(53, 5302, "2020-01", "2020-12", DEU, rcid=2, salary=1e5, tc=1.2e5, seniority=4),
        spell(54, 5401, "2019-01", "2020-12", DEU, rcid=1, salary=1e5, tc=1.2e5, seniority=3),
        spell(54, 5402, "2020-01", "2021-06", DEU, rcid=2, salary=1e5, tc=1.2e5, seniority=3),
        spell(55, 5502, "2020-01", "2020-12", DEU, rcid=2, salary=1e5, tc=1.2e5, seniority=3),
        spell(55, 5501, "2020-01", "2020-12", DEU, rcid=1, salary=1e5, tc=1.2e5, seniority=3),
        spell(56, 5601, "2020-01", "2020-12", None, rcid=1, salary=None, tc=5e5, seniority=7),
        spell(56, 5602, "2020-01", "2020-12", None, rcid=2, salary=50_000, seniority=1),
        spell(57, 5701, "2020-01", "2020-12", None, rcid=1, seniority=5),
        spell(57, 5702, "2020-01", "2020-12", None, rcid=2, tc=10, seniority=1),
        spell(58, 5801, "2020-01", "2020-12", ITA, rcid=1, salary=1e5, tc=1.2e5),
        spell(58, 5802, "2020-01", "2020-12", ITA, rcid=2, salary=1e5, tc=1.2e5, seniority=1),
        spell(59, 5901, "2020-01", "2020-12", DEU, rcid=1, salary=10, weight=None),
        spell(59, 5902, "2020-02", "2020-12", DEU, rcid=2, salary=1e6),
    ]
    e = [
        school(1, "High School", KOR, "2005-03"),
        school(2, "Bachelor", USA, "2010-09"),
        school(3, "High School", KOR, "2007-03"),
        school(5, "High School", KOR, "2008-03"),
        school(6, "High School", KOR, "2008-03"),
        school(7, "High School", KOR, "2008-03"),
        school(8, "Master", USA, "2008-09", number=1),
        school(8, "Bachelor", CAN, "2012-09", number=2),
        *[school(u, "High School", DEU, "2005-09") for u in (51, 52, 53, 54, 55, 56)],
        school(58, "Master", DEU, "2012-10"),
    ]
    s = [
        skill(7, "Machine Learning", "machine learning", "2020-05"),
        skill(7, "Machine Learning", "machine learning", "2020-05"),  # duplicate row
        skill(7, "Excel", "excel", "2015-01"),
        skill(8, "DL", None, None),  # raw-name match, no first_reported
    ]
    users = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 51, 52, 53, 54, 55, 56, 57, 58, 59]
    return build_tables(users, p, e, s)


@pytest.fixture(scope="module")
def main_delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_delivery(tmp_path_factory.mktemp("main") / "delivery", main_tables())


@pytest.fixture(scope="module")
def cleaned(main_delivery: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("main_out")
    clean_delivery(main_delivery, out, years=(2018, 2021))
    return out


@pytest.fixture(scope="module")
def panel(cleaned: Path) -> pd.DataFrame:
    return pd.read_parquet(cleaned / "panel.parquet")


def user_rows(panel: pd.DataFrame, users: list[int], columns: list[str]) -> list[tuple]:
    return records(panel[panel["user_id"].isin(users)], columns)


MOBILITY = [
    "user_id",
    "year",
    "position_id",
    "days_in_year",
    "country",
    "prev_year_observed",
    "moved_country",
    "move_type",
    "job_change",
    "job_change_abroad",
]


# --------------------------------------------------------------------------- panel rows
def test_overlapping_spells_main_job_has_most_days(panel: pd.DataFrame) -> None:
    assert user_rows(panel, [1], MOBILITY) == [
        # 2019: Mar-Dec = 306 days of spell 101
        (1, 2019, 101, 306, "KOR", False, None, None, None, None),
        # 2020: 101 has Jan-Jun = 182 days, 102 has May-Dec = 245 days
        (1, 2020, 102, 245, "KOR", True, False, None, True, False),
        (1, 2021, 102, 365, "KOR", True, False, None, False, False),
    ]


def test_start_year_is_the_main_jobs_vintage(panel: pd.DataFrame) -> None:
    """The premium regressions' vintage control comes with the panel: user 1's main job
    is position 101 (started 2019) in 2019, then 102 (started 2020)."""
    assert user_rows(panel, [1], ["year", "position_id", "start_year"]) == [
        (2019, 101, 2019),
        (2020, 102, 2020),
        (2021, 102, 2020),
    ]
    assert panel["start_year"].dtype == "int32" and panel["start_year"].notna().all()


def test_gaps_leave_years_out_and_break_comparisons(panel: pd.DataFrame) -> None:
    assert user_rows(panel, [2], MOBILITY) == [
        # Jan-Jun 2018 = 31+28+31+30+31+30
        (2, 2018, 201, 181, "USA", False, None, None, None, None),
        # one month in a leap year; 2019 is missing so nothing is compared
        (2, 2020, 202, 29, "USA", False, None, None, None, None),
    ]


def test_same_year_move_and_open_spell(panel: pd.DataFrame) -> None:
    assert user_rows(panel, [3], [*MOBILITY, "abroad"]) == [
        (3, 2018, 301, 365, "KOR", False, None, None, None, None, False),
        # Jan-Apr 2019 = 120 days in Korea, May-Dec = 245 days in the US
        (3, 2019, 302, 245, "USA", True, True, "emigration", True, True, True),
        (3, 2020, 302, 366, "USA", True, False, None, False, False, True),
        (3, 2021, 302, 365, "USA", True, False, None, False, False, True),
    ]


def test_no_education_origin_from_first_job(panel: pd.DataFrame, cleaned: Path) -> None:
    assert user_rows(
        panel, [4], ["user_id", "year", "days_in_year", "country", "origin", "abroad"]
    ) == [
        (4, 2019, 184, "FRA", "GBR", True),  # Jul-Dec
        (4, 2020, 366, "FRA", "GBR", True),
        (4, 2021, 365, "FRA", "GBR", True),
    ]
    persons = pd.read_parquet(cleaned / "persons.parquet").set_index("user_id")
    assert persons.loc[4, ["origin", "origin_rule"]].tolist() == ["GBR", "first_job"]


def test_move_types(panel: pd.DataFrame) -> None:
    assert user_rows(panel, [5], [*MOBILITY, "origin", "abroad"]) == [
        (5, 2018, 501, 365, "KOR", False, None, None, None, None, "KOR", False),
        (5, 2019, 502, 365, "USA", True, True, "emigration", True, True, "KOR", True),
        (5, 2020, 503, 366, "CAN", True, True, "onward", True, True, "KOR", True),
        (5, 2021, 504, 365, "KOR", True, True, "return", True, True, "KOR", False),
    ]


def test_job_changes(panel: pd.DataFrame) -> None:
    assert user_rows(panel, [6], MOBILITY) == [
        (6, 2018, 601, 365, "KOR", False, None, None, None, None),
        # new employer, same country
        (6, 2019, 602, 365, "KOR", True, False, None, True, False),
        # same employer (rcid 62) in another country: a move, not a job change
        (6, 2020, 603, 366, "USA", True, True, "emigration", False, False),
        # employer unknown: job change unknown
        (6, 2021, 604, 365, "USA", True, False, None, None, None),
    ]


def test_ai_flag_switches_on_in_first_reported_year(panel: pd.DataFrame) -> None:
    columns = ["user_id", "year", "ai", "ai_machine_learning", "ai_deep_learning"]
    assert user_rows(panel, [7, 8], columns) == [
        (7, 2018, False, False, False),
        (7, 2019, False, False, False),
        (7, 2020, True, True, False),
        (7, 2021, True, True, False),
        # undated skill: AI in every year
        (8, 2021, True, False, True),
    ]


def test_missing_salary_gives_missing_logs_and_ppp(panel: pd.DataFrame) -> None:
    columns = ["user_id", "year", "days_in_year", "salary", "log_salary", "salary_ppp"]
    # Mar-Aug 2021 = 31+30+31+30+31+31
    assert user_rows(panel, [8], columns) == [(8, 2021, 184, None, None, None)]


def test_ties_at_every_level(panel: pd.DataFrame) -> None:
    columns = ["user_id", "year", "position_id", "days_in_year"]
    assert user_rows(panel, [51, 52, 53, 54, 55, 56, 57, 58, 59], columns) == [
        (51, 2020, 5101, 366),  # higher salary
        (52, 2020, 5202, 366),  # same salary, higher total compensation
        (53, 2020, 5302, 366),  # ... higher seniority
        (54, 2019, 5401, 365),
        (54, 2020, 5402, 366),  # ... later start
        (54, 2021, 5402, 181),  # Jan-Jun 2021
        (55, 2020, 5501, 366),  # all equal: lower position_id
        (56, 2020, 5602, 366),  # a salary beats a missing salary
        (57, 2020, 5702, 366),  # no salaries: a total compensation beats a missing one
        (58, 2020, 5802, 366),  # a seniority beats a missing one
        (59, 2020, 5901, 366),  # more days beat a higher salary
    ]


def test_salaries_weights_and_ppp(panel: pd.DataFrame) -> None:
    ppp = pd.read_csv(DATA_RAW / "ppp_price_levels.csv").set_index(["country", "year"])
    rows = panel.set_index(["user_id", "year"])
    # USA is the numeraire
    assert rows.loc[(2, 2018), "salary_ppp"] == 90_000
    assert rows.loc[(3, 2019), "log_salary"] == pytest.approx(math.log(120_000), rel=1e-15)
    expected = 40_000 / ppp.loc[("KOR", 2018), "price_level"]
    assert rows.loc[(5, 2018), "salary_ppp"] == pytest.approx(expected, rel=1e-15)
    assert rows.loc[(5, 2018), "log_salary_ppp"] == pytest.approx(math.log(expected), rel=1e-15)
    # Italy is not in the PPP table; user 56's job has no country
    assert pd.isna(rows.loc[(58, 2020), "salary_ppp"])
    assert pd.isna(rows.loc[(56, 2020), "salary_ppp"]) and rows.loc[(56, 2020), "salary"] == 50_000
    # missing weight set to 1.0 and flagged; others keep theirs
    assert rows.loc[(59, 2020), ["weight", "weight_imputed"]].tolist() == [1.0, True]
    assert rows.loc[(51, 2020), ["weight", "weight_imputed"]].tolist() == [2.0, False]
    assert rows.loc[(56, 2020), ["country", "origin"]].tolist() == [None, "DEU"]
    assert pd.isna(rows.loc[(56, 2020), "abroad"])


def test_panel_keys_and_sex(panel: pd.DataFrame) -> None:
    assert not panel[["user_id", "year"]].duplicated().any()
    assert panel[["user_id", "year"]].notna().all().all()
    assert list(panel[["user_id", "year"]].itertuples(index=False)) == sorted(
        panel[["user_id", "year"]].itertuples(index=False)
    )
    # odd users have sex_predicted "female"; even ones only f_prob 0.2
    sex = panel.groupby("user_id")["sex"].first()
    assert sex[1] == "female" and sex[2] == "male"


# --------------------------------------------------------------------------- other tables
def test_persons(cleaned: Path) -> None:
    persons = pd.read_parquet(cleaned / "persons.parquet")
    columns = ["user_id", "origin", "origin_rule", "first_year", "last_year", "n_positions"]
    assert records(persons[persons.user_id <= 10], columns) == [
        (1, "KOR", "high_school", 2019, 2021, 2),
        (2, "USA", "bachelor", 2018, 2020, 3),
        (3, "KOR", "high_school", 2018, 2021, 2),
        (4, "GBR", "first_job", 2019, 2021, 2),
        (5, "KOR", "high_school", 2018, 2021, 4),
        (6, "KOR", "high_school", 2018, 2021, 4),
        (7, "KOR", "high_school", 2018, 2021, 1),
        # a bachelor's beats an earlier master's
        (8, "CAN", "bachelor", 2021, 2021, 1),
    ]
    rules = persons.set_index("user_id")["origin_rule"]
    assert rules[58] == "earliest_education" and rules[59] == "first_job" and rules[57] == "none"
    ai = persons.set_index("user_id").loc[[7, 8], ["ever_ai", "ai_first_year", "ai_undated"]]
    assert records(ai.reset_index(), ["user_id", "ever_ai", "ai_first_year", "ai_undated"]) == [
        (7, True, 2020, False),
        (8, True, None, True),
    ]
    assert set(persons.user_id) == {1, 2, 3, 4, 5, 6, 7, 8, 51, 52, 53, 54, 55, 56, 57, 58, 59}


def test_moves(cleaned: Path) -> None:
    moves = pd.read_parquet(cleaned / "moves.parquet")
    columns = ["user_id", "year", "from_country", "to_country", "move_type", "origin"]
    assert records(moves, columns) == [
        (3, 2019, "KOR", "USA", "emigration", "KOR"),
        (5, 2019, "KOR", "USA", "emigration", "KOR"),
        (5, 2020, "USA", "CAN", "onward", "KOR"),
        (5, 2021, "CAN", "KOR", "return", "KOR"),
        (6, 2020, "KOR", "USA", "emigration", "KOR"),
    ]


def _entry(ledger: pd.DataFrame, table: str, step: str, reason: str = "") -> tuple[int, int, int]:
    rows = ledger[(ledger.stage == "clean") & (ledger.table == table) & (ledger.step == step)]
    assert len(rows), f"no ledger entry {table}/{step}"
    match = rows[rows.reason == reason] if reason else rows
    affected = int(match.rows_affected.iloc[0]) if len(match) else 0
    return int(rows.rows_in.iloc[0]), int(rows.rows_out.iloc[0]), affected


def test_ledger_counts(cleaned: Path) -> None:
    ledger = pd.read_parquet(cleaned / "ledger.parquet")
    # 39 valid spells; 4 open (302, 402, 701, 1002)
    assert _entry(ledger, "positions", "open spells run to the delivery date")[:2] == (39, 39)
    step = "keep spells with a day in the year window"
    assert _entry(ledger, "positions", step, "spell ends before the year window") == (39, 35, 2)
    assert _entry(ledger, "positions", step, "spell starts after the year window")[2] == 1
    assert _entry(ledger, "positions", step, "open spell starts after the delivery date")[2] == 1
    # 47 spell-years, 36 person-years (11 secondary jobs)
    assert _entry(ledger, "panel", "choose main job", "secondary job in the same year") == (
        47,
        36,
        11,
    )
    assert _entry(ledger, "panel", "fill missing weight", "missing weight set to 1.0")[2] == 1
    ppp = "convert salary to PPP dollars"
    assert _entry(ledger, "panel", ppp, "job country missing: salary_ppp missing")[2] == 1
    no_level = "no PPP price level for the job's country and year: salary_ppp missing"
    assert _entry(ledger, "panel", ppp, no_level)[2] == 1
    moves = "country changes between consecutive person-years"
    assert _entry(ledger, "moves", moves, "same country as the previous year") == (36, 5, 13)
    assert _entry(ledger, "skills", "drop duplicate skill rows", "duplicate skill row") == (4, 3, 1)
    assert _entry(ledger, "skills", "match skills to the AI taxonomy")[:2] == (3, 2)
    persons = "keep users with a person-year"
    assert _entry(ledger, "persons", persons, "no valid spell") == (19, 17, 1)
    assert _entry(ledger, "persons", persons, "no spell with a day in the year window")[2] == 1
    origin = {
        r: _entry(ledger, "persons", "infer origin", f"origin_rule={r}")[2]
        for r in ("high_school", "bachelor", "earliest_education", "first_job", "none")
    }
    assert origin == {
        "high_school": 11,
        "bachelor": 2,
        "earliest_education": 1,
        "first_job": 2,
        "none": 1,
    }


def test_ledger_adds_up_and_starts_with_the_reader(cleaned: Path) -> None:
    ledger = pd.read_parquet(cleaned / "ledger.parquet")
    assert ledger.entry.tolist() == list(range(1, len(ledger) + 1))
    assert ledger.stage.iloc[0] == "read" and set(ledger.stage) == {"read", "clean"}
    for _, step in ledger.groupby(["stage", "table", "step"]):
        removed = step.loc[step.action == "removed", "rows_affected"].sum()
        assert step.rows_in.iloc[0] - step.rows_out.iloc[0] == removed
    manifest = pd.read_json(cleaned / "manifest.json", typ="series")
    assert manifest["rows"]["panel"] == 36 and manifest["rows"]["moves"] == 5


# --------------------------------------------------------------------------- open spells
def test_open_spells_run_to_the_delivery_date(tmp_path: Path) -> None:
    positions = [
        spell(1, 11, "2023-07", None, KOR),  # 2023: Jul-Dec; 2024: 1 Jan - 15 Jun
        spell(2, 21, "2024-01", "2024-12", KOR),  # closed, ends after the delivery date
        spell(3, 31, "2024-09", None, KOR),  # open, starts after the delivery date
        spell(4, 41, "2024-06", None, KOR),  # 1-15 Jun 2024
        spell(5, 51, "2023-02", "2023-02", KOR),  # February 2023: 28 days
    ]
    tables = build_tables([1, 2, 3, 4, 5], positions, updated="2024-06-15")
    delivery = write_delivery(tmp_path / "delivery", tables)
    manifest = clean_delivery(delivery, tmp_path / "out", years=(2023, 2024))
    assert manifest["delivery"]["delivery_date"] == "2024-06-15"
    panel = pd.read_parquet(tmp_path / "out" / "panel.parquet")
    assert records(panel, ["user_id", "year", "position_id", "days_in_year"]) == [
        (1, 2023, 11, 184),
        (1, 2024, 11, 167),  # 31+29+31+30+31+15
        (2, 2024, 21, 366),
        (4, 2024, 41, 15),
        (5, 2023, 51, 28),
    ]
    ledger = pd.read_parquet(tmp_path / "out" / "ledger.parquet")
    step = "keep spells with a day in the year window"
    assert _entry(ledger, "positions", step, "open spell starts after the delivery date") == (
        5,
        4,
        1,
    )
    open_reason = "open spell ends on the delivery date (2024-06-15)"
    assert _entry(ledger, "positions", "open spells run to the delivery date", open_reason)[2] == 3
    assert len(pd.read_parquet(tmp_path / "out" / "moves.parquet")) == 0


# --------------------------------------------------------------------------- reproducibility
#: What a clean leaves in its output folder (scratch folders removed).
OUTPUT_FILES = [
    "ledger.parquet",
    "manifest.json",
    "moves.parquet",
    "panel.parquet",
    "persons.parquet",
]


def test_rerun_gives_byte_identical_files(
    main_delivery: Path, cleaned: Path, tmp_path: Path
) -> None:
    clean_delivery(main_delivery, tmp_path, years=(2018, 2021))
    for name in (
        "panel.parquet",
        "persons.parquet",
        "moves.parquet",
        "ledger.parquet",
        "manifest.json",
    ):
        assert filecmp.cmp(cleaned / name, tmp_path / name, shallow=False), name
    assert not (tmp_path / "_staging").exists() and not (tmp_path / "_tmp").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == OUTPUT_FILES


def test_default_years_and_unknown_engine(main_delivery: Path, tmp_path: Path) -> None:
    manifest = clean_delivery(main_delivery, tmp_path)
    assert manifest["years"] == [2010, 2024] and manifest["engine"] == "duckdb"
    assert manifest["delivery"]["checksums"]["method"] == "sha256 of every part file read"
    assert manifest["delivery"]["checksums"]["delivery_manifest"] is None
    panel = pd.read_parquet(tmp_path / "panel.parquet")
    # user 10's 2023 spell is inside the default window
    assert records(panel[panel.user_id == 10], ["year", "position_id", "days_in_year"]) == [
        (2023, 1001, 365)
    ]
    with pytest.raises(ValueError, match="unknown engine"):
        clean_delivery(main_delivery, tmp_path / "x", engine="polars")


def test_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    """A query that fails while DuckDB writes must leave neither the target nor a
    temporary file (DuckDB's own ``tmp_<name>`` included) in the output folder."""
    import duckdb
    import ibis

    from analysis.clean.writer import write_sorted

    con = ibis.duckdb.connect()
    failing = (
        "SELECT i AS k, CASE WHEN i < 300000 THEN i ELSE error('boom') END AS v "
        "FROM range(400000) AS t(i)"
    )
    with pytest.raises(duckdb.Error, match="boom"):
        write_sorted(
            con, failing, tmp_path / "out.parquet", schema={"k": "int64", "v": "int64"}, key=["k"]
        )
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- persons in parts
def test_cleaning_in_parts_gives_the_same_files(
    main_delivery: Path, cleaned: Path, tmp_path: Path
) -> None:
    """Persons cleaned in ranges of user_id and put end to end: the same tables."""
    manifest = clean_delivery(main_delivery, tmp_path, years=(2018, 2021), rows_per_bucket=4)
    assert manifest["persons_parts"] >= 3
    for name in ("panel", "persons", "moves", "ledger"):
        a = pd.read_parquet(cleaned / f"{name}.parquet")
        b = pd.read_parquet(tmp_path / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b, obj=name)
        assert filecmp.cmp(cleaned / f"{name}.parquet", tmp_path / f"{name}.parquet"), name
    assert sorted(p.name for p in tmp_path.iterdir()) == OUTPUT_FILES


def test_parts_out_of_order_are_refused(tmp_path: Path) -> None:
    import ibis

    from analysis.clean.writer import concat_sorted, write_sorted

    con = ibis.duckdb.connect()
    schema, parts = {"user_id": "int64"}, []
    for i, (lo, hi) in enumerate([(200_000, 400_000), (0, 200_000)]):
        parts.append(tmp_path / f"p{i}.parquet")
        query = f"SELECT range AS user_id FROM range({lo}, {hi})"
        write_sorted(con, query, parts[-1], schema=schema, key=["user_id"])
    with pytest.raises(RuntimeError, match="not written in order"):
        concat_sorted(con, parts, tmp_path / "all.parquet", key_column="user_id")
    assert not (tmp_path / "all.parquet").exists()
    concat_sorted(con, parts[::-1], tmp_path / "all.parquet", key_column="user_id")
    assert pd.read_parquet(tmp_path / "all.parquet")["user_id"].tolist() == list(range(400_000))
