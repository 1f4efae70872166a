"""Atomic writes: a reader never sees a half-written output file.

Every output is written to a temporary file in the target folder and renamed
into place (``os.replace`` is atomic on POSIX when both names are on one
filesystem).

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> write_frame_atomic(pd.DataFrame({"a": [1]}), out).read_text()
'a\\n1\\n'
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process's umask at import, applied to atomically written files.
_UMASK = _current_umask()


def write_atomic(path: str | Path, write: Callable[[Path], None], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path``.

    The temporary file lives in the target's folder so the rename stays on one
    filesystem; it is removed if ``write`` fails. ``suffix`` ends its name (for a writer
    that looks at the extension).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private (0600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_frame_atomic(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV or parquet (by suffix), atomically and deterministically."""
    path = Path(path)
    if path.suffix == ".parquet":
        return write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file (manifests and input checks), by :func:`hashlib.file_digest`."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
