"""Where the report tests save what a person should look at: screenshots of the pages,
the PDF's pages as PNG. ``$ANALYSIS_TEST_ARTEFACTS``, default ``test-artefacts/`` in the
checkout (git ignores it)."""

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
ARTEFACTS = Path(os.environ.get("ANALYSIS_TEST_ARTEFACTS", CHECKOUT / "test-artefacts"))
