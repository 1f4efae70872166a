"""One matplotlib style for every figure of the report."""

from __future__ import annotations

import sys

import matplotlib

#: Running in a notebook kernel: figures are shown inline (and kept open for the page);
#: scripts and tests draw off screen.
IN_NOTEBOOK: bool = "ipykernel" in sys.modules
if not IN_NOTEBOOK:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

STYLE: dict[str, object] = {
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 12,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "font.size": 10,
    "svg.hashsalt": "analysis",  # reproducible vector output
    "pdf.compression": 6,
}
#: Colours: our estimate, the published figure.
ESTIMATE, PUBLISHED = "#1f4e79", "#c0392b"


def apply() -> None:
    """Apply the report style (idempotent)."""
    plt.rcParams.update(STYLE)
