"""Benchmark: cleaning synthetic deliveries of growing size on DuckDB (on demand, not a test).

For each size, writes (or reuses) a synthetic delivery, cleans it in a child process
with DuckDB limited to ``--threads`` threads and ``--memory-limit`` of memory
(spilling to the output folder), and prints the wall time, the child's peak memory
(``ru_maxrss`` from ``wait4``) and the ratio of the cleaning time to a plain DuckDB
scan of the same positions files (``SELECT count(*), sum(salary)``), run under the
same limits.

Usage::

    python benchmarks/clean_scale.py                      # 1e6 and 1e7 positions
    python benchmarks/clean_scale.py --sizes 1e6
    python benchmarks/clean_scale.py --sizes 1e6 1e7 3e7 --replicate
    python benchmarks/clean_scale.py --with-1e8 --replicate --out /big/disk/clean-bench

Sizes map to the synthetic world's scale (scale 1 is about 330,000 positions): 1e6 is
scale 3, 1e7 scale 30, 3e7 scale 90, 1e8 scale 300 (only with ``--with-1e8``). Peak
memory should stay bounded by the memory limit plus a fixed overhead as the size grows;
the table also gives the peak disk taken by each clean's output folder (outputs,
staging copy and DuckDB's spill files), sampled while it runs.

Memory and disk stay bounded because the cleaning works in parts: above 30 million
spell-years the persons are cleaned in ranges of ``user_id`` (nine at 1e8) and the
parts put end to end (:mod:`analysis.clean.buckets`), the windows and sorts see only
the columns they need, and the scratch staging copy is not sorted. Measured with 2
threads and a 2 GB limit on a quiet 2-core machine: 1e7 in 123 s (2.5 GiB peak, 4.5 GiB
folder peak), 1e8 in 1,312 s (2.9 GiB peak, 19.0 GiB folder peak, 4.1 GiB outputs, a
2.35 GiB delivery). Before those changes 1e8 needed more disk than the machine had
(the folder grew 0.75 GiB per million positions) and then ran out of memory in the
main-job window. ``--min-free-gb`` stops a clean before its spill files fill the disk.
A replicated size is checked against the 1e7 clean (``verify_replicated.py``).

The 3e7 and 1e8 deliveries, two ways:

- by default the synthetic world generates them at scale 90 or 300: for 1e8, 60 million
  simulated persons, one chunk after the other on one core, about 100 minutes on a
  2-core machine that is doing other work;
- with ``--replicate`` they are built in a few minutes as 3 or 10 copies of the 1e7
  delivery (which is generated at scale 30 first if missing). Copy ``k`` shifts every
  person identifier so that the copies are disjoint people: ``user_id + k * USER_OFFSET``
  in all four tables and ``position_id + k * USER_OFFSET * POSITION_SLOTS`` (the world's
  ``position_id = user_id * POSITION_SLOTS + n`` stays true); employer ids (``rcid``) and
  every other value are unchanged, so the copies work at the same firms. DuckDB streams
  each part file through ``COPY ... TO`` (one output file per original part and copy,
  named like the generator's parts, chunk number ``k * chunks + chunk``) and a
  ``manifest.json`` lists every file with its rows and sha256 like the generator's,
  plus a ``replicated`` entry naming the base delivery. ``_truth/`` is not copied (the
  reader skips it). The cleaning engine then sees 3 or 10 times the rows, persons,
  spells and quarantined rows of 1e7 with the same distribution: a fair load for time,
  memory and disk; its panel is copies of the 1e7 panel, not a draw from the world at
  scale 90 or 300 (checked on a small delivery: each copy's panel, persons and moves
  equal the base's once the ids are shifted back, and every ledger count is multiplied
  by the copies).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from analysis.sql import literal

SCALES: dict[str, float] = {"1e6": 3.0, "1e7": 30.0, "3e7": 90.0, "1e8": 300.0}
#: ``--replicate``: sizes built as copies of this one (the others are generated).
REPLICATE_BASE = "1e7"
#: ``--replicate``: shift of ``user_id`` between copies. The world numbers persons from
#: 100,000,001 (``FIRST_USER_ID``), 6 million of them at scale 30, so copies never
#: overlap; copy 9 ends near 1.0e9 (``position_id`` near 1.0e11), far inside BIGINT and
#: below 2**53. Checked against the base delivery before writing.
USER_OFFSET = 100_000_000

_CLEAN = """
import json, sys
from analysis.clean import clean_delivery
manifest = clean_delivery(sys.argv[1], sys.argv[2], memory_limit=sys.argv[3],
                          threads=int(sys.argv[4]), progress=True)
print(json.dumps(manifest["rows"]))
"""

_SCAN = """
import sys, time, duckdb
con = duckdb.connect(config={"memory_limit": sys.argv[2], "threads": int(sys.argv[3])})
start = time.perf_counter()
con.sql(f"SELECT count(*), sum(salary) FROM read_parquet('{sys.argv[1]}/**/*.parquet')").fetchall()
print(time.perf_counter() - start)
"""


class DiskFull(RuntimeError):
    """A child stopped because free disk fell under ``--min-free-gb``."""

    def __init__(self, wall: float, peak: float) -> None:
        super().__init__(f"stopped after {wall:.0f} s: free disk under the minimum")
        self.wall, self.peak = wall, peak


def run_child(args: list[str], watch: DiskPeak | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB and stdout of a child Python process.

    With ``watch``, the child is stopped (:class:`DiskFull`) when free disk runs low.
    """
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    if watch is not None:
        watch.pid = proc.pid
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if watch is not None:
        watch.pid = None
        if watch.stopped:
            raise DiskFull(wall, usage.ru_maxrss / 1024)
    if proc.returncode:
        raise RuntimeError(f"child failed ({proc.returncode}): {' '.join(args)[:200]}")
    return wall, usage.ru_maxrss / 1024, output


def ensure_delivery(path: Path, scale: float, seed: int) -> int:
    """Write a synthetic delivery unless one exists; return its number of positions."""
    manifest = path / "manifest.json"
    if not manifest.exists():
        print(f"  writing a synthetic delivery at scale {scale:g} to {path} ...", flush=True)
        cmd = ["-m", "analysis", "synth", "--out", str(path), "--scale", str(scale)]
        wall, peak, _ = run_child([*cmd, "--seed", str(seed)])
        print(f"  ... {wall:.0f} s, peak {peak:,.0f} MiB", flush=True)
    return int(json.loads(manifest.read_text())["tables"]["positions"]["rows"])


def replicate_delivery(base: Path, out: Path, copies: int, memory_limit: str, threads: int) -> dict:
    """Write ``copies`` copies of delivery ``base`` to ``out`` with disjoint person ids.

    See the module docstring (``--replicate``). Each part file is streamed through
    DuckDB (``COPY (SELECT * REPLACE (...) FROM read_parquet(part)) TO ...``) under the
    given memory limit; the folder is written under a temporary name and renamed, with
    a manifest listing every file's rows and sha256. Returns the manifest.
    """
    import duckdb
    import pyarrow.parquet as pq

    from analysis.io import sha256_file
    from analysis.sources.revelio.schema import TABLES
    from analysis.sources.synthetic.world import POSITION_SLOTS
    from analysis.sources.synthetic.writer import TABLE_STEMS

    shifts = {"user_id": USER_OFFSET, "position_id": USER_OFFSET * POSITION_SLOTS}
    # Every identifier of the contract must be shifted or be an employer id.
    id_columns = {c for t in TABLES.values() for c, spec in t.columns.items() if spec.kind == "id"}
    if id_columns != {*shifts, "rcid"}:
        raise RuntimeError(f"contract identifiers changed: {sorted(id_columns)}; update shifts")
    base_manifest = json.loads((base / "manifest.json").read_text())
    if base_manifest.get("format") != "parquet":
        raise RuntimeError(f"--replicate needs a parquet delivery, {base} is not")
    con = duckdb.connect(config={"memory_limit": memory_limit, "threads": threads})
    con.sql("SET enable_progress_bar = false")
    # Copies are disjoint iff every table's user_id range is narrower than the shift.
    parts: dict[str, list[tuple[Path, int]]] = {}
    lo_all, hi_all = None, None
    for stem in TABLE_STEMS.values():
        files = sorted((base / stem).glob("*.parquet"))
        pattern = re.compile(re.escape(stem) + r"_(\d+)(_part_\d+\.parquet)")
        numbered = []
        for f in files:
            match = pattern.fullmatch(f.name)
            if match is None:
                raise RuntimeError(f"unexpected part file name {f}")
            numbered.append((f, int(match.group(1))))
        parts[stem] = numbered
        scan = f"read_parquet({literal(base / stem / '*.parquet')})"
        lo, hi = con.sql(f"SELECT min(user_id), max(user_id) FROM {scan}").fetchone()
        lo_all = lo if lo_all is None else min(lo_all, lo)
        hi_all = hi if hi_all is None else max(hi_all, hi)
    if hi_all - lo_all >= USER_OFFSET:
        raise RuntimeError(f"user_id spans {lo_all}..{hi_all}: wider than {USER_OFFSET:,}")
    if (hi_all + (copies - 1) * USER_OFFSET + 1) * POSITION_SLOTS >= 2**53:
        raise RuntimeError("shifted position_id would exceed 2**53")
    chunks = 1 + max(n for numbered in parts.values() for _, n in numbered)

    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    start = time.perf_counter()
    for k in range(copies):
        for stem, numbered in parts.items():
            (tmp / stem).mkdir(parents=True, exist_ok=True)
            for path, number in numbered:
                columns = {
                    r[0]
                    for r in con.sql(
                        f"DESCRIBE SELECT * FROM read_parquet({literal(path)})"
                    ).fetchall()
                }
                replace = ", ".join(
                    f"CAST({c} + {k * shift} AS BIGINT) AS {c}"
                    for c, shift in shifts.items()
                    if c in columns
                )
                target = (
                    tmp
                    / stem
                    / path.name.replace(
                        f"{stem}_{number:04d}_", f"{stem}_{k * chunks + number:04d}_", 1
                    )
                )
                con.sql(
                    f"COPY (SELECT * REPLACE ({replace}) FROM read_parquet({literal(path)})) "
                    f"TO {literal(target)} (FORMAT parquet, COMPRESSION zstd)"
                )
        print(
            f"  ... copy {k + 1}/{copies} written ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    con.close()

    files = []
    for path in sorted(p for p in tmp.rglob("*.parquet")):
        rows = pq.ParquetFile(path).metadata.num_rows
        files.append(
            {"path": path.relative_to(tmp).as_posix(), "rows": rows, "sha256": sha256_file(path)}
        )
    tables = {}
    for name, stem in TABLE_STEMS.items():
        table_files = [f for f in files if f["path"].startswith(stem + "/")]
        tables[name] = {
            "stem": stem,
            "files": len(table_files),
            "rows": sum(f["rows"] for f in table_files),
        }
    manifest = {
        key: base_manifest[key]
        for key in ("generator", "package_version", "seed", "scale", "format", "schema")
        if key in base_manifest
    }
    manifest.update(
        {
            "simulated_persons": base_manifest.get("simulated_persons", 0) * copies,
            "params_file": base_manifest.get("params_file"),
            "params_sha256": base_manifest.get("params_sha256"),
            "replicated": {
                "why": "benchmark load: the world takes about 100 minutes to generate scale 300",
                "base": base.name,
                "base_manifest_sha256": sha256_file(base / "manifest.json"),
                "copies": copies,
                "user_id_offset": USER_OFFSET,
                "position_id_offset": USER_OFFSET * POSITION_SLOTS,
                "chunk_offset": chunks,
            },
            "tables": tables,
            "files": files,
        }
    )
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return manifest


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (0 if it does not exist; files may vanish)."""
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


class DiskPeak:
    """Samples the size of a folder in a thread; ``peak`` is the largest seen (bytes).

    When free disk falls under ``min_free`` bytes it stops the child ``pid`` (SIGTERM)
    and sets ``stopped``: spill files must not fill the disk others use.
    """

    def __init__(self, path: Path, min_free: float, every: float = 2.0) -> None:
        self.path, self.min_free, self.every, self.peak = path, min_free, every, 0
        self.pid: int | None = None
        self.stopped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, folder_bytes(self.path))
            pid = self.pid
            if (
                pid
                and not self.stopped
                and shutil.disk_usage(self.path.parent).free < self.min_free
            ):
                self.stopped = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            self._stop.wait(self.every)

    def __enter__(self) -> DiskPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, folder_bytes(self.path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e6", "1e7"], choices=sorted(SCALES))
    parser.add_argument("--with-1e8", action="store_true", help="also run 1e8 (on disk)")
    parser.add_argument(
        "--replicate",
        action="store_true",
        help="build the 3e7 and 1e8 deliveries as 3 and 10 copies of the 1e7 one with "
        "disjoint person ids (minutes) instead of generating them at scale 90 and 300 "
        "(about 100 minutes for 1e8)",
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/clean-bench"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--min-free-gb",
        type=float,
        default=10.0,
        help="stop a clean when free disk falls under this (its spill files fill the disk)",
    )
    args = parser.parse_args()
    sizes = [*args.sizes, *(["1e8"] if args.with_1e8 and "1e8" not in args.sizes else [])]
    args.out.mkdir(parents=True, exist_ok=True)
    rows, notes = [], {}
    for size in sizes:
        delivery = args.out / f"delivery_{size}"
        copies = round(SCALES[size] / SCALES[REPLICATE_BASE])
        if args.replicate and copies > 1 and not (delivery / "manifest.json").exists():
            base = args.out / f"delivery_{REPLICATE_BASE}"
            ensure_delivery(base, SCALES[REPLICATE_BASE], args.seed)
            print(
                f"  replicating {base} {copies} times into {delivery} (instead of generating "
                f"scale {SCALES[size]:g}, which takes about {SCALES[size] / 3:.0f} minutes) ...",
                flush=True,
            )
            start = time.perf_counter()
            replicate_delivery(base, delivery, copies, args.memory_limit, args.threads)
            print(f"  ... {time.perf_counter() - start:.0f} s", flush=True)
        n_positions = ensure_delivery(delivery, SCALES[size], args.seed)
        replicated = json.loads((delivery / "manifest.json").read_text()).get("replicated")
        if replicated:
            notes[size] = (
                f"{size}: {replicated['copies']} copies of {replicated['base']} with disjoint "
                f"person ids (same distribution, {replicated['copies']}x the rows), not "
                f"generated at scale {SCALES[size]:g}"
            )
        _, _, scan_out = run_child(
            [
                "-c",
                _SCAN,
                str(delivery / "individual_positions"),
                args.memory_limit,
                str(args.threads),
            ]
        )
        scan = float(scan_out.strip())
        print(f"  cleaning {size} ({n_positions:,} positions) ...", flush=True)
        out = args.out / f"clean_{size}"
        gib = 1024**3
        try:
            with DiskPeak(out, args.min_free_gb * gib) as disk:
                wall, peak, output = run_child(
                    ["-c", _CLEAN, str(delivery), str(out), args.memory_limit, str(args.threads)],
                    watch=disk,
                )
        except DiskFull as stop:
            shutil.rmtree(out, ignore_errors=True)  # the child was killed before its cleanup
            print(
                f"  ... stopped after {stop.wall:.0f} s: free disk under {args.min_free_gb:g} GB "
                f"(clean folder reached {disk.peak / gib:.2f} GiB; peak {stop.peak:,.0f} MiB)",
                flush=True,
            )
            d_in = folder_bytes(delivery) / gib
            rows.append(
                (size, n_positions, None, stop.wall, stop.peak, scan, d_in, disk.peak / gib, 0.0)
            )
            continue
        counts = json.loads(output.strip().splitlines()[-1])
        sizes_gib = (folder_bytes(delivery) / gib, disk.peak / gib, folder_bytes(out) / gib)
        print(
            f"  ... {wall:.0f} s, peak {peak:,.0f} MiB; delivery {sizes_gib[0]:.2f} GiB, "
            f"clean folder peak {sizes_gib[1]:.2f} GiB, outputs {sizes_gib[2]:.2f} GiB",
            flush=True,
        )
        rows.append((size, n_positions, counts["panel"], wall, peak, scan, *sizes_gib))
        base_clean = args.out / f"clean_{REPLICATE_BASE}"
        if replicated and (base_clean / "manifest.json").exists():
            from verify_replicated import verify

            print(f"  checking {out} against {base_clean} ...", flush=True)
            problems = verify(base_clean, out)
            notes[f"{size} check"] = (
                f"{size}: its panel, persons and moves are the {REPLICATE_BASE} clean's, once "
                f"per copy, and its ledger counts the {REPLICATE_BASE} ones times the copies"
                if not problems
                else f"{size}: DIFFERS from the {REPLICATE_BASE} clean: {'; '.join(problems)}"
            )
    print(
        f"\nDuckDB, {args.threads} threads, memory_limit {args.memory_limit}\n"
        f"{'size':>5} {'positions':>12} {'person-yrs':>12} {'clean s':>8} {'peak MiB':>9} "
        f"{'scan s':>7} {'ratio':>7} {'input GiB':>9} {'disk peak GiB':>13} {'output GiB':>10}"
    )
    for size, n, panel, wall, peak, scan, d_in, d_peak, d_out in rows:
        done = panel is not None
        print(
            f"{size:>5} {n:>12,} {f'{panel:,}' if done else 'stopped':>12} {wall:>8.1f} "
            f"{peak:>9,.0f} {scan:>7.2f} {f'{wall / scan:.0f}' if done else '-':>7} "
            f"{d_in:>9.2f} {d_peak:>13.2f} {d_out:>10.2f}"
        )
        if not done:
            print(f"note: {size} was stopped when free disk fell under {args.min_free_gb:g} GB")
    for note in notes.values():
        print(f"note: {note}")


if __name__ == "__main__":
    main()
