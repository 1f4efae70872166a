"""The estimate stage is reproducible: the same panel gives byte-identical tables.

DuckDB adds doubles in the order its threads finish, so sums of doubles (and the
regressions built on them) differ from run to run in the last digits; the normal
equations sum in fixed point (:class:`analysis.estimate.normal_equations.FixedPoint`).
"""

from __future__ import annotations

import filecmp

from analysis.estimate.stage import run_estimates


def test_estimates_are_byte_identical_across_runs(pipeline, tmp_path):
    first = pipeline / "estimates"
    for attempt in range(2):
        again = tmp_path / f"again{attempt}"
        run_estimates(pipeline / "processed", again, log=lambda _: None)
        tables = sorted(p.name for p in first.glob("*.csv") if p.name != "validation.csv")
        assert tables == sorted(p.name for p in again.glob("*.csv"))
        differ = [t for t in tables if not filecmp.cmp(first / t, again / t, shallow=False)]
        assert not differ, differ
        assert filecmp.cmp(
            first / "estimates_manifest.json", again / "estimates_manifest.json", shallow=False
        )
