"""The attrition ledger: every row that a stage removes is counted, with its reason.

Each stage records, per table and step, how many rows came in, how many went
out, and why each removed row was removed. Steps that change values without
removing rows (for example a country name that maps to nothing being set to
missing) are recorded as *modified*. The ledger is a processed table that the
report shows, so nothing is lost silently.

Examples
--------
>>> from analysis.ledger import Ledger
>>> ledger = Ledger()
>>> ledger.record("read", "positions", "validate rows", rows_in=10, rows_out=8,
...               removed={"salary not positive": 2})
>>> ledger.to_frame()[["table", "reason", "rows_affected"]].to_dict("records")
[{'table': 'positions', 'reason': 'salary not positive', 'rows_affected': 2}]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

LEDGER_COLUMNS: list[str] = [
    "stage",
    "table",
    "step",
    "rows_in",
    "rows_out",
    "action",
    "reason",
    "rows_affected",
]


class LedgerError(ValueError):
    """Raised when a step's counts do not add up."""


@dataclass
class Ledger:
    """Accumulates attrition records; see the module docstring."""

    entries: list[dict[str, object]] = field(default_factory=list)

    def record(
        self,
        stage: str,
        table: str,
        step: str,
        *,
        rows_in: int,
        rows_out: int,
        removed: dict[str, int] | None = None,
        modified: dict[str, int] | None = None,
    ) -> None:
        """Record one step.

        Parameters
        ----------
        stage, table, step
            Where the step happened (``"read"``, ``"positions"``, ``"validate rows"``).
        rows_in, rows_out
            Row counts before and after the step.
        removed
            Rows removed, by reason. Must sum to ``rows_in - rows_out``.
        modified
            Rows kept but changed (values set to missing, ...), by reason.

        Raises
        ------
        LedgerError
            If the removed rows do not account for the difference in counts.
        """
        removed = {k: int(v) for k, v in (removed or {}).items() if v}
        modified = {k: int(v) for k, v in (modified or {}).items() if v}
        if int(rows_in) - int(rows_out) != sum(removed.values()):
            raise LedgerError(
                f"ledger for {stage}/{table}/{step}: rows_in={rows_in} - rows_out={rows_out} "
                f"!= removed {sum(removed.values())} ({removed})"
            )
        base = {
            "stage": stage,
            "table": table,
            "step": step,
            "rows_in": int(rows_in),
            "rows_out": int(rows_out),
        }
        if not removed and not modified:
            self.entries.append({**base, "action": "none", "reason": "", "rows_affected": 0})
        for reason, n in sorted(removed.items()):
            self.entries.append({**base, "action": "removed", "reason": reason, "rows_affected": n})
        for reason, n in sorted(modified.items()):
            self.entries.append(
                {**base, "action": "modified", "reason": reason, "rows_affected": n}
            )

    def extend(self, other: Ledger) -> None:
        """Append another ledger's entries (stages run one after the other)."""
        self.entries.extend(other.entries)

    def to_frame(self) -> pd.DataFrame:
        """The ledger as a tidy table, one row per (stage, table, step, reason)."""
        frame = pd.DataFrame(self.entries, columns=LEDGER_COLUMNS)
        return frame.astype({"rows_in": "int64", "rows_out": "int64", "rows_affected": "int64"})

    def removed_total(self, table: str | None = None) -> int:
        """Rows removed in all steps (of one table, if given)."""
        return sum(
            int(e["rows_affected"])
            for e in self.entries
            if e["action"] == "removed" and (table is None or e["table"] == table)
        )
