"""The report: notebooks execute on a small delivery and produce every expected file."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

EXPECTED = [
    "figures/premium_by_country.png",
    "figures/premium_by_country.pdf",
    "figures/premium_korea_by_year.png",
    "figures/premium_korea_by_year.pdf",
    "tables/premium_by_country.csv",
    "tables/premium_by_country.tex",
    "tables/validation.csv",
    "tables/validation.tex",
    "tables/attrition_ledger.csv",
    "tables/attrition_ledger.tex",
    "figures/ai_stocks.png",
    "figures/overseas_share.png",
    "figures/skill_mobility.png",
    "figures/counterfactual.png",
    "figures/counterfactual.pdf",
    "tables/ai_stocks.csv",
    "tables/ai_skill_shares_kor.tex",
    "tables/mobility_regressions.csv",
    "tables/headline.json",
    "chapters/02_wage_premium.json",
    "html/07_methods_and_data.html",
    "report.pdf",
    "report.typ",
    "tables/counterfactual.csv",
    "html/01_workforce.html",
    "html/02_wage_premium.html",
    "html/03_mobility.html",
    "html/04_counterfactuals.html",
    "html/06_validation.html",
    "notebooks/02_wage_premium.ipynb",
    "notebooks/06_validation.ipynb",
    "index.html",
    "tables/premium_by_country_regression.csv",
    "tables/premium_by_country_regression.tex",
    "tables/mobility_regressions.tex",
    "tables/compensation_mobility_regressions.tex",
    "html/05_world_bank.html",
    "notebooks/05_world_bank.ipynb",
    "figures/korea_net_flows.png",
    "tables/korea_ai_flows.csv",
]


@pytest.mark.parametrize("relative", EXPECTED)
def test_expected_file_exists_and_is_not_empty(reports, relative):
    path = reports / relative
    assert path.is_file() and path.stat().st_size > 0, relative


def test_index_links_resolve_and_no_cell_failed(reports):
    index = (reports / "index.html").read_text()
    targets = re.findall(r'(?:href|src)="([^"]+)"', index)
    assert len(targets) >= 10
    for target in targets:
        assert (reports / target).is_file(), target
    for page in (reports / "html").glob("*.html"):
        text = page.read_text()
        assert "Traceback" not in text and "Error" not in text.split("</style>")[-1], page
    assert "Data shown: Synthetic data" in (reports / "html" / "02_wage_premium.html").read_text()


def test_pages_hold_no_absolute_path_of_the_machine(reports):
    """The pages show the notebooks' parameters: the folders are relative to the reports
    folder, so no page names the folder it was built in (nor this checkout); nor does
    an executed notebook, papermill's record of its input and output included."""
    built_in = str(reports.parent)
    checkout = str(Path(__file__).resolve().parents[1])
    pages = sorted((reports / "html").glob("*.html"))
    notebooks = sorted((reports / "notebooks").glob("*.ipynb"))
    assert len(pages) >= 5 and len(notebooks) == len(pages)
    for page in [*pages, *notebooks, reports / "index.html", reports / "report.typ"]:
        text = page.read_text()
        assert built_in not in text and checkout not in text, page
    record = json.loads((reports / "notebooks" / "02_wage_premium.ipynb").read_text())
    assert record["metadata"]["papermill"]["input_path"] == "02_wage_premium.ipynb"
    assert record["metadata"]["papermill"]["output_path"] == "notebooks/02_wage_premium.ipynb"
    assert not [p.name for p in (reports / "notebooks").iterdir() if p.name.startswith(".")]
    executed = (reports / "notebooks" / "01_workforce.ipynb").read_text()
    assert 'estimates_dir = \\"../estimates\\"' in executed  # the injected cell, as JSON


def test_readme_lists_every_report_file(reports):
    """The README's list of tables and figures names every file the report writes."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    listing = readme[readme.index("## List of tables and figures") :]
    missing = [
        path.name
        for folder in ("figures", "tables")
        for path in sorted((reports / folder).iterdir())
        if not re.search(rf"\b{re.escape(path.stem)}\.(\{{|{path.suffix[1:]}\b)", listing)
    ]
    assert not missing, f"README's list of tables and figures lacks {missing}"


def test_every_estimate_table_names_the_function_that_made_it(reports):
    manifest = json.loads((reports.parent / "estimates" / "estimates_manifest.json").read_text())
    assert len(manifest["tables"]) >= 17
    for name, entry in manifest["tables"].items():
        dotted = entry["function"].split()[0].rstrip(",")
        module, _, function = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module), function)), (name, dotted)
        assert (reports.parent / "estimates" / entry["file"]).is_file(), name


def test_a_kernel_that_dies_at_start_is_started_again(tmp_path, monkeypatch):
    """Two pages started at once can race for a port: the kernel that loses dies before
    running a cell, and the page is run again; any other failure propagates."""
    import nbformat as nbf

    from analysis.report import run as report_run

    calls = []

    def flaky(source, output, **kwargs):
        calls.append(output)
        if len(calls) == 1:
            raise RuntimeError(report_run.KERNEL_START_FAILURE)
        nbf.write(nbf.v4.new_notebook(metadata={"papermill": {}}), output)

    monkeypatch.setattr(report_run.pm, "execute_notebook", flaky)
    out = tmp_path / "notebooks" / "page.ipynb"
    report_run._execute(tmp_path / "page.ipynb", out, tmp_path, {}, {})
    assert len(calls) == 2 and out.is_file()
    assert json.loads(out.read_text())["metadata"]["papermill"]["input_path"] == "page.ipynb"

    def broken(source, output, **kwargs):
        raise RuntimeError("a cell failed")

    monkeypatch.setattr(report_run.pm, "execute_notebook", broken)
    with pytest.raises(RuntimeError, match="a cell failed"):
        report_run._execute(tmp_path / "page.ipynb", tmp_path / "other.ipynb", tmp_path, {}, {})
    assert not (tmp_path / "other.ipynb").exists()
