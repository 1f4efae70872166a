"""The same delivery cleaned on DuckDB and on Spark (local mode) gives identical files.

Needs Java and the ``spark`` extra. Without them the tests skip with the reason,
unless ``REQUIRE_SPARK=1`` is set (as in ``.ci/run``), in which case they fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from delivery_factory import write_delivery
from test_clean_panel import main_tables

from analysis.clean import KEYS, clean_delivery
from analysis.clean.engine import spark_session, spark_unavailable_reason
from analysis.sources.synthetic import write_synthetic_delivery

pytestmark = pytest.mark.spark

TABLES = ("panel", "persons", "moves", "ledger")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    reason = spark_unavailable_reason()
    if reason:
        if os.environ.get("REQUIRE_SPARK") == "1":
            pytest.fail(f"REQUIRE_SPARK=1 but Spark cannot run: {reason}")
        pytest.skip(f"Spark equality test skipped: {reason}")
    session = spark_session(
        master="local[2]",
        conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _both(delivery: Path, out: Path, spark: object, years: tuple[int, int]) -> tuple[Path, Path]:
    on_duckdb, on_spark = out / "duckdb", out / "spark"
    clean_delivery(delivery, on_duckdb, years=years, allow_empty=True)
    clean_delivery(delivery, on_spark, engine="spark", years=years, spark=spark, allow_empty=True)
    return on_duckdb, on_spark


def _assert_identical(on_duckdb: Path, on_spark: Path) -> None:
    for name in TABLES:
        left = pd.read_parquet(on_duckdb / f"{name}.parquet")
        right = pd.read_parquet(on_spark / f"{name}.parquet")
        left = left.sort_values(KEYS[name]).reset_index(drop=True)
        right = right.sort_values(KEYS[name]).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_exact=True, obj=name)
        left_bytes = (on_duckdb / f"{name}.parquet").read_bytes()
        assert left_bytes == (on_spark / f"{name}.parquet").read_bytes(), f"{name}: bytes differ"
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (on_duckdb, on_spark)]
    assert [m.pop("engine") for m in manifests] == ["duckdb", "spark"]
    for m in manifests:
        m.pop("persons_parts")
    assert manifests[0] == manifests[1]


def test_hand_made_delivery_same_on_both_engines(spark: object, tmp_path: Path) -> None:
    delivery = write_delivery(tmp_path / "delivery", main_tables(), parts=2)
    on_duckdb, on_spark = _both(delivery, tmp_path, spark, (2018, 2021))
    _assert_identical(on_duckdb, on_spark)
    assert len(pd.read_parquet(on_spark / "moves.parquet")) == 5


def test_synthetic_delivery_same_on_both_engines(spark: object, tmp_path: Path) -> None:
    delivery = tmp_path / "synthetic"
    write_synthetic_delivery(delivery, seed=1, scale=0.02)
    on_duckdb, on_spark = _both(delivery, tmp_path, spark, (2010, 2024))
    _assert_identical(on_duckdb, on_spark)
    panel = pd.read_parquet(on_spark / "panel.parquet")
    assert len(panel) > 1000 and panel["moved_country"].sum() > 0


def test_empty_outputs_on_spark(spark: object, tmp_path: Path) -> None:
    """A window with no spell at all: every table written, with zero rows."""
    delivery = write_delivery(tmp_path / "delivery", main_tables())
    on_duckdb, on_spark = _both(delivery, tmp_path, spark, (1990, 1991))
    _assert_identical(on_duckdb, on_spark)
    assert len(pd.read_parquet(on_spark / "panel.parquet")) == 0


def test_spark_in_persons_parts_same_as_duckdb_at_once(spark: object, tmp_path: Path) -> None:
    """Spark cleaning the persons in several user_id ranges: DuckDB's one-part files."""
    delivery = tmp_path / "synthetic"
    write_synthetic_delivery(delivery, seed=2, scale=0.02)
    on_duckdb, on_spark = tmp_path / "duckdb", tmp_path / "spark"
    whole = clean_delivery(delivery, on_duckdb)
    parts = clean_delivery(delivery, on_spark, engine="spark", spark=spark, rows_per_bucket=5000)
    assert whole["persons_parts"] == 1 and parts["persons_parts"] >= 3
    _assert_identical(on_duckdb, on_spark)
