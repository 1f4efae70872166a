"""A stage's outputs as one set: whole, or refused by the next stage.

Each output file is written atomically (:mod:`analysis.io`), but a set of files is
not: a run killed between two renames would leave a new ``panel.parquet`` beside an
old ``persons.parquet``. So every stage

1. removes its manifest before it rewrites any output (:func:`start_output_set`):
   from then on the folder is incomplete;
2. writes its outputs, then the manifest last, with the SHA-256 of every output;

and every later stage calls :func:`verify_output_set` before it reads: the manifest
must exist, be a JSON object written by the expected stage, and every file it lists
must exist with the recorded hash. A killed run, a hand-edited file or a folder with
files from two runs is refused with the file named, never read.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("x\\n1\\n")
>>> table = {"file": "a.csv", **file_record(folder / "a.csv")}
>>> manifest = {"stage": "estimate", "tables": {"a": table}}
>>> _ = (folder / "estimates_manifest.json").write_text(json.dumps(manifest))
>>> verify_estimates(folder)["stage"]
'estimate'
>>> _ = (folder / "a.csv").write_text("x\\n2\\n")
>>> verify_estimates(folder)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
analysis.errors.StageInputError: .../a.csv changed since estimate wrote it ...
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis import config
from analysis.errors import ArgumentError, StageInputError
from analysis.io import sha256_file

#: The manifest each stage writes last into its output folder.
CLEAN_MANIFEST = "manifest.json"
ESTIMATES_MANIFEST = "estimates_manifest.json"
VALIDATION_MANIFEST = "validation_manifest.json"
WORLDBANK_MANIFEST = "worldbank_manifest.json"


def check_output_folder(out: str | Path, inputs: Mapping[str, str | Path]) -> Path:
    """Refuse an output folder that is a file, that lies inside (or is) one of the
    stage's ``inputs`` (``{argument name: folder}``): a stage writing into its own
    input would read its outputs as input on the next run; or that lies in the
    ``site-packages`` folder of an installed package, which the installer owns
    (:func:`analysis.config.inside_installation`).

    Returns the output folder, resolved.
    """
    target = Path(out).resolve()
    if target.exists() and not target.is_dir():
        raise ArgumentError(f"--out {out} is a file, not a folder")
    if config.inside_installation(target):
        raise ArgumentError(
            f"--out {out} is inside the folder the package is installed in "
            f"({config.PACKAGE_DIR.parent}); run from your project folder, set "
            f"${config.PROJECT_ENV_VAR}, or give --out a folder of yours"
        )
    for name, folder in inputs.items():
        source = Path(folder).resolve()
        if target == source or source in target.parents:
            raise ArgumentError(
                f"--out {out} is inside the {name} folder {folder}: outputs written there "
                "would be read as input by the next run; choose a folder outside it"
            )
    return target


def start_output_set(folder: str | Path, manifest: str) -> None:
    """Mark ``folder`` incomplete before a stage rewrites it: remove its manifest."""
    (Path(folder) / manifest).unlink(missing_ok=True)


def file_record(path: str | Path) -> dict[str, Any]:
    """What a manifest records of an output file: its SHA-256 and size in bytes."""
    path = Path(path)
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def read_manifest(folder: str | Path, manifest: str, stage: str) -> dict[str, Any]:
    """The manifest of ``stage`` in ``folder``, parsed; a named error if it is missing,
    not a JSON object or written by another stage."""
    folder = Path(folder)
    path = folder / manifest
    if not folder.is_dir():
        raise StageInputError(f"no folder {folder}", rerun=stage)
    if not path.is_file():
        raise StageInputError(
            f"{folder} is not a complete {stage} output: {manifest} is missing "
            f"(the stage did not finish, or this is not its folder)",
            rerun=stage,
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StageInputError(f"{path} is not valid JSON ({exc})", rerun=stage) from exc
    if not isinstance(content, dict):
        raise StageInputError(f"{path} is not a JSON object", rerun=stage)
    if content.get("stage", stage) != stage:
        raise StageInputError(
            f"{path} was written by the {content.get('stage')!r} stage, not {stage!r}",
            rerun=stage,
        )
    return content


def verify_files(folder: Path, entries: Mapping[str, Mapping[str, Any]], stage: str) -> None:
    """Check that every ``{file name: {"sha256": ...}}`` entry exists with its hash."""
    for name, entry in sorted(entries.items()):
        path = folder / name
        if not path.is_file():
            raise StageInputError(
                f"{folder} is not a complete {stage} output: {name} is missing", rerun=stage
            )
        expected = entry.get("sha256") if isinstance(entry, Mapping) else None
        if not isinstance(expected, str):
            raise StageInputError(f"the {stage} manifest records no hash for {name}", rerun=stage)
        if sha256_file(path) != expected:
            raise StageInputError(
                f"{path} changed since {stage} wrote it (its SHA-256 is not the one "
                f"the manifest records): the folder mixes outputs of different runs",
                rerun=stage,
            )


def verify_output_set(
    folder: str | Path, manifest: str, stage: str, entries_key: str
) -> dict[str, Any]:
    """Read ``stage``'s manifest in ``folder`` and verify every output it lists under
    ``entries_key`` (a mapping of file name to its record); returns the manifest."""
    folder = Path(folder)
    content = read_manifest(folder, manifest, stage)
    entries = content.get(entries_key)
    if not isinstance(entries, dict) or not entries:
        raise StageInputError(
            f"{folder / manifest} lists no outputs ({entries_key!r}); it was written by an "
            "older version or by hand",
            rerun=stage,
        )
    verify_files(folder, entries, stage)
    return content


def verify_clean_output(folder: str | Path) -> dict[str, Any]:
    """The clean stage's manifest, after checking that panel, persons, moves and ledger
    are the files it wrote."""
    return verify_output_set(folder, CLEAN_MANIFEST, "clean", "outputs")


def verify_estimates(folder: str | Path) -> dict[str, Any]:
    """The estimate stage's manifest, after checking every table CSV it lists."""
    folder = Path(folder)
    content = read_manifest(folder, ESTIMATES_MANIFEST, "estimate")
    tables = content.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise StageInputError(f"{folder / ESTIMATES_MANIFEST} lists no tables", rerun="estimate")
    entries = {
        str(t.get("file")): t for t in tables.values() if isinstance(t, dict) and t.get("file")
    }
    if len(entries) != len(tables):
        raise StageInputError(
            f"{folder / ESTIMATES_MANIFEST} has tables without a file", rerun="estimate"
        )
    verify_files(folder, entries, "estimate")
    return content


def verify_validation(folder: str | Path) -> dict[str, Any]:
    """The validate stage's manifest, after checking the validation table it lists."""
    return verify_output_set(folder, VALIDATION_MANIFEST, "validate", "outputs")


def verify_worldbank(folder: str | Path) -> dict[str, Any]:
    """The worldbank stage's manifest, after checking every table it lists (none when
    it records that the workbook was not available)."""
    folder = Path(folder)
    content = read_manifest(folder, WORLDBANK_MANIFEST, "worldbank")
    if content.get("available") is False:
        return content
    return verify_output_set(folder, WORLDBANK_MANIFEST, "worldbank", "outputs")


#: Each stage's output check, by stage name, in the pipeline's order.
VERIFIERS = {
    "clean": verify_clean_output,
    "estimate": verify_estimates,
    "validate": verify_validation,
    "worldbank": verify_worldbank,
}


def stage_states(folders: Mapping[str, str | Path]) -> dict[str, str]:
    """``"whole"``, or why not, for each ``{stage: output folder}`` of :data:`VERIFIERS`.

    Examples
    --------
    >>> import tempfile
    >>> stage_states({"clean": tempfile.mkdtemp()})["clean"]  # doctest: +ELLIPSIS
    '... is not a complete clean output: manifest.json is missing ...'
    """
    states = {}
    for stage, folder in folders.items():
        try:
            VERIFIERS[stage](folder)
        except StageInputError as exc:
            states[stage] = exc.problem
        else:
            states[stage] = "whole"
    return states
