"""Benchmark: generating synthetic deliveries at growing scale (run on demand, not a test).

For each scale, runs ``python -m analysis synth`` in a child process and prints the rows
per table, wall time, peak memory (max RSS of the child) and, as a reference, the ratio
of the generation time to a plain DuckDB copy of the same files (read every part file and
write it back as parquet): how many times more than moving the bytes the simulation costs.

Usage::

    python benchmarks/synth_scale.py --scales 1 10 31 --out /tmp/synth-bench

Scale 1 is the default delivery (about 330,000 positions); scale 31 reaches about 10
million positions. Peak memory should stay flat as the scale grows: the world is
generated and written one chunk of persons at a time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb


def _run_child(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process that prints its own
    ``ru_maxrss`` (KiB) as the last line of its standard error."""
    start = time.perf_counter()
    out = subprocess.run(
        cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wall = time.perf_counter() - start
    return wall, int(out.stderr.strip().splitlines()[-1]) / 1024


def _plain_copy(delivery: Path, scratch: Path) -> float:
    con = duckdb.connect()
    start = time.perf_counter()
    for folder in sorted(p for p in delivery.iterdir() if p.is_dir() and p.name[0] != "_"):
        con.sql(
            f"COPY (SELECT * FROM read_parquet('{folder}/*.parquet')) "
            f"TO '{scratch / folder.name}.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/synth-bench"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"{'scale':>6} {'positions':>12} {'users':>10} {'skills':>12} {'seconds':>9} "
        f"{'peak MiB':>9} {'copy s':>7} {'ratio':>6}"
    )
    for scale in args.scales:
        delivery = args.out / f"scale_{scale:g}"
        # each scale in a fresh child so that ru_maxrss is that run's own peak
        wall, peak = _run_child(
            [
                sys.executable,
                "-c",
                (
                    "import resource, sys; from analysis.cli import main; "
                    f"status = main(['synth', '--out', '{delivery}', '--seed', '{args.seed}', "
                    f"'--scale', '{scale}']); "
                    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
                    "sys.exit(status)"
                ),
            ]
        )
        manifest = json.loads((delivery / "manifest.json").read_text())
        rows = {t: v["rows"] for t, v in manifest["tables"].items()}
        scratch = args.out / f"copy_{scale:g}"
        scratch.mkdir(exist_ok=True)
        copy = _plain_copy(delivery, scratch)
        shutil.rmtree(scratch)
        print(
            f"{scale:>6g} {rows['positions']:>12,} {rows['users']:>10,} {rows['skills']:>12,} "
            f"{wall:>9.1f} {peak:>9.0f} {copy:>7.1f} {wall / copy:>6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
