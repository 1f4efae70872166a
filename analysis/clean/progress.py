"""A minimal progress display: one line per step, with elapsed time, to stderr.

Examples
--------
>>> import io
>>> stream = io.StringIO()
>>> progress = Progress(enabled=True, stream=stream, clock=iter([0.0, 1.5]).__next__)
>>> with progress.step("read delivery"):
...     pass
>>> stream.getvalue().splitlines()[-1]
'[clean    1.5s] read delivery: done in 1.5s'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Progress:
    """Prints ``[clean <elapsed>] <step>`` when a step starts and when it ends."""

    enabled: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    clock: Callable[[], float] = time.perf_counter
    _start: float | None = None

    def _elapsed(self) -> float:
        now = self.clock()
        if self._start is None:
            self._start = now
        return now - self._start

    def log(self, message: str) -> None:
        """Print one line (when enabled)."""
        if self.enabled:
            print(f"[clean {self._elapsed():6.1f}s] {message}", file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Announce a step, run it, and report its duration."""
        if not self.enabled:
            yield
            return
        begin = self._elapsed()
        print(f"[clean {begin:6.1f}s] {name} ...", file=self.stream, flush=True)
        yield
        end = self._elapsed()
        print(
            f"[clean {end:6.1f}s] {name}: done in {end - begin:.1f}s", file=self.stream, flush=True
        )
