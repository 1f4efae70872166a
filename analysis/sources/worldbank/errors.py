"""What can be wrong with the workbook: one exception class per kind of problem, each
naming the file and, where there is one, the sheet and column."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from analysis.sources.worldbank.schema import CATALOG


# --------------------------------------------------------------------------- errors
class TalentMigrationError(ValueError):
    """The talent-migration workbook cannot be found, verified or read.

    Every message names the file and, where it applies, the sheet and the column.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(message)


class WorkbookNotFoundError(TalentMigrationError):
    """No workbook at the resolved path; the message says where to download it."""


class ChecksumMismatchError(TalentMigrationError):
    """The workbook's SHA-256 is not :data:`SHA256`."""

    def __init__(self, path: str | Path, expected: str, got: str) -> None:
        self.expected = expected
        self.got = got
        super().__init__(
            f"{path}: SHA-256 mismatch: expected {expected}, got {got}. This is not the "
            f"workbook this package was written against (download it again from {CATALOG}), "
            "or pass verify=False to read another release at your own risk.",
            path=path,
        )


class SheetMissingError(TalentMigrationError):
    """A data sheet is not in the workbook."""

    def __init__(self, path: str | Path, sheet: str, found: Sequence[str]) -> None:
        self.sheet = sheet
        self.found = list(found)
        super().__init__(
            f"{path}: sheet {sheet!r} not found; the workbook has sheets {self.found}",
            path=path,
        )


class ColumnMissingError(TalentMigrationError):
    """A sheet lacks a column the loader needs (renamed or deleted)."""

    def __init__(
        self, path: str | Path, sheet: str, missing: Sequence[str], found: Sequence[str]
    ) -> None:
        self.sheet = sheet
        self.missing = list(missing)
        self.found = list(found)
        super().__init__(
            f"{path}: sheet {sheet!r}: expected column(s) {self.missing} not found "
            f"(matched ignoring case and surrounding spaces); the sheet has columns {self.found}",
            path=path,
        )


class WorkbookValueError(TalentMigrationError):
    """A cell holds something the loader cannot use (text in a number column, a duplicate
    key, a country code that maps to no ISO3 code)."""
