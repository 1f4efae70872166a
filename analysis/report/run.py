"""Execute the notebooks with papermill into ``reports/``, render HTML, write an index.

Each notebook in ``analysis/notebooks/`` (package data, so it is installed with the
package) takes the parameters ``estimates_dir``, ``processed_dir``, ``reports_dir`` and
``data_kind`` (its first cell says whether it shows synthetic or real data). Executed
copies go to ``reports/notebooks/``, HTML pages to ``reports/html/``; figures (PNG and
PDF) and tables (CSV and LaTeX) that the notebooks save go to ``reports/figures/`` and
``reports/tables/``; ``reports/index.html`` links them all.

A notebook declares the other stages' folders it reads by defining them in its
``parameters`` cell: ``validation_dir`` (the validate stage's) and ``worldbank_dir`` (the
worldbank stage's, :mod:`analysis.realdata.stage`); :func:`run_reports` checks each
folder is whole before any kernel starts. When the worldbank stage found no usable
workbook (its manifest says so), the World Bank page becomes a note saying what is
missing and how to get the file (:func:`~analysis.report.worldbank.unavailable_note`),
without starting a kernel, and the other notebooks run as usual.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import papermill as pm

from analysis import config
from analysis.child_processes import reproducible_children
from analysis.errors import ArgumentError, StageInputError
from analysis.io import write_atomic
from analysis.output_set import (
    ESTIMATES_MANIFEST,
    check_output_folder,
    file_record,
    verify_clean_output,
    verify_estimates,
    verify_validation,
    verify_worldbank,
)
from analysis.report.pdf import write_pdf
from analysis.report.records import CHAPTERS_DIR, Provenance
from analysis.report.site import notebook_title, render_index, render_page

#: The report's notebooks ship inside the package, so an installed package can run them.
NOTEBOOKS_DIR: Path = config.PACKAGE_DIR / "notebooks"


#: Most notebook kernels :func:`run_reports` runs at once (one per core up to this).
MAX_KERNELS: int = 4

WORLDBANK_PARAMETER: str = "worldbank_dir"
"""A notebook that takes this parameter reads the worldbank stage's folder."""


VALIDATION_PARAMETER: str = "validation_dir"
"""A notebook that takes this parameter reads the validate stage's folder."""


def data_settings(estimates_dir: Path) -> dict[str, object]:
    """What the estimates were made from, as the estimates manifest records it:
    ``data_kind`` (``"synthetic"`` or ``"real"``) and, for a synthetic delivery, its
    ``seed`` and ``scale`` (``None`` otherwise)."""
    manifest = json.loads((estimates_dir / ESTIMATES_MANIFEST).read_text())
    return {
        "data_kind": "synthetic" if manifest.get("synthetic") else "real",
        "seed": manifest.get("seed"),
        "scale": manifest.get("scale"),
    }


def _needed_folder(
    declared: dict[Path, dict[str, object]],
    parameter: str,
    folder: str | Path | None,
    stage: str,
    flag: str,
) -> Path | None:
    """``folder`` resolved if a notebook declares ``parameter`` (``None`` if none does);
    a named error when a notebook needs it and it is not given."""
    needing = [nb.stem for nb, names in declared.items() if parameter in names]
    if not needing:
        return None
    if folder is None:
        raise ArgumentError(
            f"{', '.join(needing)} reads the {stage} stage's folder: run "
            f"`python -m analysis {stage}` and pass its folder ({flag} on the command line, "
            f"{parameter}= in Python)"
        )
    return Path(folder).resolve()


def check_validation_input(validation_dir: Path, estimates_dir: Path) -> None:
    """The validate stage's folder is whole and was made from these estimates."""
    validation = verify_validation(validation_dir)
    made_from = validation.get("estimates_manifest_sha256")
    if made_from != file_record(estimates_dir / ESTIMATES_MANIFEST)["sha256"]:
        raise StageInputError(
            f"the validation table in {validation_dir} was made from other estimates than "
            f"those in {estimates_dir}",
            rerun="validate",
        )


#: Metadata key that marks an executed notebook as a note about a missing input.
NOTE_METADATA: str = "analysis_missing_input_note"


def write_note_notebook(notebook: Path, out: Path, note: str) -> Path:
    """Write, in place of the executed ``notebook``, one holding its title and ``note``.

    The title is the first Markdown heading of ``notebook`` (its file stem if it has none);
    the metadata key :data:`NOTE_METADATA` marks it as a note.
    """
    source = nbformat.read(notebook, as_version=4)
    title = "# " + notebook_title(source, notebook.stem)
    note_nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(title), nbformat.v4.new_markdown_cell(note)],
        metadata={**source.metadata, NOTE_METADATA: True},
    )
    return write_atomic(out, lambda p: nbformat.write(note_nb, p))


def check_report_inputs(estimates_dir: Path, processed_dir: Path) -> None:
    """Before any notebook runs: the estimates and the processed folder are whole
    (:mod:`analysis.output_set`), and the estimates were made from this panel."""
    estimates = verify_estimates(estimates_dir)
    clean = verify_clean_output(processed_dir)
    made_from = estimates.get("panel_sha256")
    panel = clean["outputs"].get("panel.parquet", {}).get("sha256")
    if made_from is not None and made_from != panel:
        raise StageInputError(
            f"the estimates in {estimates_dir} were made from another panel than "
            f"{processed_dir / 'panel.parquet'}",
            rerun="estimate",
        )


def run_reports(
    estimates_dir: str | Path,
    processed_dir: str | Path,
    reports_dir: str | Path,
    notebooks: list[Path] | None = None,
    worldbank_dir: str | Path | None = None,
    validation_dir: str | Path | None = None,
    index: bool = True,
) -> dict[str, list[Path]]:
    """Execute every notebook (or ``notebooks``) and write their pages and the index.

    Parameters
    ----------
    estimates_dir, processed_dir
        The estimation stage's output and the processed panel (passed to the notebooks).
    reports_dir
        Where ``notebooks/``, ``html/``, ``figures/``, ``tables/`` and ``index.html`` go.
    notebooks
        The notebooks to run (default: every ``analysis/notebooks/*.ipynb``, in name order).
    worldbank_dir
        The worldbank stage's folder, needed by the notebooks whose ``parameters`` cell
        defines :data:`WORLDBANK_PARAMETER`. If the stage found no usable workbook,
        those notebooks become notes and the rest run as usual.
    validation_dir
        The validate stage's folder, needed by the notebooks whose ``parameters`` cell
        defines :data:`VALIDATION_PARAMETER` (the validation page); checked to be whole
        and made from ``estimates_dir`` before any notebook runs.
    index
        Rewrite ``index.html`` (default). ``False`` leaves it to
        :func:`write_report_index`, as the pipeline does when it runs one page a process.

    Returns
    -------
    dict
        ``notebooks`` (executed copies), ``pages`` (HTML), ``notes`` (the pages that are
        notes about a missing input), ``index`` and ``pdf`` (the landing page and
        ``report.pdf``; empty when ``index`` is ``False``).
    """
    estimates_dir, processed_dir = Path(estimates_dir).resolve(), Path(processed_dir).resolve()
    check_report_inputs(estimates_dir, processed_dir)
    reports_dir = check_output_folder(
        reports_dir, {"estimates": estimates_dir, "processed": processed_dir}
    )
    notebooks = notebooks or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    declared = {nb: pm.inspect_notebook(str(nb)) for nb in notebooks}
    folders: dict[str, Path] = {}
    validation_dir = _needed_folder(
        declared, VALIDATION_PARAMETER, validation_dir, "validate", "--validation"
    )
    if validation_dir is not None:
        check_validation_input(validation_dir, estimates_dir)
        folders[VALIDATION_PARAMETER] = validation_dir
    unavailable = None  # the worldbank stage's reason, when it found no workbook
    worldbank_dir = _needed_folder(
        declared, WORLDBANK_PARAMETER, worldbank_dir, "worldbank", "--worldbank"
    )
    if worldbank_dir is not None:
        unavailable = verify_worldbank(worldbank_dir).get("unavailable")
        folders[WORLDBANK_PARAMETER] = worldbank_dir
    # folders relative to the kernels' working directory, the reports folder: the pages
    # (which show the parameters) hold no absolute path of the machine that built them
    folders |= {"estimates_dir": estimates_dir, "processed_dir": processed_dir}
    parameters: dict[str, object] = {
        **{
            name: Path(os.path.relpath(folder, reports_dir)).as_posix()
            for name, folder in folders.items()
        },
        "reports_dir": ".",
        **data_settings(estimates_dir),
    }

    def execute(nb: Path) -> tuple[Path, bool]:
        """Run ``nb`` into the reports tree, or write its note; the executed copy's path
        and whether it is a note."""
        out = reports_dir / "notebooks" / nb.name
        out.parent.mkdir(parents=True, exist_ok=True)
        if unavailable is not None and WORLDBANK_PARAMETER in declared[nb]:
            # imported here: the World Bank module brings the estimators (statsmodels,
            # pyfixest), seconds of start-up that every page process would pay
            from analysis.report.worldbank import unavailable_note

            note = unavailable_note(unavailable["kind"], unavailable["message"])
            write_note_notebook(nb, out, note)
            # a note has no chapter: the record of an earlier run must not reach the PDF
            (reports_dir / CHAPTERS_DIR / f"{nb.stem}.json").unlink(missing_ok=True)
            return out, True
        _execute(nb, out, reports_dir, parameters, declared[nb])
        return out, False

    # each notebook runs in its own kernel, one process each: side by side, they take
    # about the time of the longest pair instead of the sum
    workers = max(1, min(len(notebooks), os.cpu_count() or 1, MAX_KERNELS))
    with reproducible_children(), ThreadPoolExecutor(workers) as pool:
        runs = list(pool.map(execute, notebooks))
    executed, pages, notes = [out for out, _ in runs], [], []
    provenance = Provenance.from_estimates(estimates_dir)
    for nb, (out, is_note) in zip(notebooks, runs, strict=True):
        body = render_page(out, sorted(nb.parent.glob("*.ipynb")), provenance)
        page = reports_dir / "html" / f"{nb.stem}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(page, lambda p, b=body: p.write_text(b))
        pages.append(page)
        if is_note:
            notes.append(page)
    pdf = [write_pdf(reports_dir, [nb.stem for nb in notebooks])] if index else []
    written = [write_index(reports_dir, notebooks, notes)] if index else []
    return {"notebooks": executed, "pages": pages, "notes": notes, "index": written, "pdf": pdf}


def write_report_index(reports_dir: str | Path, notebooks: list[Path] | None = None) -> Path:
    """``report.pdf`` and ``index.html`` over the pages already built for ``notebooks``
    (default: every notebook of the package), without running any; a page whose executed
    notebook is a note (:data:`NOTE_METADATA`) is marked so.

    Raises
    ------
    StageInputError
        If a notebook's page has not been built.
    """
    reports_dir = Path(reports_dir).resolve()
    notebooks = notebooks or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    notes = []
    for nb in notebooks:
        page = reports_dir / "html" / f"{nb.stem}.html"
        executed = reports_dir / "notebooks" / nb.name
        if not page.is_file() or not executed.is_file():
            raise StageInputError(f"{page} has not been built", rerun="report")
        if nbformat.read(executed, as_version=4).metadata.get(NOTE_METADATA):
            notes.append(page)
    write_pdf(reports_dir, [nb.stem for nb in notebooks])
    return write_index(reports_dir, notebooks, notes)


logger = logging.getLogger(__name__)

#: Jupyter's message when a kernel dies while it starts. Two kernels started at once
#: (the pipeline runs two pages side by side) can draw the same free port between
#: jupyter_client choosing it and the kernel binding it; the loser dies before running
#: anything, so it is started again, at most :data:`KERNEL_START_ATTEMPTS` times.
KERNEL_START_FAILURE: str = "Kernel died before replying to kernel_info"
KERNEL_START_ATTEMPTS: int = 3


def _execute(
    nb: Path, out: Path, cwd: Path, parameters: dict[str, object], declared: dict[str, object]
) -> None:
    """Run ``nb`` into ``out``, passing only the parameters the notebook ``declared``
    (:func:`papermill.inspect_notebook`); a failing cell propagates.

    ``out`` appears whole or not at all (papermill writes its output as the cells run,
    so it writes a temporary file). Papermill records the input and output paths in
    the notebook's metadata; they are made relative (the notebook's name, and the
    output relative to ``cwd``, the reports folder), so that no path of the machine
    that built the report is published with it.
    """
    parameters = {k: v for k, v in parameters.items() if k in declared}

    def run(tmp: Path) -> None:
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                pm.execute_notebook(
                    str(nb),
                    str(tmp),
                    kernel_name="python3",
                    progress_bar=False,
                    cwd=str(cwd),
                    parameters=parameters,
                )
                break
            except RuntimeError as error:
                # a kernel that dies before it answers has run no cell: start another
                if KERNEL_START_FAILURE not in str(error) or attempt == KERNEL_START_ATTEMPTS:
                    raise
                logger.warning("%s: %s; starting another kernel", nb.name, KERNEL_START_FAILURE)
        executed = nbformat.read(tmp, as_version=4)
        record = executed.metadata.get("papermill", {})
        record["input_path"] = nb.name
        record["output_path"] = os.path.relpath(out, cwd)
        nbformat.write(executed, tmp)

    write_atomic(out, run, suffix=".ipynb")


def write_index(reports_dir: Path, notebooks: list[Path], notes: list[Path] | None = None) -> Path:
    """``reports/index.html``, the landing page (:func:`analysis.report.site.render_index`)
    over the chapters of ``notebooks``; the pages in ``notes`` (a note about a missing
    input instead of results) are marked so."""
    marked = {Path(p).stem for p in notes or []}
    text = render_index(reports_dir, notebooks, marked)
    return write_atomic(reports_dir / "index.html", lambda p: p.write_text(text))
