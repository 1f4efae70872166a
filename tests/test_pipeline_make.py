"""The pipeline as make runs it: a second run executes nothing, and a changed notebook
re-executes its page and the index only.

The Makefile's pipeline runs here on a small world (seed 3, scale 0.3) in a temporary
folder, with the package's notebooks copied there so that one can be touched without
touching the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def make(root: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    settings = [
        f"DATA={root / 'data'}",
        f"REPORTS={root / 'reports'}",
        f"NOTEBOOKS={root / 'notebooks'}",
        f"WORLDBANK={root / 'no-workbook.xlsx'}",  # its page is a note: quick
        "SEED=3",
        "SCALE=0.3",
        f"RUN={sys.executable}",
    ]
    done = subprocess.run(
        ["make", "--no-print-directory", "-j2", "-C", str(REPO), *targets, *settings],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def modification_times(root: Path) -> dict[str, int]:
    return {
        path.relative_to(root).as_posix(): path.stat().st_mtime_ns
        for folder in ("data", "reports")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("make-pipeline")
    shutil.copytree(REPO / "analysis" / "notebooks", root / "notebooks")
    make(root, "pipeline")
    return root


def test_the_pipeline_builds_every_stage_and_page(built):
    for name in (
        "data/delivery/manifest.json",
        "data/processed/manifest.json",
        "data/estimates/estimates_manifest.json",
        "data/validation/validation_manifest.json",
        "reports/index.html",
    ):
        assert (built / name).is_file(), name
    notebooks = sorted(p.stem for p in (built / "notebooks").glob("*.ipynb"))
    assert sorted(p.stem for p in (built / "reports" / "html").glob("*.html")) == notebooks
    index = (built / "reports" / "index.html").read_text()
    assert all(f"html/{stem}.html" in index for stem in notebooks)
    assert re.search(r'05_world_bank\.html">[^<]*</a> \(not built: input missing', index)
    assert (built / "reports" / "report.pdf").is_file()


def test_a_second_run_executes_nothing(built):
    before = modification_times(built)
    again = make(built, "pipeline")
    assert "Nothing to be done for 'pipeline'" in again.stdout, again.stdout
    assert "python" not in again.stdout  # no recipe ran
    assert modification_times(built) == before


def test_a_touched_notebook_rebuilds_its_page_and_the_index_only(built):
    before = modification_times(built)
    (built / "notebooks" / "06_validation.ipynb").touch()
    make(built, "pipeline")
    after = modification_times(built)
    changed = {name for name in after if after[name] != before.get(name)}
    page = {
        "reports/html/06_validation.html",
        "reports/notebooks/06_validation.ipynb",
        "reports/chapters/06_validation.json",
    }
    whole = {"reports/index.html", "reports/report.pdf", "reports/report.typ"}
    assert page | whole <= changed
    # the page's own tables may be rewritten; nothing of another page or stage is
    others = {n for n in changed if not n.startswith(("reports/tables/", "reports/figures/"))}
    assert others - page == whole, changed
    assert {n for n in changed if n.startswith("reports/tables/")} <= {
        f"reports/tables/{stem}.{ext}"
        for stem in ("validation", "attrition_ledger", "headline")
        for ext in ("csv", "tex", "json")
    }
