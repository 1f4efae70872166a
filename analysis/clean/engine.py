"""Engines that run the cleaning expressions: DuckDB (default) and Spark (local or cluster).

The cleaning is written once as Ibis expressions (:mod:`analysis.clean.panel`); an
:class:`Engine` gives those expressions their tables and runs them. Two engines exist:

``duckdb``
    Embedded and out of core: the expressions compile to one DuckDB query per output,
    which streams over the staged parquet files and spills to ``temp_directory`` when
    a sort or a window does not fit in ``memory_limit``.
``spark``
    PySpark 4.0 through Ibis' ``pyspark`` backend: a session in this process
    (``local[*]`` or a cluster's master URL) or a Spark Connect client
    (``sc://host:port``, :func:`spark_session`). Spark writes each output as a folder
    of part files; nothing is collected to the driver.

The final outputs take one of two forms:

single files (every engine, the default)
    One DuckDB writer (:func:`analysis.clean.writer.write_sorted`) casts each column to
    the output's canonical type, sorts by the key and streams the result to parquet, so
    the bytes on disk do not depend on the engine. On Spark that writer reads Spark's
    part files (they must be on a filesystem DuckDB can read: local disk, or S3/GCS
    through DuckDB's ``httpfs``); memory stays bounded because DuckDB sorts out of core.
datasets (Spark, :meth:`Engine.write_dataset`)
    Spark itself casts, sorts within partitions and writes each output as a parquet
    dataset partitioned by :data:`DATASET_PARTITIONS` to any path its executors can
    write (``hdfs://``, ``s3a://``, ``abfss://``, a shared folder). No row passes
    through the driver or this process; the rows equal the single files' (the part
    files' names and order are Spark's own, so their bytes are not reproducible).

Examples
--------
>>> from analysis.clean.engine import connect_duckdb
>>> con = connect_duckdb(threads=1, memory_limit="512MB")
>>> con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
1
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ibis
import ibis.expr.types as ir
from ibis.backends.duckdb import Backend as DuckDBBackend

from analysis.clean.writer import write_sorted
from analysis.errors import ArgumentError, SparkUnavailableError

ENGINES: tuple[str, ...] = ("duckdb", "spark")

#: Spark SQL type of each output type name (the keys of
#: :data:`analysis.clean.writer.DUCKDB_TYPES`).
SPARK_TYPES: dict[str, str] = {
    "int64": "bigint",
    "int32": "int",
    "float64": "double",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
}

#: Partition columns of each output written as a Spark dataset: a folder per year for
#: the person-year tables; the persons table (one row per person) is not partitioned.
DATASET_PARTITIONS: dict[str, tuple[str, ...]] = {
    "panel": ("year",),
    "moves": ("year",),
    "persons": (),
}

#: Spark settings used when the pipeline creates its own session.
SPARK_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def connect_duckdb(
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: str | Path | None = None,
) -> DuckDBBackend:
    """An in-memory DuckDB connection through Ibis, with optional resource limits.

    Parameters
    ----------
    memory_limit
        DuckDB ``memory_limit`` (``"4GB"``); beyond it DuckDB spills to ``temp_directory``.
    threads
        Worker threads (DuckDB's default is one per core).
    temp_directory
        Folder for spilled data (created if missing).
    """
    config: dict[str, Any] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = int(threads)
    if temp_directory:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(temp_directory)
    backend = ibis.duckdb.connect(**config)
    backend.raw_sql("SET enable_progress_bar = false")  # notebooks and CI logs stay clean
    return backend


#: Environment variable of a Spark Connect server's URL (pyspark's own name for it).
SPARK_REMOTE_ENV: str = "SPARK_REMOTE"


def spark_unavailable_reason(remote: bool = False) -> str | None:
    """Why Spark cannot run here (``None`` when it can): pyspark missing, Java missing
    (for a session in this process), or the Spark Connect client's packages missing
    (``remote``)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (install the 'spark' extra: uv sync --extra spark)"
    if remote:
        try:
            import grpc  # noqa: F401
            import pyarrow  # noqa: F401
        except ImportError as exc:
            return f"the Spark Connect client needs {exc.name} (the 'spark' extra installs it)"
        return None
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home) / "bin" / "java" if java_home else None
    if not (java and java.exists()) and shutil.which("java") is None:
        return "no Java runtime found (Spark needs Java 17 or newer on PATH or in JAVA_HOME)"
    return None


#: Seconds to wait for a Spark Connect server to accept a connection. The Connect
#: client itself retries an unreachable server with backoff for minutes.
CONNECT_TIMEOUT: float = 30.0

#: Spark Connect's default port.
CONNECT_PORT: int = 15002


def check_reachable(remote: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`SparkUnavailableError` unless the host and port of the Spark
    Connect URL ``remote`` (``sc://host[:port][/;options]``) accept a TCP connection
    within ``timeout`` seconds."""
    parsed = urlsplit(remote)
    host, port = parsed.hostname, parsed.port or CONNECT_PORT
    if not host:
        raise SparkUnavailableError(f"no host in the Spark Connect URL {remote!r}")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise SparkUnavailableError(
            f"no Spark Connect server answers at {host}:{port} ({remote}): {exc.strerror or exc}"
        ) from exc


def spark_session(
    *,
    master: str | None = None,
    remote: str | None = None,
    conf: Mapping[str, str] | None = None,
    app_name: str = "analysis-clean",
) -> Any:
    """A SparkSession: in this process on ``master``, or a client of the Spark Connect
    server at ``remote``.

    Parameters
    ----------
    master
        Where a session in this process runs its jobs: ``local[*]`` (default), a
        cluster's master URL (``spark://host:7077``, ``yarn``, ``k8s://...``).
    remote
        A Spark Connect server, ``sc://host:port`` (default ``$SPARK_REMOTE`` when
        ``master`` is not given). The server owns the cluster; the client needs no Java.
    conf
        Spark settings, passed through. A session in this process starts with
        :data:`SPARK_DEFAULTS` under them; a Connect session is the server's, so only
        the runtime (``spark.sql.*``) defaults and ``conf`` are set on it.

    Returns
    -------
    pyspark.sql.SparkSession
        ``getOrCreate`` semantics: an active session is reused (its static settings,
        such as driver memory, cannot change any more; runtime settings are applied).

    Raises
    ------
    SparkUnavailableError
        Both ``master`` and ``remote`` given, a ``remote`` that is not ``sc://...``,
        pyspark, Java or the Connect client missing, a server that cannot be reached, or
        a setting Spark refuses.

    Examples
    --------
    >>> spark_session(master="local[2]", remote="sc://localhost:15002")
    Traceback (most recent call last):
    ...
    analysis.errors.SparkUnavailableError: give a Spark master or a Spark Connect remote, not both
    """
    if remote is None and master is None:
        remote = os.environ.get(SPARK_REMOTE_ENV) or None
    if master is not None and remote is not None:
        raise SparkUnavailableError("give a Spark master or a Spark Connect remote, not both")
    if remote is not None and not remote.startswith("sc://"):
        raise SparkUnavailableError(
            f"a Spark Connect remote is a URL sc://host:port, got {remote!r}"
        )
    reason = spark_unavailable_reason(remote=remote is not None)
    if reason:
        raise SparkUnavailableError(f"cannot start Spark: {reason}")
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    runtime = {k: v for k, v in SPARK_DEFAULTS.items() if k.startswith("spark.sql.")}
    if remote is not None:
        check_reachable(remote)
        builder, settings = SparkSession.builder.remote(remote), {**runtime, **(conf or {})}
        where = f"the Spark Connect server at {remote}"
    else:
        settings = {**SPARK_DEFAULTS, **(conf or {})}
        builder = SparkSession.builder.master(master or "local[*]").appName(app_name)
        for key, value in settings.items():
            builder = builder.config(key, value)
        where = f"Spark on {master or 'local[*]'}"
    try:
        session = builder.getOrCreate()
        for key, value in settings.items():
            if remote is not None or key.startswith("spark.sql."):
                session.conf.set(key, value)
        session.range(1).count()  # reaches the server or the cluster now, not mid-clean
    except PySparkException as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkUnavailableError(f"cannot use {where}: {message}") from exc
    return session


@dataclass
class Engine:
    """Runs cleaning expressions and writes their results.

    Attributes
    ----------
    name
        ``duckdb`` or ``spark``.
    con
        The Ibis backend the expressions run on.
    writer
        The DuckDB backend that writes final files (the same object as ``con`` on DuckDB).
    work_dir
        Scratch folder for Spark's part files (removed after each write).
    session
        The SparkSession behind ``con`` (``None`` on DuckDB).
    """

    name: str
    con: Any
    writer: DuckDBBackend
    work_dir: Path
    session: Any = None

    def read_parquet(self, path: str | Path) -> ir.Table:
        """A table over one parquet file (or a folder of part files) on this engine."""
        return self.con.read_parquet(str(path))

    def frame(self, expr: ir.Table) -> Any:
        """Run a small query and return a DataFrame (for counts; never the panel)."""
        return self.con.execute(expr)

    def materialize(self, expr: ir.Table, name: str, folder: Path | None = None) -> ir.Table:
        """Compute ``expr`` once into parquet under :attr:`work_dir`; a table over it.

        Splits a long query in two. DuckDB 1.5 runs out of memory at ``memory_limit``
        (rather than spilling) on the whole panel query of 10 million positions, where
        two window steps feed four hash joins and a sort; each half alone spills and
        completes. The files go to ``folder`` (default :attr:`work_dir`), which the
        pipeline removes.
        """
        folder = self.work_dir if folder is None else folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{uuid.uuid4().hex[:8]}"
        if self.name == "duckdb":
            path = path.with_suffix(".parquet")
            self.con.to_parquet(expr, path)
        else:
            self.con.to_parquet(expr, path, mode="overwrite")
        return self.read_parquet(path)

    def write(
        self,
        expr: ir.Table,
        path: Path,
        *,
        schema: Mapping[str, str],
        key: list[str],
        finish: Callable[[ir.Table], ir.Table] | None = None,
    ) -> Path:
        """Write ``expr`` to ``path``: canonical types, sorted by ``key``, atomically.

        ``finish`` is applied by the DuckDB writer on every engine (see
        :func:`analysis.clean.panel.finish_panel` for why).
        """
        if self.name == "duckdb":
            return write_sorted(self.writer, expr, path, schema=schema, key=key, finish=finish)
        parts = self.work_dir / f"{path.stem}-{uuid.uuid4().hex[:8]}"
        try:
            self.con.to_parquet(expr, parts, mode="overwrite")
            files = sorted(parts.glob("*.parquet"))
            if not files:  # pragma: no cover - Spark writes a schema-only part for 0 rows
                raise RuntimeError(f"Spark wrote no part file to {parts}")
            staged = self.writer.read_parquet([str(f) for f in files])
            return write_sorted(self.writer, staged, path, schema=schema, key=key, finish=finish)
        finally:
            shutil.rmtree(parts, ignore_errors=True)

    def write_dataset(
        self,
        expr: ir.Table,
        location: str,
        *,
        schema: Mapping[str, str],
        key: list[str],
        partition_by: tuple[str, ...] = (),
        finish: Callable[[ir.Table], ir.Table] | None = None,
    ) -> str:
        """Have Spark write ``expr`` as a parquet dataset at ``location`` (replaced whole).

        The columns are cast to ``schema`` and each partition's rows sorted by ``key``
        in Spark; the dataset is partitioned by ``partition_by`` (a folder
        ``year=2020/`` per value), one file per partition value. ``finish`` runs in
        Spark here, so its logarithms may differ from the single files' in the last bit
        (see :func:`analysis.clean.panel.finish_panel`).

        Returns
        -------
        str
            ``location``.
        """
        if self.session is None:
            raise ArgumentError("only the spark engine writes datasets")
        table = finish(expr) if finish else expr
        missing = [c for c in schema if c not in table.columns]
        if missing:
            raise KeyError(f"dataset {location} lacks column(s) {missing}")
        frame = self.session.sql(str(self.con.compile(table)))
        frame = frame.select([frame[c].cast(SPARK_TYPES[t]).alias(c) for c, t in schema.items()])
        if partition_by:
            frame = frame.repartition(*partition_by)
        writer = frame.sortWithinPartitions(*key).write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.option("compression", "zstd").parquet(location)
        return location

    def count(self, table: ir.Table) -> int:
        """Rows of ``table``, counted by the engine."""
        return int(self.con.execute(table.count()))


def dataset_location(root: str, name: str) -> str:
    """Where the output ``name`` goes under the dataset root ``root``.

    A root with a URL scheme (``s3a://bucket/run``, ``hdfs://nn/run``, ``file:///x``)
    is passed to Spark as it is; a plain path is a local folder, made absolute so that a
    Spark Connect server started elsewhere writes to the same place.

    Examples
    --------
    >>> dataset_location("s3a://bucket/run/", "panel")
    's3a://bucket/run/panel'
    >>> dataset_location("/data/run", "moves")
    '/data/run/moves'
    """
    if urlsplit(root).scheme:
        return f"{root.rstrip('/')}/{name}"
    return str(Path(root).expanduser().resolve() / name)


def make_engine(
    name: str,
    writer: DuckDBBackend,
    work_dir: Path,
    *,
    spark: Any = None,
) -> Engine:
    """The engine called ``name``; on ``spark``, ``spark`` is the SparkSession to use
    (a local one with :data:`SPARK_DEFAULTS` is started when it is ``None``)."""
    if name == "duckdb":
        return Engine("duckdb", writer, writer, work_dir)
    if name == "spark":
        session = spark if spark is not None else spark_session()
        session.conf.set("spark.sql.session.timeZone", "UTC")
        work_dir.mkdir(parents=True, exist_ok=True)
        return Engine("spark", ibis.pyspark.connect(session), writer, work_dir, session)
    raise ValueError(f"unknown engine {name!r}; choose from {list(ENGINES)}")
