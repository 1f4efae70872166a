"""Shared test set-up: make the test helpers (``delivery_factory``) importable, and build
the executed reports once per session for ``test_report.py`` and ``test_report_browser.py``."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def reports(tmp_path_factory):
    # Imported here, not at the top: they are slow to import and most tests never ask
    # for the reports.
    from analysis.clean import clean_delivery
    from analysis.estimate.stage import run_estimates
    from analysis.report.run import run_reports
    from analysis.sources.synthetic import write_synthetic_delivery

    root = tmp_path_factory.mktemp("report")
    write_synthetic_delivery(root / "delivery", seed=3, scale=0.3)
    clean_delivery(root / "delivery", root / "processed")
    run_estimates(root / "processed", root / "estimates", log=lambda _: None)
    run_reports(root / "estimates", root / "processed", root / "reports")
    return root / "reports"
