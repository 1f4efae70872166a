"""Find the part files of each table in a delivery folder.

A delivery holds, for each table, either a sub-folder named after the table with
part files inside, or files at the top level whose name starts with the table's
name (``individual_positions_0000_part_00.parquet``). Standard and ``academic_``
names are both recognised; parquet and CSV (optionally gzipped) are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from analysis.sources.revelio.errors import DeliveryError, MissingTableError
from analysis.sources.revelio.schema import TABLES, Table

Format = Literal["parquet", "csv"]

_SUFFIXES: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
}


@dataclass(frozen=True)
class TableFiles:
    """The part files of one table, all of one format, sorted by name."""

    table: str
    stem: str
    format: Format
    files: tuple[Path, ...]


def _split_suffix(path: Path) -> tuple[str, Format | None]:
    name = path.name
    for suffix, fmt in sorted(_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], fmt
    return name, None


def _matches(stem: str, file_stem: str) -> bool:
    """``individual_user`` matches ``individual_user_0000_part_00`` but not
    ``individual_user_education``: a part suffix starts with a digit."""
    return re.fullmatch(re.escape(stem) + r"(_\d.*)?", file_stem, flags=re.IGNORECASE) is not None


def _candidates(root: Path, table: Table) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    entries = sorted(root.iterdir())
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            for stem in table.file_stems:
                if entry.name.lower() == stem:
                    parts = [
                        p
                        for p in sorted(entry.rglob("*"))
                        if p.is_file() and not p.name.startswith((".", "_")) and _split_suffix(p)[1]
                    ]
                    found.setdefault(stem, []).extend(parts)
        elif entry.is_file():
            file_stem, fmt = _split_suffix(entry)
            if fmt is None:
                continue
            for stem in table.file_stems:
                if _matches(stem, file_stem):
                    found.setdefault(stem, []).append(entry)
    return found


def discover_tables(root: str | Path) -> dict[str, TableFiles]:
    """Locate the part files of every table of the contract under ``root``.

    Parameters
    ----------
    root
        The delivery folder.

    Returns
    -------
    dict
        ``{table name: TableFiles}`` for ``users``, ``positions``, ``education``, ``skills``.

    Raises
    ------
    MissingTableError
        If a table has no file (the message lists the names that were looked for).
    DeliveryError
        If the folder does not exist, a table appears under two names, or mixes
        parquet and CSV parts.
    """
    root = Path(root)
    if not root.is_dir():
        raise DeliveryError(f"delivery folder not found: {root}", files=[root])
    result: dict[str, TableFiles] = {}
    for name, table in TABLES.items():
        found = {stem: files for stem, files in _candidates(root, table).items() if files}
        if not found:
            raise MissingTableError(
                f"delivery {root} has no file for table '{name}'",
                table=name,
                hint="expected a folder or files named "
                + " / ".join(f"{s}[_NNNN...].parquet|csv" for s in table.file_stems),
            )
        if len(found) > 1:
            raise DeliveryError(
                f"delivery {root} holds table '{name}' under more than one name: "
                + ", ".join(sorted(found)),
                table=name,
                files=[f for files in found.values() for f in files],
                hint="keep one copy of each table (standard or academic_ names, not both)",
            )
        stem, files = next(iter(found.items()))
        formats = {_split_suffix(f)[1] for f in files}
        if len(formats) > 1:
            raise DeliveryError(
                f"table '{name}' mixes parquet and CSV part files",
                table=name,
                files=files,
                hint="deliver every part of a table in one format",
            )
        result[name] = TableFiles(
            table=name, stem=stem, format=formats.pop(), files=tuple(sorted(set(files)))
        )
    return result
