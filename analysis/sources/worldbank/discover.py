"""Where the workbook is: the ``path`` argument, ``$WORLDBANK_TALENT_MIGRATION_XLSX``,
then the shared data folder; and whether it is the release the package expects."""

from __future__ import annotations

import os
from pathlib import Path

from analysis import config
from analysis.io import sha256_file as sha256_of
from analysis.sources.worldbank.errors import ChecksumMismatchError, WorkbookNotFoundError
from analysis.sources.worldbank.schema import CATALOG, FILENAME, SHA256


# --------------------------------------------------------------------------- paths
def default_path() -> Path:
    """``<config.SHARED_DIR>/data/<FILENAME>`` (read at call time)."""
    return Path(config.SHARED_DIR) / "data" / FILENAME


def resolve_path(path: str | Path | None = None) -> tuple[Path, str]:
    """Where to read the workbook from, and why.

    Parameters
    ----------
    path
        Explicit path; wins over everything.

    Returns
    -------
    (Path, str)
        The path and how it was chosen (``"argument"``, ``"$WORLDBANK_..."`` or
        ``"default"``). The path may not exist.
    """
    if path is not None:
        return Path(path).expanduser(), "argument"
    env = os.environ.get(config.WORLDBANK_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser(), f"environment variable {config.WORLDBANK_ENV_VAR}"
    return default_path(), "default location (config.SHARED_DIR / 'data')"


def locate_workbook(path: str | Path | None = None, *, verify: bool = True) -> tuple[Path, str]:
    """Find the workbook and check its SHA-256, without parsing it.

    These are the checks :func:`load_talent_migration` makes before it reads a sheet; a
    caller that only needs to know whether the workbook can be used (the report stage)
    runs them alone, in milliseconds. A file that passes with ``verify`` is byte-identical
    to the one the loader is tested against.

    Parameters
    ----------
    path
        Explicit path (else :func:`resolve_path`'s environment variable or default).
    verify
        Check the SHA-256 against :data:`SHA256`.

    Returns
    -------
    (Path, str)
        The resolved path and the file's SHA-256.

    Raises
    ------
    WorkbookNotFoundError
        No file there (the message says where to download it and how to point to it).
    ChecksumMismatchError
        ``verify`` and the SHA-256 differs.
    """
    resolved, how = resolve_path(path)
    if not resolved.is_file():
        raise WorkbookNotFoundError(
            f"talent-migration workbook not found at {resolved} (path from {how}). "
            f"Download the World Bank Group-LinkedIn workbook ({FILENAME}) from {CATALOG}, "
            f"then pass its path or set the environment variable {config.WORLDBANK_ENV_VAR} "
            f"to it (e.g. export {config.WORLDBANK_ENV_VAR}=/path/to/{FILENAME}).",
            path=resolved,
        )
    digest = sha256_of(resolved)
    if verify and digest != SHA256:
        raise ChecksumMismatchError(resolved, SHA256, digest)
    return resolved, digest
