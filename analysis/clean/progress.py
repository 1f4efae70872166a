"""The clean stage's progress: one line per step, with the elapsed time, logged under
``analysis.clean`` (:mod:`analysis.logs`; the command line shows it on stderr).

Examples
--------
>>> import logging
>>> lines = []
>>> class Keep(logging.Handler):
...     def emit(self, record):
...         lines.append(record.getMessage())
>>> logging.getLogger("analysis.clean").addHandler(Keep())
>>> logging.getLogger("analysis.clean").setLevel(logging.INFO)
>>> progress = Progress(enabled=True, clock=iter([0.0, 1.5]).__next__)
>>> with progress.step("read delivery"):
...     pass
>>> lines[-1]
'[clean    1.5s] read delivery: done in 1.5s'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

logger = logging.getLogger("analysis.clean")


@dataclass
class Progress:
    """Logs ``[clean <elapsed>] <step>`` when a step starts and when it ends (when
    ``enabled``)."""

    enabled: bool = False
    clock: Callable[[], float] = time.perf_counter
    _start: float | None = None

    def _elapsed(self) -> float:
        now = self.clock()
        if self._start is None:
            self._start = now
        return now - self._start

    def log(self, message: str) -> None:
        """Log one line (when enabled)."""
        if self.enabled:
            logger.info("[clean %6.1fs] %s", self._elapsed(), message)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Announce a step, run it, and report its duration."""
        if not self.enabled:
            yield
            return
        begin = self._elapsed()
        logger.info("[clean %6.1fs] %s ...", begin, name)
        yield
        end = self._elapsed()
        logger.info("[clean %6.1fs] %s: done in %.1fs", end, name, end - begin)
