"""Hostile input: every bad delivery ends in a named error or a counted quarantine.

Each test builds a small valid delivery with ``delivery_factory``, breaks one thing
the way real files break (a corrupt page, a ragged row, a foreign encoding, a time
zone, an absurd value, a file name with glob characters, ...) and checks what the
user sees: a :class:`DeliveryError` naming table, file and column, or rows set aside
with their reason and counted in the ledger, the other rows unchanged.
"""

from __future__ import annotations

import gzip
import zlib
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from delivery_factory import (
    clean_tables,
    corrupt_parquet_column,
    many_positions,
    part_path,
    write_delivery,
)

from analysis.sources.revelio import (
    DeliveryError,
    EmptyTableError,
    UnreadableFileError,
    read_delivery,
    read_delivery_manifest,
)


def _assert_ledger_adds_up(delivery) -> None:
    for table, counts in delivery.row_counts.items():
        assert counts["rows_read"] == counts["rows_kept"] + counts["rows_quarantined"], table
        assert counts["rows_quarantined"] == delivery.ledger.removed_total(table), table


# --------------------------------------------------------------------------- file names
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("odd", ["[0]", "*", "?"])
@pytest.mark.parametrize("table", ["positions", "skills"])
def test_part_names_with_glob_characters_are_read_once(tmp_path, table, fmt, odd):
    tables = clean_tables()
    root = write_delivery(tmp_path, tables, fmt=fmt)
    written = part_path(root, table, fmt=fmt)
    # Two parts, ``..._part_0`` and ``..._part_[0]``: read as a pattern the second
    # name matches the first file (and ``*`` or ``?`` match both).
    first = written.rename(written.with_name(written.name.replace("_part_00", "_part_0")))
    second = first.with_name(first.name.replace("_part_0", f"_part_{odd}"))
    extra = tables[table].iloc[[0]]
    extra = extra.assign(position_id=99) if table == "positions" else extra
    if fmt == "parquet":
        extra.to_parquet(second, index=False)
    else:
        extra.to_csv(second, index=False)
    delivery = read_delivery(root)
    frame = delivery.to_pandas(table)
    n = len(tables[table])
    assert delivery.row_counts[table] == {
        "rows_read": n + 1,
        "rows_quarantined": 0,
        "rows_kept": n + 1,
    }
    folder = first.parent.name
    assert frame.groupby("source_file").size().to_dict() == {
        f"{folder}/{first.name}": n,
        f"{folder}/{second.name}": 1,
    }
    if table == "positions":
        assert sorted(frame["position_id"]) == [10, 11, 20, 30, 31, 40, 99]
    _assert_ledger_adds_up(delivery)


# --------------------------------------------------------------------------- read errors
def _corrupt_positions_part(tmp_path: Path, column: str) -> tuple[Path, Path]:
    """A two-part delivery whose second positions part has broken ``column`` pages."""
    tables = clean_tables()
    # a quarantined row in the broken part, so that quarantine() reads it too
    bad = tables["positions"].iloc[[5]].assign(position_id=41, seniority=9)
    tables["positions"] = pd.concat([tables["positions"], bad], ignore_index=True)
    root = write_delivery(tmp_path, tables, parts=2)
    broken = part_path(root, "positions", 1)
    corrupt_parquet_column(broken, column)
    return root, broken


def _assert_names_broken_part(err: pytest.ExceptionInfo, broken: Path) -> None:
    message = str(err.value)
    assert "cannot read parquet file individual_positions/" + broken.name in message
    assert "table:  positions" in message and str(broken) in message
    assert err.value.table == "positions" and err.value.files == [str(broken)]


@pytest.mark.parametrize("column", ["salary", "startdate"])
def test_corrupt_page_of_a_validated_column_is_named_when_reading(tmp_path, column):
    root, broken = _corrupt_positions_part(tmp_path, column)
    with pytest.raises(UnreadableFileError) as err:
        read_delivery(root)
    _assert_names_broken_part(err, broken)


@pytest.mark.parametrize("call", ["write_parquet", "to_pandas", "quarantine", "query", "execute"])
def test_corrupt_page_read_only_later_is_named_there(tmp_path, call):
    # ``company`` is not validated: the reader succeeds, the first full read fails.
    root, broken = _corrupt_positions_part(tmp_path, "company")
    delivery = read_delivery(root)
    out = tmp_path / "out"
    run = {
        "write_parquet": lambda: delivery.write_parquet(out),
        "to_pandas": lambda: delivery.to_pandas("positions"),
        "quarantine": delivery.quarantine,
        "query": lambda: delivery.query("SELECT max(company) FROM positions"),
        "execute": lambda: delivery.execute("CREATE TEMP TABLE t AS SELECT * FROM positions"),
    }[call]
    with pytest.raises(UnreadableFileError) as err:
        run()
    _assert_names_broken_part(err, broken)
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("suffix", ["csv", "csv.gz"])
def test_ragged_csv_row_far_into_a_file_is_named(tmp_path, suffix):
    # DuckDB sniffs the first 20,480 rows; a row with one field too many at data row
    # 50,000 fails only when the whole file is read.
    tables = clean_tables()
    tables["positions"] = many_positions(60_000)
    root = write_delivery(tmp_path, tables, fmt="csv")
    path = part_path(root, "positions", fmt="csv")
    lines = path.read_text().splitlines(keepends=True)
    lines[50_001] = lines[50_001].rstrip("\n") + ",extra\n"
    if suffix == "csv.gz":
        path.unlink()
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress("".join(lines).encode()))
    else:
        path.write_text("".join(lines))
    with pytest.raises(UnreadableFileError) as err:
        read_delivery(root)
    message = str(err.value)
    assert f"cannot read csv file individual_positions/{path.name} of table 'positions'" in message
    assert "CSV Error on Line: 50002" in message
    assert "Expected Number of Columns: 15 Found: 16" in message
    assert err.value.files == [str(path)]


# --------------------------------------------------------------------------- CSV files
@pytest.mark.parametrize(("encoding", "city"), [("latin-1", "Bogotá"), ("cp949", "서울")])
def test_csv_not_utf8_says_so_and_names_the_file(tmp_path, encoding, city):
    tables = clean_tables()
    tables["positions"].loc[0, "metro_area"] = city
    root = write_delivery(tmp_path, tables, fmt="csv")
    path = part_path(root, "positions", fmt="csv")
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    with pytest.raises(UnreadableFileError) as err:
        read_delivery(root)
    message = str(err.value)
    assert "file is not UTF-8 encoded" in message
    assert f"individual_positions/{path.name} of table 'positions'" in message
    assert "on line 2 is not UTF-8" in message
    assert err.value.files == [str(path)]


def _gzip_cut_after_line(text: str, n_lines: int) -> bytes:
    """A gzip stream of ``text`` that ends (without its end marker) after ``n_lines``:
    the compressor is flushed there, so every line before the cut inflates cleanly."""
    lines = text.splitlines(keepends=True)
    deflate = zlib.compressobj(wbits=31)
    head = deflate.compress("".join(lines[:n_lines]).encode())
    return head + deflate.flush(zlib.Z_FULL_FLUSH)


@pytest.mark.parametrize("where", ["at a row boundary", "inside a row"])
def test_truncated_csv_gz_is_reported_as_truncated(tmp_path, where):
    tables = clean_tables()
    tables["positions"] = many_positions(1_000)
    root = write_delivery(tmp_path, tables, fmt="csv")
    path = part_path(root, "positions", fmt="csv")
    text = path.read_text()
    path.unlink()
    path = path.with_name(path.name + ".gz")
    cut = _gzip_cut_after_line(text, 600)
    # at a row boundary DuckDB silently reads 599 rows; inside a row it reads a half row
    path.write_bytes(cut if where == "at a row boundary" else cut + zlib.compress(b"7")[2:5])
    with pytest.raises(UnreadableFileError) as err:
        read_delivery(root)
    message = str(err.value)
    assert f"cannot read csv file individual_positions/{path.name} of table 'positions'" in message
    assert "truncated" in message or "not valid gzip" in message
    assert err.value.files == [str(path)]


@pytest.mark.parametrize("suffix", ["csv", "csv.gz"])
def test_ragged_row_near_the_top_is_not_read_as_a_missing_column(tmp_path, suffix):
    root = write_delivery(tmp_path, fmt="csv")
    path = part_path(root, "skills", fmt="csv")
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + ",extra\n"  # line 3 has one field too many
    text = "".join(lines)
    if suffix == "csv.gz":
        path.unlink()
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    with pytest.raises(UnreadableFileError) as err:
        read_delivery(root)
    message = str(err.value)
    assert f"individual_user_skills/{path.name} of table 'skills'" in message
    assert "CSV Error on Line: 3" in message  # the header is line 1
    assert "Original Line: 1,Python,python,R,2012-01-01,extra" in message
    assert "Expected Number of Columns: 5 Found: 6" in message
    assert "missing" not in message


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_empty_users_table_names_the_table(tmp_path, fmt):
    tables = clean_tables()
    tables["users"] = tables["users"].iloc[0:0]  # a header (a schema) and no rows
    root = write_delivery(tmp_path, tables, fmt=fmt)
    with pytest.raises(EmptyTableError) as err:
        read_delivery(root)
    message = str(err.value)
    assert "table 'users' has no rows" in message
    assert str(part_path(root, "users", fmt=fmt)) in message
    assert err.value.table == "users"


# --------------------------------------------------------------------------- numbers
def _with_salary_text(tmp_path: Path, fmt: str, text: str):
    """The valid delivery with spell 20's salary written as ``text`` (a float in parquet)."""
    tables = clean_tables()
    positions = tables["positions"].astype({"salary": "object"})
    positions.loc[2, "salary"] = text if fmt == "csv" else float(text)
    if fmt == "parquet":
        positions["salary"] = positions["salary"].astype("float64")
    tables["positions"] = positions
    return read_delivery(write_delivery(tmp_path / fmt, tables, fmt=fmt))


@pytest.mark.parametrize("text", ["NaN", "nan", "-nan", " NAN "])
def test_nan_text_in_a_csv_float_column_is_missing_like_a_parquet_nan(tmp_path, text):
    from_csv = _with_salary_text(tmp_path, "csv", text)
    from_parquet = _with_salary_text(tmp_path, "parquet", "nan")
    for delivery in (from_csv, from_parquet):
        positions = delivery.to_pandas("positions").set_index("position_id")
        assert len(positions) == 6 and pd.isna(positions.loc[20, "salary"])
        assert positions.loc[20, "total_compensation"] == 190000.0  # the rest is unchanged
        assert delivery.ledger.removed_total() == 0
        _assert_ledger_adds_up(delivery)


@pytest.mark.parametrize("text", ["inf", "-Infinity", "1e400"])
def test_infinite_values_are_unparseable_in_csv_and_parquet_alike(tmp_path, text):
    # (Already consistent before NaN was made missing; kept as a guard.)
    for fmt in ("csv", "parquet"):
        delivery = _with_salary_text(tmp_path, fmt, text)
        quarantine = delivery.quarantine()
        assert quarantine["record_key"].tolist() == [20], fmt
        assert quarantine["primary_reason"].tolist() == ["unparseable salary"], fmt
        assert delivery.row_counts["positions"]["rows_kept"] == 5
        _assert_ledger_adds_up(delivery)


def test_nan_text_in_a_csv_integer_column_is_missing(tmp_path):
    tables = clean_tables()
    positions = tables["positions"].astype({"seniority": "object"})
    positions.loc[1, "seniority"] = "NaN"
    tables["positions"] = positions
    delivery = read_delivery(write_delivery(tmp_path, tables, fmt="csv"))
    got = delivery.to_pandas("positions").set_index("position_id")["seniority"]
    assert len(got) == 6 and pd.isna(got[11]) and got[10] == 2
    assert delivery.ledger.removed_total() == 0


# --------------------------------------------------------------------------- time zones
def _zoned(dates: pd.Series, zone: str) -> pd.Series:
    """Midnight of each date as a time-zone-aware timestamp in ``zone``."""
    return pd.to_datetime(dates).dt.tz_localize(zone)


@pytest.mark.parametrize("zone", ["Asia/Seoul", "Pacific/Auckland", "+09:00"])
def test_zoned_parquet_dates_keep_their_own_calendar_date(tmp_path, zone):
    tables = clean_tables()
    want = tables["positions"][["position_id", "startdate", "enddate"]].copy()
    positions = tables["positions"]
    if zone.startswith("+"):  # a fixed offset, as Arrow writes it
        for col in ("startdate", "enddate"):
            positions[col] = pd.to_datetime(positions[col]).dt.tz_localize("Etc/GMT-9")
        schema = pa.Schema.from_pandas(positions, preserve_index=False)
        for col in ("startdate", "enddate"):
            i = schema.get_field_index(col)
            schema = schema.set(i, pa.field(col, pa.timestamp("ns", tz=zone)))
        root = write_delivery(tmp_path, tables)
        table = pa.Table.from_pandas(positions, schema=schema, preserve_index=False)
        pq.write_table(table, part_path(root, "positions"))
    else:
        for col in ("startdate", "enddate"):
            positions[col] = _zoned(positions[col], zone)
        root = write_delivery(tmp_path, tables)
    got = read_delivery(root).to_pandas("positions")[["position_id", "startdate", "enddate"]]
    for col in ("startdate", "enddate"):
        assert got[col].tolist() == pd.to_datetime(want[col]).tolist(), col


def test_parts_in_different_time_zones_each_keep_their_calendar(tmp_path):
    tables = clean_tables()
    want = pd.to_datetime(tables["positions"]["startdate"]).tolist()
    root = write_delivery(tmp_path, tables, parts=2)
    for i, zone in enumerate(["Asia/Seoul", "America/Los_Angeles"]):
        path = part_path(root, "positions", i)
        part = pd.read_parquet(path)
        part["startdate"] = _zoned(part["startdate"], zone)
        part.to_parquet(path, index=False)
    got = read_delivery(root).to_pandas("positions")["startdate"].tolist()
    assert got == want


def test_zoned_updated_dt_gives_the_delivery_date_as_written(tmp_path):
    tables = clean_tables()
    users = tables["users"]
    users["updated_dt"] = pd.to_datetime(["2024-12-01"] * 4).tz_localize("Asia/Seoul")
    delivery = read_delivery(write_delivery(tmp_path, tables))
    assert delivery.delivery_date == date(2024, 12, 1)  # not 30 November (UTC)
    assert (delivery.to_pandas("users")["updated_dt"] == pd.Timestamp("2024-12-01")).all()


def test_csv_dates_with_an_offset_keep_their_calendar_date(tmp_path):
    # (DuckDB's text cast already keeps the written date; kept as a guard.)
    tables = clean_tables()
    positions = tables["positions"]
    positions["startdate"] = _zoned(positions["startdate"], "Asia/Seoul").map(
        lambda t: t.isoformat()
    )
    delivery = read_delivery(write_delivery(tmp_path, tables, fmt="csv"))
    got = delivery.to_pandas("positions")["startdate"].tolist()
    assert got == pd.to_datetime(clean_tables()["positions"]["startdate"]).tolist()


# --------------------------------------------------------------------------- plausibility
RUN_DATE = date(2025, 6, 30)


def _one_bad_value(tmp_path: Path, table: str, row: int, column: str, value, fmt="parquet"):
    """The valid delivery with one value replaced, read on ``RUN_DATE``."""
    tables = clean_tables()
    frame = tables[table].astype({column: "object"})
    frame.loc[row, column] = value
    if "date" not in column and column != "first_reported":
        frame[column] = frame[column].astype("float64")
    tables[table] = frame
    return read_delivery(write_delivery(tmp_path, tables, fmt=fmt), as_of=RUN_DATE)


def _assert_only_quarantined(delivery, table: str, key, reason: str) -> None:
    quarantine = delivery.quarantine()
    assert len(quarantine) == 1
    got = quarantine.iloc[0]
    assert (got["table"], got["primary_reason"]) == (table, reason)
    if key is not None:
        assert got["record_key"] == key
    counts = delivery.row_counts[table]
    assert counts["rows_quarantined"] == 1
    removed = delivery.ledger.to_frame().query("action == 'removed'")
    assert dict(zip(removed["reason"], removed["rows_affected"], strict=True)) == {reason: 1}
    _assert_ledger_adds_up(delivery)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("salary", 1e20, "salary above plausible maximum 1e7"),
        ("total_compensation", 5e7, "total_compensation above plausible maximum 1e7"),
        ("weight", 1e300, "weight above plausible maximum 1e7"),
    ],
)
def test_implausible_amounts_are_quarantined(tmp_path, column, value, reason):
    delivery = _one_bad_value(tmp_path, "positions", 2, column, value)
    _assert_only_quarantined(delivery, "positions", 20, reason)
    kept = delivery.to_pandas("positions").set_index("position_id")
    want = clean_tables()["positions"].set_index("position_id").drop(index=20)
    assert kept.index.tolist() == want.index.tolist()
    pd.testing.assert_series_equal(kept[column], want[column], check_dtype=False)


def test_amounts_at_the_bound_are_kept(tmp_path):
    delivery = _one_bad_value(tmp_path, "positions", 2, "salary", 1e7)
    assert delivery.ledger.removed_total() == 0
    assert delivery.to_pandas("positions").set_index("position_id").loc[20, "salary"] == 1e7


AFTER = "after the delivery date"


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "reason"),
    [
        ("positions", 0, "startdate", "1900-01-01", "startdate before 1950-01-01"),
        ("positions", 1, "startdate", "2031-01-01", f"startdate more than 12 months {AFTER}"),
        ("positions", 0, "enddate", "9999-12-01", f"enddate more than 60 months {AFTER}"),
        ("education", 1, "startdate", "1801-09-01", "startdate before 1950-01-01"),
        ("education", 2, "enddate", "2099-06-01", f"enddate more than 120 months {AFTER}"),
        ("skills", 0, "first_reported", "2090-01-01", f"first_reported more than 1 month {AFTER}"),
    ],
)
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_implausible_dates_are_quarantined(tmp_path, table, row, column, value, reason, fmt):
    delivery = _one_bad_value(tmp_path, table, row, column, date.fromisoformat(value), fmt)
    key = clean_tables()["positions"].loc[row, "position_id"] if table == "positions" else None
    _assert_only_quarantined(delivery, table, key, reason)
    assert delivery.quarantine().iloc[0]["source_row"] == row
    assert delivery.delivery_date == date(2024, 12, 15)


def test_dates_inside_the_bounds_are_kept(tmp_path):
    # a job accepted for next spring, a contract ending in four years, a 1950 start
    tables = clean_tables()
    positions = tables["positions"]
    positions.loc[0, "startdate"] = date(1950, 1, 1)
    positions.loc[1, "startdate"] = date(2025, 6, 1)
    positions.loc[2, "enddate"] = date(2028, 12, 1)
    delivery = read_delivery(write_delivery(tmp_path, tables), as_of=RUN_DATE)
    assert delivery.ledger.removed_total() == 0


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2099-01-01", "updated_dt after the run date set to missing"),
        ("1970-01-01", "updated_dt before 2003-05-05 set to missing"),
    ],
)
def test_implausible_updated_dt_is_missing_and_not_the_delivery_date(tmp_path, value, reason):
    tables = clean_tables()
    tables["users"].loc[1, "updated_dt"] = date.fromisoformat(value)
    # a spell that ends within 60 months of the true delivery date, not of 2099
    tables["positions"].loc[1, "enddate"] = date(2029, 1, 1)
    delivery = read_delivery(write_delivery(tmp_path, tables), as_of=RUN_DATE)
    assert delivery.delivery_date == date(2024, 12, 15)
    users = delivery.to_pandas("users").set_index("user_id")
    assert len(users) == 4 and pd.isna(users.loc[2, "updated_dt"])
    assert (users.drop(index=2)["updated_dt"] == pd.Timestamp("2024-12-15")).all()
    modified = delivery.ledger.to_frame().query("action == 'modified'")
    assert dict(zip(modified["reason"], modified["rows_affected"], strict=True)) == {reason: 1}
    assert delivery.ledger.removed_total() == 0
    _assert_ledger_adds_up(delivery)


def test_without_plausible_updated_dt_the_latest_plausible_spell_dates_the_delivery(tmp_path):
    tables = clean_tables()
    tables["users"]["updated_dt"] = date(2099, 1, 1)
    tables["positions"].loc[4, "enddate"] = date(2040, 1, 1)  # after the run date
    delivery = read_delivery(write_delivery(tmp_path, tables), as_of=RUN_DATE)
    # the latest spell date up to the run date: spell 31 ends in 2040 here (after the
    # run date, so ignored), the latest other start or end is 2020-02
    assert delivery.delivery_date == date(2020, 2, 1)
    modified = delivery.ledger.to_frame().query("action == 'modified'")
    assert modified["rows_affected"].tolist() == [4]
    q = delivery.quarantine()
    assert q["primary_reason"].tolist() == [f"enddate more than 60 months {AFTER}"]


def test_no_plausible_date_at_all_names_the_tables(tmp_path):
    tables = clean_tables()
    tables["users"]["updated_dt"] = date(2099, 1, 1)
    for col in ("startdate", "enddate"):
        tables["positions"][col] = date(2098, 1, 1)
    root = write_delivery(tmp_path, tables)
    with pytest.raises(DeliveryError) as err:
        read_delivery(root, as_of=RUN_DATE)
    message = str(err.value)
    assert "cannot infer the delivery date" in message
    assert "table 'users'" in message and "table 'positions'" in message
    assert str(part_path(root, "users")) in message


# --------------------------------------------------------------------------- manifest
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is not valid JSON"),
        (b'{"generator": "x",', "is not valid JSON"),
        (b'["a", "list"]', "is not a JSON object (it holds a list)"),
        (b'"\xff\xfe"', "is not valid JSON: it is not UTF-8 text"),
    ],
    ids=["empty", "cut-short", "list", "not-utf8"],
)
def test_bad_manifest_is_named(tmp_path, content, problem):
    root = write_delivery(tmp_path)
    manifest = root / "manifest.json"
    manifest.write_bytes(content)
    with pytest.raises(UnreadableFileError) as err:
        read_delivery(root)
    assert f"delivery manifest {manifest} {problem}" in str(err.value)
    assert err.value.files == [str(manifest)]
    with pytest.raises(UnreadableFileError):
        read_delivery_manifest(root)


def test_good_manifest_is_kept(tmp_path):
    root = write_delivery(tmp_path)
    assert read_delivery(root).manifest is None
    (root / "manifest.json").write_text('{"generator": "hand", "seed": 1}')
    assert read_delivery(root).manifest == {"generator": "hand", "seed": 1}


@pytest.mark.parametrize("session_zone", ["UTC", "America/New_York"])
def test_zoned_part_next_to_a_naive_part_whatever_the_session_zone(tmp_path, session_zone):
    # DuckDB unifies the two parts as TIMESTAMPTZ, turning the naive dates into
    # instants in the session's zone: each part is read back in its own calendar.
    tables = clean_tables()
    want = pd.to_datetime(tables["positions"]["startdate"]).tolist()
    root = write_delivery(tmp_path, tables, parts=2)
    path = part_path(root, "positions", 0)
    part = pd.read_parquet(path)
    part["startdate"] = _zoned(part["startdate"], "Asia/Seoul")
    part.to_parquet(path, index=False)
    con = duckdb.connect()
    con.sql(f"SET TimeZone = '{session_zone}'")
    delivery = read_delivery(root, con=con)
    assert delivery.to_pandas("positions")["startdate"].tolist() == want
