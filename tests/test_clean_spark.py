"""The same delivery cleaned on DuckDB and on Spark (local mode, and a Spark Connect
server started here) gives identical files; written by Spark as partitioned datasets,
it gives the same rows.

Needs Java and the ``spark`` extra. Without them the tests skip with the reason,
unless ``REQUIRE_SPARK=1`` is set (as in ``.ci/run``), in which case they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from delivery_factory import write_delivery
from hostile import assert_user_error, run_cli
from spark_connect import connect_server, free_port
from test_clean_panel import main_tables

from analysis.clean import KEYS, clean_delivery
from analysis.clean.engine import DATASET_PARTITIONS, spark_session, spark_unavailable_reason
from analysis.errors import StageInputError
from analysis.estimate.stage import run_estimates
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


def _read_dataset(location: Path, partition_by: list[str]) -> pd.DataFrame:
    hive = ds.partitioning(flavor="hive") if partition_by else None
    return ds.dataset(location, format="parquet", partitioning=hive).to_table().to_pandas()


def _assert_same_content(on_duckdb: Path, on_spark: Path, root: Path) -> None:
    """Spark's datasets under ``root`` hold the rows of DuckDB's files, to the last bit
    but in the logarithms Spark takes itself (Java's ``StrictMath.log``: one unit in the
    last place at most); the ledger, written here, is the same file."""
    manifest = json.loads((on_spark / "manifest.json").read_text())
    reference = json.loads((on_duckdb / "manifest.json").read_text())
    assert sorted(manifest["datasets"]) == ["moves", "panel", "persons"]
    assert sorted(manifest["outputs"]) == ["ledger.parquet"]
    assert manifest["rows"] == reference["rows"]
    assert not (on_spark / "panel.parquet").exists()
    for name, entry in manifest["datasets"].items():
        location = Path(entry["location"])
        assert location == root.resolve() / name and entry["format"] == "parquet"
        assert entry["partition_by"] == list(DATASET_PARTITIONS[name])
        left = pd.read_parquet(on_duckdb / f"{name}.parquet")
        right = _read_dataset(location, entry["partition_by"])
        for column in entry["partition_by"]:  # a folder year=2020 per value
            folders = {p.name for p in location.iterdir() if p.is_dir()}
            assert folders == {f"{column}={v}" for v in left[column].unique()}
        right = right[list(left.columns)].astype(left.dtypes.to_dict())
        left = left.sort_values(KEYS[name]).reset_index(drop=True)
        right = right.sort_values(KEYS[name]).reset_index(drop=True)
        logs = [c for c in left.columns if c.startswith("log_")]
        pd.testing.assert_frame_equal(left.drop(columns=logs), right.drop(columns=logs),
                                      check_exact=True, obj=name)  # fmt: skip
        for column in logs:
            ulps = np.abs(left[column] - right[column]) / np.spacing(np.abs(left[column]))
            assert left[column].isna().equals(right[column].isna())
            assert np.nanmax(ulps, initial=0.0) <= 1, f"{name}.{column}: {np.nanmax(ulps)} ulp"
        assert entry["rows"] == len(left)
    ledger = (on_spark / "ledger.parquet").read_bytes()
    assert ledger == (on_duckdb / "ledger.parquet").read_bytes()


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


def test_spark_datasets_hold_duckdb_rows(spark: object, tmp_path: Path) -> None:
    """``dataset_root``: Spark writes the outputs as datasets partitioned by year; the
    estimate stage then names them instead of failing on a missing file."""
    delivery = tmp_path / "synthetic"
    write_synthetic_delivery(delivery, seed=1, scale=0.02)
    on_duckdb, on_spark, root = tmp_path / "duckdb", tmp_path / "spark", tmp_path / "lake"
    clean_delivery(delivery, on_duckdb)
    clean_delivery(delivery, on_spark, engine="spark", spark=spark, dataset_root=str(root))
    _assert_same_content(on_duckdb, on_spark, root)
    with pytest.raises(StageInputError, match=r"Spark dataset at .*lake/panel"):
        run_estimates(on_spark, tmp_path / "estimates")


@pytest.fixture(scope="module")
def connect_remote(tmp_path_factory) -> Iterator[str]:
    """A Spark Connect server started here, as a cluster would run one."""
    reason = spark_unavailable_reason()
    if reason:
        if os.environ.get("REQUIRE_SPARK") == "1":
            pytest.fail(f"REQUIRE_SPARK=1 but Spark cannot run: {reason}")
        pytest.skip(f"Spark Connect test skipped: {reason}")
    with connect_server(tmp_path_factory.mktemp("connect") / "server.log") as remote:
        yield remote


def _clean_through_connect(
    remote: str, tmp_path: Path, seed: int, *options: str
) -> tuple[Path, Path, str]:
    """A synthetic delivery cleaned on DuckDB here and by ``clean --engine spark
    --spark-remote`` in its own process (a Connect client cannot share one with a local
    session), run from ``tmp_path``; the two output folders and the command's stdout."""
    delivery = tmp_path / "synthetic"
    write_synthetic_delivery(delivery, seed=seed, scale=0.02)
    on_duckdb, on_connect = tmp_path / "duckdb", tmp_path / "connect"
    clean_delivery(delivery, on_duckdb)
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "clean", "--engine", "spark",
         "--spark-remote", remote, *options, "--delivery", str(delivery),
         "--out", str(on_connect)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "SPARK_REMOTE": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return on_duckdb, on_connect, done.stdout


def test_clean_through_spark_connect_equals_duckdb(connect_remote: str, tmp_path: Path) -> None:
    """``clean --engine spark --spark-remote sc://...`` as a user runs it, against DuckDB."""
    on_duckdb, on_connect, _ = _clean_through_connect(
        connect_remote, tmp_path, 1, "--spark-conf", "spark.sql.shuffle.partitions=3"
    )
    _assert_identical(on_duckdb, on_connect)
    assert len(pd.read_parquet(on_connect / "panel.parquet")) > 1000


def test_spark_connect_writes_datasets(connect_remote: str, tmp_path: Path) -> None:
    """``clean --spark-remote sc://... --dataset-root PATH``: the server's executors
    write the datasets (a relative PATH is made absolute for them)."""
    on_duckdb, on_connect, stdout = _clean_through_connect(
        connect_remote, tmp_path, 3, "--dataset-root", "lake"
    )
    assert "panel: Spark dataset at" in stdout
    _assert_same_content(on_duckdb, on_connect, tmp_path / "lake")


def test_unreachable_connect_server_is_a_clear_error(tmp_path: Path) -> None:
    if spark_unavailable_reason(remote=True):
        pytest.skip("the Spark Connect client is not installed")
    run = run_cli("clean", "--engine", "spark", "--spark-remote", f"sc://localhost:{free_port()}",
                  "--delivery", tmp_path, "--out", tmp_path / "out")  # fmt: skip
    assert_user_error(run, "no Spark Connect server answers at localhost")
    for argv in (["--spark-master", "local[1]", "--spark-remote", "sc://localhost:1"],
                 ["--spark-remote", "http://localhost:1"]):  # fmt: skip
        run = run_cli("clean", "--engine", "spark", *argv, "--delivery", tmp_path,
                      "--out", tmp_path / "out")  # fmt: skip
        assert_user_error(run, "Spark")
    run = run_cli("clean", "--spark-conf", "a=b", "--delivery", tmp_path, "--out", tmp_path / "o")
    assert_user_error(run, "need --engine spark")
    run = run_cli("clean", "--dataset-root", tmp_path / "lake", "--delivery", tmp_path,
                  "--out", tmp_path / "o")  # fmt: skip
    assert_user_error(run, "written by the spark engine only")
