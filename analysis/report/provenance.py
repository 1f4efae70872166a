"""What data a report page shows, stated on its first cell."""

from __future__ import annotations


def data_statement(data_kind: str, seed: int | None = None, scale: float | None = None) -> str:
    """The Markdown sentence a notebook opens with: synthetic or real data, and for the
    synthetic world its seed and scale.

    Examples
    --------
    >>> print(data_statement("synthetic", 20251205, 1.0))  # doctest: +NORMALIZE_WHITESPACE
    **Data shown: synthetic** (the calibrated synthetic world, seed 20251205, scale 1;
    not real Revelio data).
    >>> data_statement("real")
    '**Data shown: real** (a real Revelio delivery).'
    """
    if data_kind == "synthetic":
        settings = "".join(
            part
            for part in (
                f", seed {seed}" if seed is not None else "",
                f", scale {scale:g}" if scale is not None else "",
            )
        )
        return (
            f"**Data shown: synthetic** (the calibrated synthetic world{settings}; "
            "not real Revelio data)."
        )
    return f"**Data shown: {data_kind}** (a real Revelio delivery)."
