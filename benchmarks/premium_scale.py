"""Benchmark: the premium regression at growing scale (run on demand, not a test).

Times the AI-premium regression with two high-dimensional fixed effects (firm, rows/50
levels, and 105 occupation-year cells), clustered by firm, at 1e5, 1e6 and 1e7
person-years for pyfixest (what :func:`analysis.estimate.premium.estimate_premium` uses)
and linearmodels' AbsorbingLS (reference); then the coarse specification the compressed
estimator is for (1,000 employer groups and the 105 cells, clustered by group) with
pyfixest and with :func:`analysis.estimate.compressed.compressed_feols` (DuckDB
sufficient statistics over the parquet file), and the compressed estimator alone at 1e8
rows on disk. Ratios are to the first row of each size. Compression cannot help the
firm specification: its cells are about as many as its rows. Prints seconds and peak
memory of each child process (MiB); every run is a fresh child process so that peak
memory is its own.

Usage::

    python benchmarks/premium_scale.py --sizes 1e5 1e6 1e7 --big 1e8 --dir /tmp/premium-bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time, resource
import numpy as np, pandas as pd
method, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if method == "compressed":
    # the compressed path needs coarse cells: occupation-year cells and 1,000 employer
    # groups (clustered by group), the shape of the BOK's specification
    from analysis.estimate.compressed import compressed_feols
    res = compressed_feols(path, "y", "ai", fixed_effects=["grp", "cell"], weights="w",
                           vcov={"CRV1": "grp"})
    est, se = res.params["ai"], res.std_errors["ai"]
elif method == "pyfixest-coarse":
    from analysis.estimate.premium import estimate_premium
    df = pd.read_parquet(path)
    res = estimate_premium(df, outcome="y", treatment="ai", fixed_effects=["grp", "cell"],
                           weights="w", vcov={"CRV1": "grp"})
    est, se = res.params["ai"], res.std_errors["ai"]
else:
    df = pd.read_parquet(path)
    if method == "pyfixest":
        from analysis.estimate.premium import estimate_premium
        res = estimate_premium(df, outcome="y", treatment="ai", fixed_effects=["firm", "cell"],
                               weights="w", vcov={"CRV1": "firm"})
        est, se = res.params["ai"], res.std_errors["ai"]
    else:
        from linearmodels.iv.absorbing import AbsorbingLS
        cats = df[["firm", "cell"]].astype("category")
        res = AbsorbingLS(df["y"], df[["ai"]].astype(float), absorb=cats, weights=df["w"]).fit(
            cov_type="clustered", clusters=df["firm"], debiased=True)
        est, se = res.params["ai"], res.std_errors["ai"]
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "estimate": float(est), "std_error": float(se),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_data(path: Path, rows: int) -> None:
    """Synthetic person-years with firm and occupation-year effects, written by DuckDB."""
    import duckdb

    if path.exists():
        return
    con = duckdb.connect()
    con.sql("SET preserve_insertion_order = false")
    con.sql(f"""
        COPY (
          SELECT (hash(i * 7 + 1) % 2)::INTEGER AS ai,
                 (hash(i * 7 + 2) % {max(rows // 50, 10)})::BIGINT AS firm,
                 (hash(i * 7 + 3) % 105)::INTEGER AS cell,
                 (hash(i * 7 + 2) % {max(rows // 50, 10)} % 1000)::INTEGER AS grp,
                 0.5 + (hash(i * 7 + 4) % 1000) / 1000.0 AS w,
                 0.06 * (hash(i * 7 + 1) % 2) + 0.001 * (hash(i * 7 + 2) % 97)
                   + 0.01 * (hash(i * 7 + 3) % 105)
                   + ((hash(i * 7 + 5) % 10000) / 10000.0 - 0.5) AS y
          FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)""")


def run(method: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, method, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6])
    parser.add_argument("--big", type=float, default=None, help="rows for the compressed-only run")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/premium-bench"))
    parser.add_argument("--skip-linearmodels-above", type=float, default=1e7)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print(
        f"{'rows':>12} {'method':>14} {'seconds':>9} {'peak MiB':>9} {'ratio':>7} "
        f"{'estimate':>10} {'std_error':>10}"
    )
    for size in args.sizes:
        path = args.dir / f"panel_{int(size)}.parquet"
        make_data(path, int(size))
        base = None
        for method in ("pyfixest", "linearmodels", "pyfixest-coarse", "compressed"):
            if method == "linearmodels" and size > args.skip_linearmodels_above:
                continue
            r = run(method, path)
            base = base or r["seconds"]
            print(
                f"{int(size):>12,} {method:>14} {r['seconds']:>9.2f} {r['peak_mib']:>9.0f} "
                f"{r['seconds'] / base:>7.2f} {r['estimate']:>10.6f} {r['std_error']:>10.6f}",
                flush=True,
            )
    if args.big:
        path = args.dir / f"panel_{int(args.big)}.parquet"
        make_data(path, int(args.big))
        r = run("compressed", path)
        print(
            f"{int(args.big):>12,} {'compressed':>14} {r['seconds']:>9.2f} {r['peak_mib']:>9.0f} "
            f"{'':>7} {r['estimate']:>10.6f} {r['std_error']:>10.6f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
