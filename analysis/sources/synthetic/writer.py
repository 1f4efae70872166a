"""Write a synthetic delivery: chunk by chunk, in the contract's layout, with a manifest.

``write_synthetic_delivery(out, seed=..., scale=...)`` simulates the world in chunks
of persons (``[world] chunk_persons``), turns each chunk into the four delivery
tables and writes them as one part file per table and chunk
(``individual_positions/individual_positions_0003_part_00.parquet``). Memory holds one
chunk at a time, so the scale is bounded by disk, not RAM.

Besides the delivery the folder gets

- ``manifest.json``: seed, scale, format, parameters checksum, and every file with its
  row count and sha256;
- ``_truth/``: what only the world knows (true stocks and moves of the whole simulated
  population, true person attributes, the malformed rows injected). The reader skips
  folders starting with ``_``; tests use ``_truth`` to check recovery, estimators never.

The same seed, scale and parameters give byte-identical files.

Examples
--------
>>> from analysis.sources.synthetic import write_synthetic_delivery
>>> manifest = write_synthetic_delivery("data/delivery", seed=1, scale=0.05)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from analysis import __version__, config
from analysis.io import sha256_file, write_atomic
from analysis.sources.synthetic.observe import Observer, truth_tables
from analysis.sources.synthetic.params import DEFAULT_PARAMS, Params, load_params
from analysis.sources.synthetic.world import World

TABLE_STEMS = {
    "users": "individual_user",
    "positions": "individual_positions",
    "education": "individual_user_education",
    "skills": "individual_user_skills",
}
#: Column names of the newer (versioned) schema family.
VERSIONED = {
    "positions": {"role_k1500": "role_k1500_v2"},
    "skills": {"skill_mapped": "skill_k35000"},
}
#: First user_id; ids are consecutive over all simulated persons (observed or not).
FIRST_USER_ID = 100_000_001


def _write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, compression="zstd")
    else:
        frame.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")


def _origins(world: World, scale: float, seed: int) -> np.ndarray:
    """Country index of every simulated person, in a seeded random order."""
    persons = world.params.value("world", "persons_per_origin")
    counts = [max(1, round(persons[c] * scale)) for c in world.countries]
    origins = np.repeat(np.arange(world.n_countries), counts)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2**31 - 2]))
    return origins[rng.permutation(len(origins))]


#: Most processes :func:`write_synthetic_delivery` starts by default.
MAX_WORKERS = 4


@dataclass
class _ChunkJob:
    """What every chunk needs: the world, the observer and where to write."""

    world: World
    observer: Observer
    origins: np.ndarray
    chunk_size: int
    seed: int
    schema: str
    fmt: str
    tmp: Path

    def __call__(self, chunk: int) -> tuple[int, dict[str, pd.DataFrame]]:
        """Simulate, observe and write chunk ``chunk``; return its truth tables.

        BLAS runs on one thread: the chunks run side by side on the cores already,
        and BLAS threads on top of them oversubscribe (at scale 8, two processes took
        62 s with OpenBLAS's own threads, 35 s without); one thread also keeps the
        sums in the same order whatever the number of processes."""
        with threadpool_limits(limits=1):
            return self._simulate(chunk)

    def _simulate(self, chunk: int) -> tuple[int, dict[str, pd.DataFrame]]:
        lo = chunk * self.chunk_size
        hi = min((chunk + 1) * self.chunk_size, len(self.origins))
        sim = self.world.simulate_chunk(self.origins[lo:hi], FIRST_USER_ID + lo, chunk)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, chunk, 1]))
        tables, bad = self.observer.observe(sim, rng)
        suffix = "parquet" if self.fmt == "parquet" else "csv"
        for name, frame in tables.items():
            if self.schema == "versioned":
                frame = frame.rename(columns=VERSIONED.get(name, {}))
            stem = TABLE_STEMS[name]
            _write_table(frame, self.tmp / stem / f"{stem}_{chunk:04d}_part_00.{suffix}", self.fmt)
        first, last = config.DEFAULT_YEARS
        truth = truth_tables(
            self.world, sim, self.observer.population_factor, range(first, last + 1)
        )
        observed = sim["persons"][sim["persons"]["user_id"].isin(tables["users"]["user_id"])]
        _write_table(
            observed.reset_index(drop=True),
            self.tmp / "_truth" / "persons" / f"persons_{chunk:04d}.parquet",
            "parquet",
        )
        return chunk, {"stocks": truth["stocks"], "moves": truth["moves"], "malformed": bad}


def _run_chunks(
    job: _ChunkJob, n_chunks: int, workers: int | None
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """Chunks in order, from ``workers`` forked processes (in this process for one)."""
    if workers is None:
        workers = min(MAX_WORKERS, os.cpu_count() or 1)
    workers = max(1, min(workers, n_chunks))
    if workers == 1 or "fork" not in mp.get_all_start_methods():
        yield from map(job, range(n_chunks))
        return
    global _FORKED_JOB
    _FORKED_JOB = job  # forked workers inherit it: the world is not pickled per chunk
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            yield from pool.map(_run_forked_chunk, range(n_chunks))
    finally:
        _FORKED_JOB = None


_FORKED_JOB: _ChunkJob | None = None


def _run_forked_chunk(chunk: int) -> tuple[int, dict[str, pd.DataFrame]]:
    assert _FORKED_JOB is not None
    return _FORKED_JOB(chunk)


def write_synthetic_delivery(
    out: str | Path,
    *,
    seed: int = config.DEFAULT_SEED,
    scale: float = 1.0,
    fmt: Literal["parquet", "csv"] = "parquet",
    schema: Literal["unversioned", "versioned"] = "unversioned",
    params: Params | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> dict:
    """Simulate the world and write a delivery folder; returns the manifest.

    Parameters
    ----------
    out
        Delivery folder (replaced if it exists; written to a temporary folder first).
    seed, scale
        Random seed; scale multiplies the number of simulated persons (1.0 is the
        default size, about 40,000 observed persons and 190,000 positions).
    fmt, schema
        Parquet or CSV part files; unversioned (``role_k1500``, ``skill_mapped``) or
        versioned (``role_k1500_v2``, ``skill_k35000``) column names.
    params
        Parameters (default: the package's ``params.toml``).
    progress
        Print the chunks written to stderr.
    workers
        Processes simulating chunks side by side (default: one per core, at most
        :data:`MAX_WORKERS`). Every chunk has its own random stream and file, so the
        delivery is byte-identical whatever the number of workers.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    params = params or load_params()
    world = World(params, seed)
    observer = Observer(world, scale)
    out = Path(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "_truth" / "persons").mkdir(parents=True)
    for stem in TABLE_STEMS.values():
        (tmp / stem).mkdir()

    origins = _origins(world, scale, seed)
    chunk_size = int(params.value("world", "chunk_persons"))
    n_chunks = max(1, -(-len(origins) // chunk_size))
    stocks, moves, malformed = [], [], []
    job = _ChunkJob(world, observer, origins, chunk_size, seed, schema, fmt, tmp)
    chunks = tqdm(
        _run_chunks(job, n_chunks, workers),
        total=n_chunks,
        desc="synth",
        unit="chunk",
        disable=not progress or None,  # None: shown on a terminal only
    )
    for _chunk, truth in chunks:
        stocks.append(truth["stocks"])
        moves.append(truth["moves"])
        malformed.append(truth["malformed"])

    codes = np.array(world.countries, dtype=object)
    stock = (
        pd.concat(stocks)
        .groupby(["year", "origin", "location", "ai"], as_index=False)["persons"]
        .sum()
    )
    stock["origin"], stock["location"] = codes[stock["origin"]], codes[stock["location"]]
    move = (
        pd.concat(moves)
        .groupby(["year", "origin", "from_country", "to_country", "ai"], as_index=False)["persons"]
        .sum()
    )
    for col in ("origin", "from_country", "to_country"):
        move[col] = codes[move[col].astype(int)]
    _write_table(stock, tmp / "_truth" / "stocks.parquet", "parquet")
    _write_table(move, tmp / "_truth" / "moves.parquet", "parquet")
    bad = pd.concat(malformed, ignore_index=True).sort_values("position_id")
    bad.to_csv(tmp / "_truth" / "malformed.csv", index=False, lineterminator="\n")
    shutil.copyfile(params.path, tmp / "_truth" / "params.toml")

    manifest = _manifest(
        tmp, seed=seed, scale=scale, fmt=fmt, schema=schema, params=params, n_persons=len(origins)
    )
    write_atomic(
        tmp / "manifest.json",
        lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n"),
    )
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return manifest


def _manifest(
    root: Path, *, seed: int, scale: float, fmt: str, schema: str, params: Params, n_persons: int
) -> dict:
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".parquet":
            rows = pq.ParquetFile(path).metadata.num_rows
        elif path.suffix == ".csv":
            with path.open("rb") as handle:
                rows = sum(1 for _ in handle) - 1
        else:
            rows = None
        files.append({"path": rel, "rows": rows, "sha256": sha256_file(path)})
    tables = {}
    for name, stem in TABLE_STEMS.items():
        parts = [f for f in files if f["path"].startswith(stem + "/")]
        tables[name] = {"stem": stem, "files": len(parts), "rows": sum(f["rows"] for f in parts)}
    return {
        "generator": "analysis.sources.synthetic",
        "package_version": __version__,
        "seed": seed,
        "scale": scale,
        "format": fmt,
        "schema": schema,
        "simulated_persons": n_persons,
        "params_file": "params.toml" if params.path == DEFAULT_PARAMS else str(params.path),
        "params_sha256": sha256_file(params.path),
        "tables": tables,
        "files": files,
    }
