"""Benchmark: the whole pipeline at the Bank of Korea's data size (run on demand, not a test).

Runs ``python -m analysis <stage>`` for every stage of ``all`` (synth, inspect, clean,
estimate, validate, report), each in its own child process so that its peak memory is
its own, at the reference scale (1, the default) and at the scales asked for; prints the
seconds and peak resident memory of every stage and their ratio to the reference run.
The peak is that of the largest single process of a stage (synth's chunk workers and the
report's notebook kernels are processes of their own).

Scale 56 is the BOK's size: 1.1 million workers of Korean origin (19,617 at scale 1),
about 40 million person-years. Targets (issue #12): the whole run within 20 minutes and
8 GB on 2 cores and 24 GiB.

Usage::

    python benchmarks/bok_scale.py --scales 56 --dir /tmp/bok-bench
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

STAGES = ("synth", "inspect", "clean", "estimate", "validate", "report")


def run_stage(stage: str, scale: float, root: Path) -> tuple[float, float]:
    """Seconds and peak resident memory (GiB) of one stage in a child process."""
    env = {
        **os.environ,
        "ANALYSIS_DELIVERY_DIR": str(root / "delivery"),
        "ANALYSIS_PROCESSED_DIR": str(root / "processed"),
        "ANALYSIS_ESTIMATES_DIR": str(root / "estimates"),
        "ANALYSIS_REPORTS_DIR": str(root / "reports"),
    }
    args = {
        "synth": ["--scale", str(scale)],
        "inspect": ["--delivery", str(root / "delivery")],
    }.get(stage, [])
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:]); "
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
        "print(f'{time.perf_counter() - t} {peak}', file=sys.stderr); sys.exit(r.returncode)"
    )
    command = [sys.executable, "-c", code, sys.executable, "-m", "analysis", stage, *args]
    log = root / f"{stage}.log"
    with log.open("w") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
    # validate exits 2 when calibration targets fail: a finding, not a crash
    if done.returncode and not (stage == "validate" and done.returncode == 2):
        raise SystemExit(f"{stage} at scale {scale} failed: see {log}")
    seconds, peak_kib = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(peak_kib) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[56.0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bok-bench"))
    args = parser.parse_args()
    results: dict[float, dict[str, tuple[float, float]]] = {}
    for scale in [1.0, *args.scales]:
        root = args.dir / f"scale-{scale:g}"
        root.mkdir(parents=True, exist_ok=True)
        begin = time.perf_counter()
        results[scale] = {stage: run_stage(stage, scale, root) for stage in STAGES}
        total = time.perf_counter() - begin
        peak = max(p for _, p in results[scale].values())
        results[scale]["all"] = (total, peak)
        print(f"\nscale {scale:g} ({root})")
        print(f"{'stage':<10} {'seconds':>9} {'x scale 1':>10} {'peak GiB':>9} {'x scale 1':>10}")
        for stage, (seconds, peak_gib) in results[scale].items():
            ref_s, ref_p = results[1.0][stage]
            print(
                f"{stage:<10} {seconds:>9.1f} {seconds / ref_s:>10.1f} "
                f"{peak_gib:>9.2f} {peak_gib / ref_p:>10.1f}"
            )


if __name__ == "__main__":
    main()
