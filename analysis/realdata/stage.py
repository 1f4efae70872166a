"""The ``worldbank`` stage: the World Bank-LinkedIn analyses as tidy CSVs.

``run_worldbank(out_dir, workbook)`` loads the talent-migration workbook
(:func:`analysis.sources.worldbank.load_talent_migration`), runs every analysis of
:mod:`analysis.realdata` (:func:`~analysis.realdata.talent_migration.talent_migration_tables`)
and writes one CSV per table, then ``worldbank_manifest.json`` (last, with every file's
hash, the workbook's name and checksum, the analyses' notes and the file's caveats). The
report's World Bank page reads that folder; it runs no model.

The analyses run in a child process with a fixed hash seed
(:mod:`analysis.child_processes`), so two runs write the same bytes.

The workbook is public but not in the repository. When it cannot be used (missing, or
not the release the package was written against, or unreadable), the stage still
succeeds: its manifest says ``"available": false`` with the loader's error, and the
page becomes a note on how to get the file.

Examples
--------
>>> import tempfile
>>> manifest = run_worldbank(tempfile.mkdtemp(), "/nowhere/file.xlsx")
>>> manifest["available"], manifest["unavailable"]["kind"]
(False, 'WorkbookNotFoundError')
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import __version__
from analysis.child_processes import reproducible_children
from analysis.io import write_atomic, write_frame_atomic
from analysis.output_set import (
    WORLDBANK_MANIFEST,
    check_output_folder,
    file_record,
    start_output_set,
)
from analysis.realdata.talent_migration import talent_migration_tables
from analysis.sources.worldbank import TalentMigrationError, load_talent_migration

__all__ = ["run_worldbank", "worldbank_tables"]


def worldbank_tables(workbook: str | Path | None) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Load ``workbook`` and run every analysis: the tables (``notes`` among them) and
    what the manifest records of the file; or no tables and ``{"unavailable": {"kind",
    "message"}}``, the loader's error, when the file cannot be used."""
    try:
        tm = load_talent_migration(workbook)
    except TalentMigrationError as exc:
        return {}, {"unavailable": {"kind": type(exc).__name__, "message": str(exc)}}
    meta = tm.metadata
    return talent_migration_tables(tm), {
        "workbook": {
            "file": Path(meta.path).name,
            "sha256": meta.sha256,
            "verified": meta.verified,
            "years": [int(y) for y in meta.years],
        },
        "attribution": meta.attribution,
        "licence": meta.licence,
        "source": meta.source,
        "caveats": list(meta.caveats),
    }


def _earlier_outputs(folder: Path) -> list[str]:
    """The files an earlier run's manifest in ``folder`` lists (none if it has none)."""
    try:
        outputs = json.loads((folder / WORLDBANK_MANIFEST).read_text()).get("outputs", {})
    except (OSError, ValueError, AttributeError):
        return []
    return [Path(name).name for name in outputs if isinstance(name, str)]


def run_worldbank(out_dir: str | Path, workbook: str | Path | None = None) -> dict[str, Any]:
    """Run the World Bank-LinkedIn analyses on ``workbook`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        The stage's folder: one CSV per table and ``worldbank_manifest.json``.
    workbook
        The ``.xlsx`` file (default: the loader's resolution,
        ``$WORLDBANK_TALENT_MIGRATION_XLSX`` then the shared data folder).

    Returns
    -------
    dict
        The manifest: ``available``; with the workbook, ``workbook`` (file name,
        SHA-256, whether it is the expected release, years), ``notes``, ``caveats``,
        ``attribution``, ``licence``, ``source`` and ``outputs``; without it,
        ``unavailable`` (the loader's error: ``kind`` and ``message``).
    """
    out = check_output_folder(out_dir, {})
    out.mkdir(parents=True, exist_ok=True)
    # the tables of an earlier run go with its manifest (a run without the workbook leaves
    # none behind); other files in the folder are the user's and stay
    earlier = _earlier_outputs(out)
    start_output_set(out, WORLDBANK_MANIFEST)
    for name in earlier:
        (out / name).unlink(missing_ok=True)
    context = multiprocessing.get_context("spawn")  # a new interpreter: its own hash seed
    with reproducible_children(), ProcessPoolExecutor(1, mp_context=context) as child:
        tables, about = child.submit(worldbank_tables, workbook).result()
    manifest: dict[str, Any] = {
        "stage": "worldbank",
        "package_version": __version__,
        "available": bool(tables),
        **about,
    }
    if tables:
        notes = tables.pop("notes")
        manifest["notes"] = dict(zip(notes["analysis"], notes["note"], strict=True))
    written = [write_frame_atomic(frame, out / f"{name}.csv") for name, frame in tables.items()]
    manifest["outputs"] = {path.name: file_record(path) for path in written}
    write_atomic(  # last: the folder is now whole
        out / WORLDBANK_MANIFEST,
        lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n"),
    )
    return manifest
