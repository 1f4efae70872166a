"""Test the built wheel as a user gets it: installed, outside the repository.

``make wheel-test`` (run by ``.ci/run``) builds the sdist and the wheel from it, runs
a reference pipeline with the checkout's Python 3.11 environment, then for each Python
version (default 3.12 and 3.13):

1. creates a fresh virtual environment with that interpreter and installs the wheel
   into it from PyPI, constrained to the versions of ``uv.lock``;
2. runs the estimator tests and the docstring examples of ``analysis.estimate``
   against the installed package, from a temporary copy of ``tests/``; the source tree
   is never on ``sys.path``, and the run checks that ``analysis`` is imported from the
   environment's ``site-packages``;
3. runs the command line in an empty folder outside the repository, with no
   ``ANALYSIS_*_DIR`` variable set, on a small synthetic world: ``synth``, ``clean``,
   ``estimate`` and ``validate`` one by one, and ``all`` (the notebooks included) on
   the last version; checks that every output lands in that folder, that the estimates
   are byte for byte those of the Python 3.11 reference, that ``--out`` into
   ``site-packages`` is refused, and that nothing was written into ``site-packages``.

A missing interpreter fails the step when ``CI=true`` or ``REQUIRE_WHEEL_PYTHONS=1``
(CI must test what it claims to); otherwise it is skipped with a message. An
interpreter is looked up in ``$PYTHON312`` (``$PYTHON313``, ...), then pyenv's
versions, then ``python3.12`` on the ``PATH``.

Usage: ``.venv/bin/python .ci/wheel_test.py [--uv PATH] [--keep] [VERSION ...]`` (the
interpreter must import the checkout's ``analysis``: it runs the reference).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: The tests run against the installed package: the estimators on small data (seconds
#: each), not the slow Monte Carlo or the report and browser checks.
ESTIMATOR_TESTS: tuple[str, ...] = (
    "test_api.py",
    "test_estimate_counterfactual.py",
    "test_estimate_mobility.py",
    "test_estimate_premium.py",
    "test_estimate_workforce.py",
    "test_normal_equations.py",
)

#: The smoke runs' synthetic world: large enough for every estimator (0.02 leaves no
#: return moves to estimate from), small enough for seconds per stage.
SMOKE_SCALE: str = "0.1"

#: What a smoke run must leave in its project folder (the report's files with ``all``).
STAGE_OUTPUTS: tuple[str, ...] = (
    "data/delivery/manifest.json",
    "data/processed/manifest.json",
    "data/estimates/estimates_manifest.json",
    "data/validation/validation.csv",
)
REPORT_OUTPUTS: tuple[str, ...] = (
    "data/worldbank/worldbank_manifest.json",
    "reports/index.html",
    "reports/html/02_wage_premium.html",
)

#: ``validate`` and ``all`` exit 2 when calibration targets fail, as they do on a world
#: this small; every stage still ran.
CALIBRATION_FAILS: int = 2


class WheelTestError(RuntimeError):
    """A check of the installed wheel failed."""


def log(message: str) -> None:
    """Print one progress line (flushed: CI shows it as it comes)."""
    print(f"== wheel-test: {message}", flush=True)


def run(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ok: Sequence[int] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run a command; if its exit status is not in ``ok``, print its output and raise
    :class:`WheelTestError`."""
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, text=True, capture_output=True, check=False
    )
    if result.returncode not in ok:
        sys.stdout.write(result.stdout + result.stderr)
        raise WheelTestError(f"exit status {result.returncode}: {' '.join(map(str, argv))}")
    return result


def python_version(executable: str | Path) -> str | None:
    """``"3.12"`` for a working interpreter, ``None`` if it does not start (a pyenv shim
    for a version that is installed but not selected exits 127)."""
    try:
        result = subprocess.run(
            [str(executable), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def candidates(version: str) -> Iterator[str]:
    """Where an interpreter of ``version`` may be, in order of preference."""
    variable = "PYTHON" + version.replace(".", "")  # PYTHON312
    if os.environ.get(variable):
        yield os.environ[variable]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found = Path(pyenv_root, "versions").glob(f"{version}.*/bin/python{version}")
    yield from (str(p) for p in sorted(found, key=release, reverse=True))  # newest first
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield on_path


def release(python: Path) -> list[int]:
    """``[3, 12, 10]`` for ``.../versions/3.12.10/bin/python3.12``: sorts 3.12.10 after
    3.12.9."""
    return [int(part) for part in python.parts[-3].split(".") if part.isdigit()]


def find_python(version: str) -> str | None:
    """The first working interpreter of ``version`` (see :func:`candidates`), or ``None``."""
    for candidate in candidates(version):
        if python_version(candidate) == version:
            return candidate
    return None


def build(uv: str, out: Path) -> Path:
    """Build the sdist, then the wheel from it (so the sdist is complete too); returns
    the wheel."""
    run([uv, "build", "--quiet", "--out-dir", out, "--python", sys.executable], cwd=REPO)
    (wheel,) = out.glob("*.whl")
    return wheel


def constraints(uv: str, out: Path) -> Path:
    """``uv.lock`` as a constraints file (with markers; the lock covers every Python
    from 3.11), so the environments get the locked versions."""
    path = out / "constraints.txt"
    export = [uv, "export", "--quiet", "--frozen", "--no-hashes", "--no-header"]
    run([*export, "--no-emit-project", "--extra", "dev", "--output-file", path], cwd=REPO)
    return path


def pytest_ini(out: Path) -> Path:
    """The project's pytest settings (markers, options, doctest flags), from
    ``pyproject.toml``, as a ``pytest.ini`` outside the repository, so that the tests'
    root is not the source tree. ``testpaths`` is left out: the tests are named."""
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    settings = {**options["ini_options"]}
    settings.pop("testpaths", None)
    settings["addopts"] = settings.get("addopts", "") + " -p no:cacheprovider"
    lines = ["[pytest]"]
    for key, value in settings.items():
        if isinstance(value, list):
            lines += [f"{key} =", *(f"    {item}" for item in value)]
        else:
            lines.append(f"{key} = {value}")
    path = out / "pytest.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def site_packages(python: Path) -> Path:
    """The environment's ``site-packages`` folder."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(run([python, "-c", code]).stdout.strip())


def files_under(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` with its modification time, bytecode caches aside
    (Python and numba write those next to the modules they compile)."""
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without ``ANALYSIS_*_DIR`` folder overrides, so that the defaults are
    what is tested, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not re.fullmatch(r"ANALYSIS_\w+_DIR", k)}
    return {**env, **extra}


def pipeline(
    cli: Sequence[str | Path], project: Path, env: Mapping[str, str], report: bool
) -> Path:
    """Run the command line ``cli`` with its default folders, from ``project``: the
    stages one by one, or ``all`` if ``report``. Returns the estimates folder, after
    checking that every output is in ``project``."""
    project.mkdir()
    if report:
        done = run([*cli, "all", "--scale", SMOKE_SCALE], cwd=project, env=env, ok=(0, 2))
        if "all stages ran" not in done.stdout:
            raise WheelTestError(f"kr-ai-talent all did not run every stage:\n{done.stdout}")
    else:
        for stage in (["synth", "--scale", SMOKE_SCALE], ["clean"], ["estimate"]):
            run([*cli, *stage], cwd=project, env=env)
        run([*cli, "validate"], cwd=project, env=env, ok=(0, CALIBRATION_FAILS))
    expected = STAGE_OUTPUTS + (REPORT_OUTPUTS if report else ())
    missing = [name for name in expected if not (project / name).is_file()]
    if missing:
        raise WheelTestError(f"{' '.join(map(str, cli))} did not write {missing} in {project}")
    return project / "data" / "estimates"


def compare_estimates(reference: Path, estimates: Path) -> None:
    """The estimates' tables must be byte for byte those of the reference."""
    names = sorted(p.name for p in reference.glob("*.csv"))
    if names != sorted(p.name for p in estimates.glob("*.csv")):
        raise WheelTestError(f"{estimates} and {reference} hold different tables")
    differ = [n for n in names if (reference / n).read_bytes() != (estimates / n).read_bytes()]
    if differ:
        raise WheelTestError(f"estimates differ from the Python 3.11 reference: {differ}")


def check_installed(venv: Path, work: Path, reference: Path, report: bool) -> None:
    """Steps 2 and 3 of the module's docstring, in an environment holding the wheel;
    ``work`` is an empty folder outside the repository."""
    python, site = venv / "bin" / "python", site_packages(venv / "bin" / "python")
    before = files_under(site)
    code = "import analysis.config as c; print(c.__file__, c.SOURCE_ROOT)"
    where = run([python, "-c", code], cwd=work).stdout.split()
    if not Path(where[0]).is_relative_to(site) or where[1] != "None":
        raise WheelTestError(f"analysis is not imported from {site}: {where}")

    # The tests run from a copy: the importlib import mode puts no test folder on
    # sys.path, and the working directory holds no package, so `analysis` can only come
    # from site-packages.
    started = time.monotonic()
    tests = work / "tests"
    shutil.copytree(REPO / "tests", tests, ignore=shutil.ignore_patterns("__pycache__"))
    pytest = [python, "-m", "pytest", "-q", "-c", pytest_ini(work), "--rootdir", work]
    selection = [*(tests / name for name in ESTIMATOR_TESTS), "--pyargs", "analysis.estimate"]
    summary = run([*pytest, "--import-mode=importlib", *selection], cwd=work).stdout
    log(f"{summary.strip().splitlines()[-1]} ({time.monotonic() - started:.0f} s)")

    started = time.monotonic()
    estimates = pipeline([venv / "bin" / "kr-ai-talent"], work / "study", clean_env(), report)
    compare_estimates(reference, estimates)
    what = "all" if report else "synth, clean, estimate, validate"
    log(f"{what} from {work / 'study'} ({time.monotonic() - started:.0f} s): outputs there")

    refused = run(
        [venv / "bin" / "kr-ai-talent", "synth", "--scale", "0.02", "--out", site / "out"],
        cwd=work,
        ok=(1,),
    )
    if "installed in" not in refused.stderr:
        raise WheelTestError(f"synth --out into site-packages: {refused.stderr}")

    after = files_under(site)
    written = sorted(name for name in after if before.get(name) != after[name])
    if written:
        raise WheelTestError(f"files written into {site}: {written[:20]}")
    log(f"nothing written into {site}")


def check_version(
    version: str, python: str, uv: str, paths: Mapping[str, Path], report: bool
) -> None:
    """Create an environment with ``python``, install the wheel, run the checks (the
    notebooks too if ``report``); ``paths`` holds ``work``, ``wheel``, ``constraints``
    and ``reference`` (the reference estimates)."""
    started = time.monotonic()
    venv = paths["work"] / f"venv-{version}"
    run([uv, "venv", "--quiet", "--python", python, venv])
    install = [uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python"]
    run([*install, "--constraint", paths["constraints"], paths["wheel"], "pytest", "hypothesis"])
    log(f"Python {version}: environment and install ({time.monotonic() - started:.0f} s)")
    work = paths["work"] / f"run-{version}"
    work.mkdir()
    check_installed(venv, work, paths["reference"], report)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=["3.12", "3.13"])
    parser.add_argument("--uv", default=str(REPO / ".tools/bin/uv"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    required = os.environ.get("CI") == "true" or os.environ.get("REQUIRE_WHEEL_PYTHONS") == "1"

    pythons = {v: find_python(v) for v in args.versions}
    missing = [v for v, python in pythons.items() if python is None]
    if missing:
        variable = "PYTHON" + missing[0].replace(".", "")
        message = f"no Python {', '.join(missing)} found (set ${variable} to its interpreter)"
        if required:
            print(f"error: {message}; CI tests the wheel on each of them", file=sys.stderr)
            return 1
        log(f"skipping: {message}")
    found = [v for v, python in pythons.items() if python is not None]
    if not found:
        return 0
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="wheel-test-"))
    try:
        paths = {"work": work}
        paths["wheel"] = build(args.uv, work / "dist")
        paths["constraints"] = constraints(args.uv, work)
        log(f"built {paths['wheel'].name}")
        # The checkout's own environment, told where to write by $ANALYSIS_PROJECT_DIR.
        reference = work / "reference"
        env = clean_env(ANALYSIS_PROJECT_DIR=str(reference))
        paths["reference"] = pipeline([sys.executable, "-m", "analysis"], reference, env, False)
        log(f"Python {sys.version.split()[0]} reference from the checkout")
        for version in found:
            log(f"Python {version}: {pythons[version]}")
            # the notebooks take a minute: they run on the last version only
            report = version == found[-1]
            check_version(version, str(pythons[version]), args.uv, paths, report)
    except WheelTestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    log(f"wheel tested on Python {', '.join(found)} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
