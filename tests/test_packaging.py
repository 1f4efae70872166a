"""The wheel works when pip-installed outside the repository.

The wheel is built once per session (``uv build``: the sdist, then the wheel from it)
and unpacked into a temporary ``site-packages``, which is what pip does with it; the
package is then run from there with ``PYTHONPATH``, from an empty project folder, so
that the checkout is not what is imported. ``make wheel-test`` goes further: fresh
Python 3.12 and 3.13 environments with the wheel installed by uv from PyPI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from hostile import assert_user_error, run_cli
from packaging.specifiers import SpecifierSet

from analysis import config
from analysis.clean.lookups import PPP_CSV
from analysis.report.run import NOTEBOOKS_DIR
from analysis.sources.countries import ALIASES_CSV
from analysis.sources.population import POPULATION_CSV
from analysis.sources.synthetic.params import DEFAULT_PARAMS
from analysis.sources.taxonomy import TAXONOMY_CSV

REPO = Path(__file__).resolve().parents[1]

#: Every file the package reads at run time, by the constant that names it.
READ_AT_RUN_TIME: list[Path] = [
    PPP_CSV,
    POPULATION_CSV,
    TAXONOMY_CSV,
    config.PUBLISHED_FIGURES_CSV,
    ALIASES_CSV,
    DEFAULT_PARAMS,
    *sorted(NOTEBOOKS_DIR.glob("*.ipynb")),
]

#: Prints, as JSON, where the imported package finds its data and puts its outputs (the
#: notebooks are where analysis.report.run looks: test_notebooks_are_package_data).
WHERE = """
import json
import analysis
from analysis import config
from analysis.sources.published import load_published_figures
from analysis.sources.synthetic import load_params

load_params(), load_published_figures()  # the package data can be read
print(json.dumps({
    "package": analysis.__file__,
    "source_root": None if config.SOURCE_ROOT is None else str(config.SOURCE_ROOT),
    "project": str(config.PROJECT_DIR),
    "outputs": [str(p) for p in (config.DATA_DELIVERY, config.DATA_PROCESSED,
                                 config.DATA_ESTIMATES, config.DATA_VALIDATION,
                                 config.REPORTS)],
    "shared": str(config.SHARED_DIR),
    "notebooks": len(list((config.PACKAGE_DIR / "notebooks").glob("*.ipynb"))),
}))
"""


def find_uv() -> str | None:
    """The uv that ``make setup`` installs, else one on the ``PATH``."""
    local = REPO / ".tools" / "bin" / "uv"
    return str(local) if local.is_file() else shutil.which("uv")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from the sdist of this checkout."""
    uv = find_uv()
    if uv is None:
        message = "uv not found: run `make setup` (it installs uv into .tools/)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--quiet", "--out-dir", str(out), "--python", sys.executable],
        cwd=REPO,
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def site(wheel, tmp_path_factory) -> Path:
    """A ``site-packages`` folder holding the unpacked wheel (the package, nothing else)."""
    folder = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


def run_installed(
    site: Path, cwd: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python *args`` with the unpacked wheel first on ``sys.path``, from ``cwd``, with
    no ``ANALYSIS_*_DIR`` folder override but those in ``env``."""
    environ = {k: v for k, v in os.environ.items() if not re.fullmatch(r"ANALYSIS_\w+_DIR", k)}
    environ |= {"PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environ, text=True, capture_output=True
    )


def files_under(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` with its modification time."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_wheel_holds_every_file_the_package_reads(wheel):
    """The reference tables, params.toml, the aliases and the notebooks are in the wheel,
    and so is every other non-Python file of the package that git tracks."""
    names = set(zipfile.ZipFile(wheel).namelist())
    package_root = config.PACKAGE_DIR.parent
    needed = {p.relative_to(package_root).as_posix() for p in READ_AT_RUN_TIME}
    assert len(needed) == 13, sorted(needed)  # 4 tables, aliases, params, 7 notebooks
    assert needed <= names, sorted(needed - names)
    if (REPO / ".git").exists():
        tracked = subprocess.run(
            ["git", "ls-files", "analysis"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
        data = {name for name in tracked if not name.endswith(".py")}
        assert data <= names, sorted(data - names)


def test_notebooks_are_package_data():
    """The report runs the notebooks from the package folder, installed or not."""
    assert NOTEBOOKS_DIR == config.PACKAGE_DIR / "notebooks"


def test_wheel_installs_on_python_311_to_313(wheel):
    """Requires-Python admits 3.11, 3.12 and 3.13 (``make wheel-test`` runs the last two)."""
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = HeaderParser().parsestr(archive.read(meta).decode())["Requires-Python"]
    assert requires is not None
    for version in ("3.11", "3.12", "3.13"):
        assert version in SpecifierSet(requires), (version, requires)


def test_installed_package_writes_under_the_working_directory(site, tmp_path):
    """Installed, the package reads its data from site-packages and puts every output
    under the working directory, none in site-packages."""
    project = tmp_path / "study"
    project.mkdir()
    done = run_installed(site, project, "-c", WHERE)
    assert done.returncode == 0, done.stderr
    where = json.loads(done.stdout)
    assert Path(where["package"]).parent == site / "analysis"  # not the checkout
    assert where["source_root"] is None
    assert where["project"] == str(project)
    assert where["outputs"] == [
        str(project / "data" / "delivery"),
        str(project / "data" / "processed"),
        str(project / "data" / "estimates"),
        str(project / "data" / "validation"),
        str(project / "reports"),
    ]
    assert where["shared"] == str(tmp_path / "shared")
    assert where["notebooks"] == 7


def test_installed_package_follows_the_project_variable(site, tmp_path):
    """``$ANALYSIS_PROJECT_DIR`` moves the outputs; ``ANALYSIS_*_DIR`` still win."""
    chosen, estimates = tmp_path / "elsewhere", tmp_path / "tables"
    done = run_installed(
        site,
        tmp_path,
        "-c",
        WHERE,
        ANALYSIS_PROJECT_DIR=str(chosen),
        ANALYSIS_ESTIMATES_DIR=str(estimates),
    )
    assert done.returncode == 0, done.stderr
    where = json.loads(done.stdout)
    assert where["project"] == str(chosen)
    assert where["outputs"][0] == str(chosen / "data" / "delivery")
    assert where["outputs"][2] == str(estimates)


def test_installed_command_line_writes_in_the_project_folder(site, tmp_path):
    """``python -m analysis synth`` from an installed package writes into the working
    directory; site-packages is left unchanged."""
    project = tmp_path / "study"
    project.mkdir()
    before = files_under(site)
    done = run_installed(site, project, "-m", "analysis", "synth", "--scale", "0.02")
    assert done.returncode == 0, done.stderr
    assert (project / "data" / "delivery" / "manifest.json").is_file()
    assert files_under(site) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["synth", "--scale", "0.02", "--out", "{site}/out"],
        ["calibrate", "--max-iterations", "1"],  # would rewrite the installed params.toml
    ],
    ids=["synth-out", "calibrate"],
)
def test_installed_package_refuses_to_write_into_site_packages(site, tmp_path, argv):
    """An output folder in site-packages, or a rewrite of the installed ``params.toml``,
    is a user error (exit 1, one line, nothing written)."""
    before = files_under(site)
    argv = [a.format(site=site) for a in argv]
    done = run_installed(site, tmp_path, "-m", "analysis", *argv)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert re.search(r"^error: .*installed", done.stderr, re.MULTILINE), done.stderr
    assert files_under(site) == before


def test_checkout_is_the_project_folder(tmp_path):
    """From the checkout (or its editable install) outputs stay in the repository,
    wherever the command runs from: ``make all`` and the tests behave as before."""
    environ = {k: v for k, v in os.environ.items() if not re.fullmatch(r"ANALYSIS_\w+_DIR", k)}
    done = subprocess.run(
        [sys.executable, "-c", WHERE],
        cwd=tmp_path,
        env=environ,
        text=True,
        capture_output=True,
        check=True,
    )
    where = json.loads(done.stdout)
    assert where["source_root"] == str(REPO) == where["project"]
    assert where["outputs"][1] == str(REPO / "data" / "processed")
    assert where["shared"] == str(REPO.parent / "shared")


def test_source_checkout_is_recognised_by_its_pyproject(tmp_path):
    """Only a ``pyproject.toml`` naming this distribution makes a checkout."""
    package = tmp_path / "analysis"
    package.mkdir()
    assert config.find_source_checkout(package) is None  # site-packages: no pyproject
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "another"\n')
    assert config.find_source_checkout(package) is None
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert config.find_source_checkout(package) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "kr-ai-talent"\n')
    assert config.find_source_checkout(package) == tmp_path


def test_output_folder_in_an_installation_is_refused(tmp_path, monkeypatch):
    """Every stage checks its output folder: one in the installation is refused."""
    installed = tmp_path / "site-packages"
    monkeypatch.setattr(config, "SOURCE_ROOT", None)
    monkeypatch.setattr(config, "PACKAGE_DIR", installed / "analysis")
    run = run_cli("synth", "--scale", "0.02", "--out", installed / "data" / "delivery")
    assert_user_error(run, "--out", "installed in", config.PROJECT_ENV_VAR)
    assert not installed.exists()
