"""Running the command line as a user would, for the hostile-input tests (tests only).

:func:`run_cli` calls :func:`analysis.cli.main` in this process and captures what it
prints. A test of a bad input asserts with :func:`assert_user_error` that the exit
status is the expected one, that no traceback escaped (an exception leaving ``main``
is what prints one: it fails the test here) and that the message names what the user
must look at.
"""

from __future__ import annotations

import contextlib
import io
import traceback
from dataclasses import dataclass

from analysis.cli import main


@dataclass
class Run:
    """Exit status and captured output of one command."""

    status: int
    out: str
    err: str
    traceback: str | None  # the traceback that escaped ``main``, if one did


def run_cli(*argv: object) -> Run:
    """``python -m analysis *argv`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    escaped = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse rejects an argument: usage and exit 2
            status = int(exc.code or 0)
        except Exception:
            status, escaped = -1, traceback.format_exc()
    return Run(status, out.getvalue(), err.getvalue(), escaped)


def assert_user_error(run: Run, *names: str, status: int = 1) -> None:
    """A user error: ``status``, no traceback, one ``error:`` message naming ``names``."""
    assert run.traceback is None, run.traceback
    assert "Traceback" not in run.err, run.err
    assert run.status == status, (run.status, run.err)
    assert "error:" in run.err, run.err
    for name in names:
        assert name in run.err, (name, run.err)
