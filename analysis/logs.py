"""The package's progress messages go through :mod:`logging`, under the logger
``analysis`` (``analysis.clean``, ``analysis.estimate.stage``, ...).

A library user sees nothing below a warning until they configure logging as usual
(``logging.basicConfig(level=logging.INFO)``); the command line shows the ``INFO``
messages on stderr (:func:`log_to_stderr`), leaving stdout to each command's result.
Progress bars over long loops are tqdm's, on stderr, and hide themselves when stderr is
not a terminal.

Examples
--------
>>> import io, logging, contextlib
>>> err = io.StringIO()
>>> with contextlib.redirect_stderr(err):
...     log_to_stderr()
...     logging.getLogger("analysis.example").info("step done")
>>> err.getvalue()
'step done\\n'
"""

from __future__ import annotations

import logging
import sys

#: The package's logger; every module logs under it.
PACKAGE_LOGGER: str = "analysis"


class _CurrentStderr(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is when a message is emitted
    (a redirected stderr in tests and notebooks included)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # logging sets it at construction; stderr is read live
        pass


def log_to_stderr(level: int = logging.INFO) -> None:
    """Show the package's messages from ``level`` up on stderr, one line each (once per
    process: calling it again changes only the level)."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.setLevel(level)
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
