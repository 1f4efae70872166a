"""Shared test set-up: make the test helpers (``delivery_factory``) importable, run the
pipeline once per session on a small synthetic world (``pipeline``), and build the
executed reports from it for ``test_report.py`` and ``test_report_browser.py``."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Path:
    """A folder with ``delivery``, ``processed`` and ``estimates`` of one small world
    (seed 3, scale 0.3). Tests must not change it: copy what they break."""
    # Imported here, not at the top: they are slow to import and most tests never ask
    # for the pipeline.
    from analysis.clean import clean_delivery
    from analysis.estimate.stage import run_estimates
    from analysis.sources.synthetic import write_synthetic_delivery

    root = tmp_path_factory.mktemp("pipeline")
    write_synthetic_delivery(root / "delivery", seed=3, scale=0.3)
    clean_delivery(root / "delivery", root / "processed")
    run_estimates(root / "processed", root / "estimates", log=lambda _: None)
    return root


@pytest.fixture(scope="session")
def reports(pipeline):
    from analysis.realdata.stage import run_worldbank
    from analysis.report.run import run_reports
    from analysis.validate import run_validation

    run_validation(pipeline / "estimates", pipeline / "validation")
    run_worldbank(pipeline / "worldbank")  # the workbook where the loader looks, if there
    run_reports(
        pipeline / "estimates",
        pipeline / "processed",
        pipeline / "reports",
        validation_dir=pipeline / "validation",
        worldbank_dir=pipeline / "worldbank",
    )
    return pipeline / "reports"
