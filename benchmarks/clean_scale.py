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
    python benchmarks/clean_scale.py --with-1e8 --out /big/disk/clean-bench

Sizes map to the synthetic world's scale (scale 1 is about 330,000 positions): 1e6 is
scale 3, 1e7 scale 30, 1e8 scale 300 (only with ``--with-1e8``; extrapolating from
1e7, where the delivery takes 0.3 GB and the outputs 0.4 GB, plan on 15 GB of disk for
the delivery, the staging copy, DuckDB's spill files and the outputs, and about 40
minutes to generate the delivery). Peak memory should stay bounded by the memory limit
plus a fixed overhead as the size grows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SCALES: dict[str, float] = {"1e6": 3.0, "1e7": 30.0, "1e8": 300.0}

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


def run_child(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB and stdout of a child Python process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e6", "1e7"], choices=sorted(SCALES))
    parser.add_argument("--with-1e8", action="store_true", help="also run 1e8 (on disk)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/clean-bench"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sizes = [*args.sizes, *(["1e8"] if args.with_1e8 and "1e8" not in args.sizes else [])]
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in sizes:
        delivery = args.out / f"delivery_{size}"
        n_positions = ensure_delivery(delivery, SCALES[size], args.seed)
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
        wall, peak, output = run_child(
            ["-c", _CLEAN, str(delivery), str(out), args.memory_limit, str(args.threads)]
        )
        counts = json.loads(output.strip().splitlines()[-1])
        rows.append((size, n_positions, counts["panel"], wall, peak, scan))
    print(
        f"\nDuckDB, {args.threads} threads, memory_limit {args.memory_limit}\n"
        f"{'size':>5} {'positions':>12} {'person-yrs':>12} {'clean s':>8} {'peak MiB':>9} "
        f"{'scan s':>7} {'ratio':>7}"
    )
    for size, n, panel, wall, peak, scan in rows:
        print(
            f"{size:>5} {n:>12,} {panel:>12,} {wall:>8.1f} {peak:>9,.0f} {scan:>7.2f} "
            f"{wall / scan:>7.0f}"
        )


if __name__ == "__main__":
    main()
