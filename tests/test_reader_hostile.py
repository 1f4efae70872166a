"""Hostile input: every bad delivery ends in a named error or a counted quarantine.

Each test builds a small valid delivery with ``delivery_factory``, breaks one thing
the way real files break (a corrupt page, a ragged row, a foreign encoding, a time
zone, an absurd value, a file name with glob characters, ...) and checks what the
user sees: a :class:`DeliveryError` naming table, file and column, or rows set aside
with their reason and counted in the ledger, the other rows unchanged.
"""

from __future__ import annotations

import pytest
from delivery_factory import clean_tables, part_path, write_delivery

from analysis.sources.revelio import read_delivery


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
