"""The delivery reader: layouts it must accept, errors it must raise, rows it must quarantine.

Every test starts from the small valid delivery of ``delivery_factory`` and
changes one thing, so the expected counts follow from the change itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from delivery_factory import ACADEMIC, STANDARD, clean_tables, write_delivery

from analysis.sources.revelio import (
    DeliveryError,
    KeyIntegrityError,
    MissingColumnError,
    MissingTableError,
    UnreadableFileError,
    read_delivery,
)

KEY_COLUMNS = {
    "users": ["user_id"],
    "positions": ["position_id"],
    "education": ["user_id", "education_number"],
    "skills": ["user_id", "skill_raw"],
}


def _comparable(delivery, table: str) -> pd.DataFrame:
    """Valid rows without lineage, sorted by content, for comparing layouts."""
    frame = delivery.to_pandas(table).drop(columns=["source_file", "source_row"])
    return frame.sort_values(KEY_COLUMNS[table]).reset_index(drop=True)


# --------------------------------------------------------------------------- layouts
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return read_delivery(write_delivery(tmp_path_factory.mktemp("ref")))


@pytest.mark.parametrize(
    ("fmt", "names", "versioned", "parts", "folders"),
    [
        ("csv", STANDARD, False, 1, True),
        ("parquet", ACADEMIC, True, 3, True),
        ("csv", ACADEMIC, True, 2, False),
        ("parquet", STANDARD, False, 2, False),
    ],
    ids=[
        "csv-standard",
        "parquet-academic-versioned-3parts",
        "csv-academic-versioned-toplevel",
        "parquet-toplevel-2parts",
    ],
)
def test_every_layout_reads_to_the_same_tables(
    tmp_path, reference, fmt, names, versioned, parts, folders
):
    delivery = read_delivery(
        write_delivery(
            tmp_path, fmt=fmt, names=names, versioned=versioned, parts=parts, folders=folders
        )
    )
    for table in ("users", "positions", "education", "skills"):
        got, want = _comparable(delivery, table), _comparable(reference, table)
        # CSV carries extra columns as text; compare the contract's columns by value.
        pd.testing.assert_frame_equal(got, want, check_dtype=fmt == "parquet")
        assert len(delivery.files[table].files) == parts
    assert delivery.schema_family == ("versioned" if versioned else "unversioned")
    assert delivery.ledger.removed_total() == 0


def test_types_keys_and_countries(reference):
    positions = reference.to_pandas("positions")
    assert str(positions["user_id"].dtype) == "int64"
    assert str(positions["position_id"].dtype) == "int64"
    # Three spellings of Korea all become KOR, the raw name is kept.
    assert set(positions.loc[positions["user_id"].isin([1, 3, 4]), "country"]) <= {"KOR", "USA"}
    assert set(positions["country_raw"]) >= {
        "South Korea",
        "Republic of Korea",
        "Korea, Republic of",
    }
    assert positions.loc[positions["country_raw"] == "Republic of Korea", "country"].item() == "KOR"
    users = reference.to_pandas("users")
    assert "extra_user_col" in users.columns  # columns outside the contract are carried
    assert reference.delivery_date == pd.Timestamp("2024-12-15").date()
    assert reference.unmapped_countries.empty


def test_views_are_lazy(reference):
    kinds = dict(
        reference.con.sql(
            "SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    )
    assert {"users", "positions", "education", "skills", "quarantine"} <= set(kinds)
    tables = {r[0] for r in reference.con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"country_map"}  # nothing but the country map is materialised


def test_integral_decimal_and_text_identifiers_are_accepted(tmp_path):
    tables = clean_tables()
    tables["users"]["user_id"] = tables["users"]["user_id"].astype("float64")  # 1.0, 2.0, ...
    tables["positions"]["position_id"] = tables["positions"]["position_id"].astype(str) + ".0"
    delivery = read_delivery(write_delivery(tmp_path, tables))
    assert str(delivery.to_pandas("users")["user_id"].dtype) == "int64"
    assert delivery.to_pandas("positions")["position_id"].tolist() == [10, 11, 20, 30, 31, 40]


def test_month_level_dates_from_text(tmp_path):
    tables = clean_tables()
    positions = tables["positions"].astype({"startdate": "object"})
    positions.loc[0, "startdate"] = "2012-01"  # month only
    positions.loc[1, "startdate"] = "2018-03-17"  # a day inside the month
    tables["positions"] = positions
    delivery = read_delivery(write_delivery(tmp_path, tables, fmt="csv"))
    got = delivery.to_pandas("positions").set_index("position_id")["startdate"]
    assert got[10] == pd.Timestamp("2012-01-01")
    assert got[11] == pd.Timestamp("2018-03-01")


# --------------------------------------------------------------------------- fatal errors
def test_missing_folder(tmp_path):
    with pytest.raises(DeliveryError, match="delivery folder not found"):
        read_delivery(tmp_path / "nope")


def test_missing_table(tmp_path):
    tables = clean_tables()
    del tables["skills"]
    with pytest.raises(MissingTableError) as err:
        read_delivery(write_delivery(tmp_path, tables))
    message = str(err.value)
    assert "no file for table 'skills'" in message
    assert "individual_user_skills" in message and "academic_individual_user_skill" in message


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_missing_required_column_names_file_table_and_column(tmp_path, fmt):
    tables = clean_tables()
    tables["positions"] = tables["positions"].drop(columns=["salary"])
    with pytest.raises(MissingColumnError) as err:
        read_delivery(write_delivery(tmp_path, tables, fmt=fmt))
    message = str(err.value)
    assert "required column salary is missing" in message
    assert f"individual_positions_0000_part_00.{fmt}" in message
    assert "table:  positions" in message and "column: salary" in message
    assert err.value.column == "salary" and err.value.table == "positions"


def test_missing_column_in_one_part_only(tmp_path):
    root = write_delivery(tmp_path, parts=2)
    part = root / "individual_positions" / "individual_positions_0001_part_00.parquet"
    pd.read_parquet(part).drop(columns=["startdate"]).to_parquet(part, index=False)
    with pytest.raises(MissingColumnError) as err:
        read_delivery(root)
    assert err.value.files == [str(part)]
    assert "individual_positions_0001_part_00.parquet" in str(err.value)


def test_alias_is_accepted_for_required_column(tmp_path):
    tables = clean_tables()
    tables["positions"] = tables["positions"].rename(columns={"company": "company_cleaned"})
    delivery = read_delivery(write_delivery(tmp_path, tables))
    assert delivery.column_sources["positions"]["company"] == "company_cleaned"
    assert delivery.to_pandas("positions")["company"].notna().sum() == 5


@pytest.mark.parametrize(
    ("table", "column", "bad_value", "fmt"),
    [
        ("users", "user_id", 2.5, "parquet"),
        ("users", "user_id", "abc", "csv"),
        ("positions", "user_id", 1.25, "parquet"),
        ("positions", "position_id", "12x", "csv"),
        ("positions", "rcid", 100.5, "parquet"),
        ("skills", "user_id", "one", "csv"),
    ],
)
def test_non_integral_identifier_is_fatal(tmp_path, table, column, bad_value, fmt):
    tables = clean_tables()
    frame = tables[table].astype({column: "object"})
    frame.loc[1, column] = bad_value
    if fmt == "parquet":
        frame[column] = pd.to_numeric(frame[column])  # a float column, as pandas writes it
    tables[table] = frame
    with pytest.raises(KeyIntegrityError) as err:
        read_delivery(write_delivery(tmp_path, tables, fmt=fmt))
    message = str(err.value)
    assert f"identifier {column} in table '{table}' are not integers" in message
    assert "1 value(s)" in message
    assert str(bad_value) in message  # the example row shows the value
    assert f"_0000_part_00.{fmt}" in message  # and the file it came from
    assert err.value.examples["source_row"].tolist() == [1]


@pytest.mark.parametrize(("table", "key"), [("users", "user_id"), ("positions", "position_id")])
def test_duplicate_key_is_fatal(tmp_path, table, key):
    tables = clean_tables()
    tables[table].loc[2, key] = tables[table].loc[0, key]
    with pytest.raises(KeyIntegrityError) as err:
        read_delivery(write_delivery(tmp_path, tables, parts=2))
    message = str(err.value)
    assert f"key {key} of table '{table}' is not unique: 1 value(s)" in message
    assert "(2 rows)" in message
    assert len(err.value.examples) == 2
    assert set(err.value.examples[key]) == {tables[table].loc[0, key]}


def test_missing_key_is_fatal(tmp_path):
    tables = clean_tables()
    tables["positions"]["position_id"] = tables["positions"]["position_id"].astype("Int64")
    tables["positions"].loc[3, "position_id"] = pd.NA
    with pytest.raises(
        KeyIntegrityError, match="1 row\\(s\\) of table 'positions' have no position_id"
    ):
        read_delivery(write_delivery(tmp_path, tables))


@pytest.mark.parametrize("content", [b"", b"PAR1 this is not a parquet file PAR1"])
def test_unreadable_file_is_named(tmp_path, content):
    root = write_delivery(tmp_path, parts=2)
    broken = root / "individual_user_skills" / "individual_user_skills_0001_part_00.parquet"
    broken.write_bytes(content)
    with pytest.raises(UnreadableFileError) as err:
        read_delivery(root)
    assert str(broken) in str(err.value)
    assert err.value.table == "skills"


def test_table_under_two_names_is_fatal(tmp_path):
    root = write_delivery(tmp_path)
    write_delivery(tmp_path, {"users": clean_tables()["users"]}, names=ACADEMIC)
    with pytest.raises(DeliveryError, match="table 'users' under more than one name"):
        read_delivery(root)


def test_mixed_formats_in_one_table_are_fatal(tmp_path):
    root = write_delivery(tmp_path, parts=2)
    part = root / "individual_user" / "individual_user_0001_part_00.parquet"
    pd.read_parquet(part).to_csv(part.with_suffix(".csv"), index=False)
    part.unlink()
    with pytest.raises(DeliveryError, match="mixes parquet and CSV"):
        read_delivery(root)


# --------------------------------------------------------------------------- quarantine
@pytest.fixture(params=["parquet", "csv"])
def messy(tmp_path, request):
    """The valid delivery plus one bad row per quarantine rule."""
    tables = clean_tables()
    good = tables["positions"].iloc[0]
    bad_rows = [
        # position_id, change, expected primary reason
        (901, {"startdate": "2019-05-01", "enddate": "2019-01-01"}, "enddate before startdate"),
        (902, {"salary": 0.0}, "salary not positive"),
        (903, {"salary": -10.0}, "salary not positive"),
        (904, {"weight": 0.0}, "weight not positive"),
        (905, {"seniority": 9}, "seniority outside 1..7"),
        (906, {"country": "Atlantis"}, "unknown country"),
        (907, {"user_id": 99}, "user_id not in users"),
        (908, {"total_compensation": -1.0}, "total_compensation not positive"),
        # two problems: the first rule in order is the primary reason, both are listed
        (909, {"country": "Narnia", "salary": 0.0}, "unknown country"),
    ]
    rows = []
    for pid, change, _ in bad_rows:
        row = good.copy()
        row["position_id"] = pid
        for col, value in change.items():
            row[col] = pd.Timestamp(value).date() if "date" in col else value
        rows.append(row)
    positions = pd.concat([tables["positions"], pd.DataFrame(rows)], ignore_index=True)
    tables["positions"] = positions.astype(
        {"seniority": "Int64", "user_id": "int64", "position_id": "int64"}
    )
    edu_bad = tables["education"].iloc[[0]].assign(university_country="Middle Earth")
    tables["education"] = pd.concat([tables["education"], edu_bad], ignore_index=True)
    skill_bad = tables["skills"].iloc[[0]].assign(user_id=np.int64(77))
    tables["skills"] = pd.concat([tables["skills"], skill_bad], ignore_index=True)
    users = tables["users"].copy()
    users.loc[3, "user_country"] = "Atlantis"
    users.loc[2, "f_prob"] = 1.5
    tables["users"] = users
    root = write_delivery(tmp_path, tables, fmt=request.param, parts=2)
    return read_delivery(root), bad_rows


def test_quarantine_holds_exactly_the_bad_rows(messy):
    delivery, bad_rows = messy
    quarantine = delivery.quarantine()
    positions_q = quarantine[quarantine["table"] == "positions"].set_index("record_key")
    assert sorted(positions_q.index) == [pid for pid, _, _ in bad_rows]
    for pid, _, reason in bad_rows:
        assert positions_q.loc[pid, "primary_reason"] == reason
    assert positions_q.loc[909, "reasons"] == "unknown country; salary not positive"
    assert positions_q["source_file"].str.startswith("individual_positions/").all()
    # the raw record is kept for audit
    assert '"country":"Narnia"' in positions_q.loc[909, "record"].replace(" ", "")
    assert set(delivery.to_pandas("positions")["position_id"]) == {10, 11, 20, 30, 31, 40}

    other = quarantine[quarantine["table"] != "positions"]
    assert sorted(zip(other["table"], other["primary_reason"], strict=True)) == [
        ("education", "unknown university_country"),
        ("skills", "user_id not in users"),
    ]


def test_ledger_counts_every_row(messy):
    delivery, bad_rows = messy
    ledger = delivery.ledger.to_frame()
    removed = ledger[ledger["action"] == "removed"]
    by_reason = removed[removed["table"] == "positions"].set_index("reason")["rows_affected"]
    expected: dict[str, int] = {}
    for _, _, reason in bad_rows:
        expected[reason] = expected.get(reason, 0) + 1
    assert by_reason.to_dict() == expected
    for table, counts in delivery.row_counts.items():
        assert counts["rows_read"] == counts["rows_kept"] + counts["rows_quarantined"]
        assert counts["rows_quarantined"] == delivery.ledger.removed_total(table)
        assert counts["rows_kept"] == len(delivery.to_pandas(table))
    assert delivery.row_counts["positions"] == {
        "rows_read": 6 + len(bad_rows),
        "rows_quarantined": len(bad_rows),
        "rows_kept": 6,
    }
    assert len(delivery.quarantine()) == sum(
        c["rows_quarantined"] for c in delivery.row_counts.values()
    )


def test_users_are_kept_but_bad_values_set_to_missing(messy):
    delivery, _ = messy
    users = delivery.to_pandas("users").set_index("user_id")
    assert len(users) == 4
    assert pd.isna(users.loc[4, "user_country"]) and users.loc[4, "user_country_raw"] == "Atlantis"
    assert pd.isna(users.loc[3, "f_prob"])
    modified = delivery.ledger.to_frame().query("action == 'modified'")
    assert dict(zip(modified["reason"], modified["rows_affected"], strict=True)) == {
        "f_prob outside [0, 1] set to missing": 1,
        "unknown user_country set to missing": 1,
    }


def test_unmapped_country_names_are_reported_with_counts(messy):
    delivery, _ = messy
    unmapped = delivery.unmapped_countries
    got = {(r.table, r.column, r.name): r.rows for r in unmapped.itertuples(index=False)}
    assert got == {
        ("users", "user_country", "Atlantis"): 1,
        ("positions", "country", "Atlantis"): 1,
        ("positions", "country", "Narnia"): 1,
        ("education", "university_country", "Middle Earth"): 1,
    }


def test_unparseable_and_missing_values_are_quarantined(tmp_path):
    tables = clean_tables()
    positions = tables["positions"].astype({"startdate": "object", "salary": "object"})
    positions.loc[0, "startdate"] = "not a date"
    positions.loc[1, "salary"] = "lots"
    positions.loc[2, "startdate"] = None
    tables["positions"] = positions
    skills = tables["skills"].copy()
    skills.loc[4, "skill_raw"] = ""
    tables["skills"] = skills
    delivery = read_delivery(write_delivery(tmp_path, tables, fmt="csv"))
    q = delivery.quarantine().set_index(["table", "source_row"])["primary_reason"]
    assert q.to_dict() == {
        ("positions", 0): "unparseable startdate",
        ("positions", 1): "unparseable salary",
        ("positions", 2): "missing startdate",
        ("skills", 4): "missing skill_raw",
    }


def test_write_parquet_is_atomic_and_deterministic(messy, tmp_path):
    delivery, _ = messy
    first = delivery.write_parquet(tmp_path / "a")
    second = delivery.write_parquet(tmp_path / "b")
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    assert not list((tmp_path / "a").glob("*.tmp"))
    assert len(pd.read_parquet(first["quarantine"])) == len(delivery.quarantine())


def test_cli_inspect_reports_and_fails_cleanly(tmp_path, capsys):
    from analysis.cli import main

    root = write_delivery(tmp_path / "ok")
    assert main(["inspect", "--delivery", str(root), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "read_ledger.csv").exists()
    tables = clean_tables()
    del tables["users"]
    bad = write_delivery(tmp_path / "bad", tables)
    assert main(["inspect", "--delivery", str(bad)]) == 1
    assert "no file for table 'users'" in capsys.readouterr().err


def test_stage_without_input_exits_non_zero(tmp_path, capsys):
    from analysis.cli import main

    assert main(["estimate", "--panel", str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "manifest.json is missing" in err and "`python -m analysis clean`" in err


def test_fixture_paths_are_relative(reference):
    files = reference.to_pandas("skills")["source_file"]
    assert all(not Path(f).is_absolute() for f in files)
