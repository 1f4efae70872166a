"""Errors raised when a delivery cannot be read.

Every error names the table, the file (or files), the column and, where rows are
at fault, shows example rows with the file and row number they came from, so a
user can find and fix the input without a debugger.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.errors import InputError


class DeliveryError(InputError):
    """A delivery that cannot be read as the input contract describes.

    Attributes
    ----------
    table, column
        Logical table (``users``, ``positions``, ``education``, ``skills``) and column.
    files
        The files at fault.
    examples
        Up to a few offending rows (with ``source_file`` and ``source_row``).
    """

    def __init__(
        self,
        problem: str,
        *,
        table: str | None = None,
        column: str | None = None,
        files: Sequence[str | Path] = (),
        examples: pd.DataFrame | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.table = table
        self.column = column
        self.files = [str(f) for f in files]
        self.examples = examples
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        parts = [self.problem]
        if self.table:
            parts.append(f"  table:  {self.table}")
        if self.column:
            parts.append(f"  column: {self.column}")
        if self.files:
            shown = self.files[:5]
            more = f" (and {len(self.files) - 5} more)" if len(self.files) > 5 else ""
            parts.append("  file:   " + ", ".join(shown) + more)
        if self.examples is not None and len(self.examples):
            with pd.option_context("display.width", 200, "display.max_columns", 20):
                rows = self.examples.to_string(index=False)
            parts.append("  example rows:\n    " + rows.replace("\n", "\n    "))
        if self.hint:
            parts.append(f"  hint:   {self.hint}")
        return "\n".join(parts)


class MissingTableError(DeliveryError):
    """A table of the contract has no file in the delivery folder."""


class UnreadableFileError(DeliveryError):
    """A file cannot be opened or parsed as parquet/CSV."""


class MissingColumnError(DeliveryError):
    """A required column (under any of its aliases) is absent from a part file."""


class EmptyTableError(DeliveryError):
    """A table that must have rows has none (its files hold a header only)."""


class KeyIntegrityError(DeliveryError):
    """An identifier is missing, non-integral, or a key is duplicated."""
