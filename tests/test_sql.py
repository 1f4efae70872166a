"""The SQL quoting of :mod:`analysis.sql`: any name or value survives DuckDB unchanged."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.sql import identifier, literal, parquet_source

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(name=TEXT, value=TEXT)
def test_names_and_values_come_back_from_duckdb_as_given(name, value):
    con = duckdb.connect()
    result = con.sql(f"SELECT {literal(value)} AS {identifier(name)}")
    assert result.columns == [name]
    assert result.fetchone() == (value,)


def test_parquet_source_reads_a_path_with_quotes(tmp_path):
    folder = tmp_path / 'it\'s "here"'
    folder.mkdir()
    path = folder / "a'b.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS x) TO {literal(path)} (FORMAT parquet)")
    assert duckdb.sql(f"SELECT x FROM {parquet_source(path)}").fetchall() == [(1,)]
    assert duckdb.sql(f"SELECT x FROM {parquet_source([path, path])}").fetchall() == [(1,), (1,)]
