"""Runs killed with ``kill -9``: the next stage refuses the folder or finds it whole, and
a rerun gives byte-identical outputs.

``python -m analysis clean`` (on a hand-made delivery) and ``estimate`` (on the
session's small world) run as separate processes; each is killed (SIGKILL: no handler,
no cleanup) right after it announces a given step, at several points from the start
to the last write. Then the next stage must either refuse the folder with a named
error or verify it whole (:mod:`analysis.output_set`), and a rerun into the same
folder must give the bytes of an uninterrupted run.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from delivery_factory import clean_tables, write_delivery
from hostile import run_cli
from output_sets import seal_estimates

from analysis import config
from analysis.errors import StageInputError
from analysis.estimate.stage import STEP_STORE
from analysis.output_set import verify_clean_output, verify_estimates

CLEAN_OUTPUTS = ["panel.parquet", "persons.parquet", "moves.parquet", "ledger.parquet"]


def run_and_kill(argv: list[object], marker: str, occurrence: int = 1) -> bool:
    """Start ``python -m analysis *argv``; SIGKILL it when the ``occurrence``-th line
    of its output containing ``marker`` appears. Returns whether it was killed (False: it
    finished first)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "analysis", *map(str, argv)],
        cwd=config.PACKAGE_DIR.parent,  # where `python -m analysis` imports this package
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = 0
    assert process.stdout is not None
    for line in process.stdout:
        if marker in line:
            seen += 1
            if seen == occurrence:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return True
    return process.wait() == -signal.SIGKILL


def whole_or_refused(verify, folder: Path) -> str:
    try:
        verify(folder)
    except StageInputError:
        return "refused"
    return "whole"


# the steps clean announces, from the first read to the manifest
CLEAN_POINTS = [
    ("read and validate", 1),
    ("build the main job", 1),
    ("build and write panel, persons and moves", 1),
    ("count skills and persons", 1),
    ("write ledger and manifest", 1),
]


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A delivery, its clean output, and the clean output of another delivery."""
    root = tmp_path_factory.mktemp("kill_clean")
    delivery = write_delivery(root / "delivery")
    tables = clean_tables()
    tables["positions"] = tables["positions"].iloc[:-1]  # one spell fewer
    other = write_delivery(root / "other", tables)
    for source, out in ((delivery, "reference"), (other, "earlier")):
        assert run_cli("clean", "--delivery", source, "--out", root / out).status == 0
    return delivery, root / "reference", root / "earlier"


@pytest.mark.parametrize(("marker", "occurrence"), CLEAN_POINTS)
def test_killed_clean_is_refused_or_whole_and_reruns_identically(
    clean_runs, tmp_path, marker, occurrence
):
    delivery, reference, earlier = clean_runs
    # the folder holds a complete earlier run on other data: the killed run must not
    # leave it looking whole with some of its own files mixed in
    out = Path(shutil.copytree(earlier, tmp_path / "processed"))
    killed = run_and_kill(["clean", "--delivery", delivery, "--out", out], marker, occurrence)
    assert killed
    if whole_or_refused(verify_clean_output, out) == "refused":
        run = run_cli("estimate", "--panel", out, "--out", tmp_path / "estimates")
        assert run.status == 1 and run.traceback is None and "clean" in run.err, run.err
    rerun = run_cli("clean", "--delivery", delivery, "--out", out)
    assert rerun.status == 0, rerun.err
    for name in [*CLEAN_OUTPUTS, "manifest.json"]:
        assert filecmp.cmp(reference / name, out / name, shallow=False), name
    assert not [p.name for p in out.iterdir() if p.name.startswith((".", "_"))]


ESTIMATE_POINTS = [
    ("estimate [2/5]", 1),
    ("estimate [5/5]", 2),  # the last step done: the tables are being written
]


@pytest.mark.parametrize(("marker", "occurrence"), ESTIMATE_POINTS)
def test_killed_estimate_is_refused_or_whole_and_reruns_identically(
    pipeline, tmp_path, marker, occurrence
):
    processed = pipeline / "processed"
    # the folder holds a complete earlier run with other numbers in one table
    out = Path(shutil.copytree(pipeline / "estimates", tmp_path / "estimates"))
    shutil.rmtree(out / STEP_STORE)  # computed, not reused: killed while it computes
    stocks = out / "stocks.csv"
    stocks.write_text(stocks.read_text().replace("KOR", "KOR ", 1))
    seal_estimates(out)
    killed = run_and_kill(["estimate", "--panel", processed, "--out", out], marker, occurrence)
    assert killed
    if whole_or_refused(verify_estimates, out) == "refused":
        run = run_cli("validate", "--estimates", out)
        assert run.status == 1 and run.traceback is None and "estimate" in run.err, run.err
    rerun = run_cli("estimate", "--panel", processed, "--out", out)
    assert rerun.status == 0, rerun.err
    reference = pipeline / "estimates"
    tables = json.loads((reference / "estimates_manifest.json").read_text())["tables"]
    for entry in tables.values():
        name = entry["file"]
        assert filecmp.cmp(reference / name, out / name, shallow=False), name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
