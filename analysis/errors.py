"""Errors that are the user's to fix: a bad argument, a missing or damaged input.

The command line prints an :class:`InputError` as ``error: <message>`` and exits 1,
with no traceback; any other exception is a bug in the package and keeps its
traceback. Library code raises the most specific subclass, so a notebook can catch
``InputError`` as well.

Examples
--------
>>> from analysis.errors import StageInputError
>>> err = StageInputError("no panel.parquet in data/processed", rerun="clean")
>>> str(err)
'no panel.parquet in data/processed: run `python -m analysis clean` to (re)build it'
"""

from __future__ import annotations


class InputError(ValueError):
    """An input the user gave (argument, file or folder) that cannot be used."""


class ArgumentError(InputError):
    """A command-line or function argument outside what it accepts."""


class StageInputError(InputError):
    """A stage's input folder is missing, incomplete or changed since it was written.

    Parameters
    ----------
    problem
        What is wrong, naming the folder and file.
    rerun
        The stage whose output it is; the message says to run it (again).
    """

    def __init__(self, problem: str, *, rerun: str | None = None) -> None:
        self.problem = problem
        self.rerun = rerun
        hint = f": run `python -m analysis {rerun}` to (re)build it" if rerun else ""
        super().__init__(problem + hint)


class EstimationDataError(InputError):
    """The data hold too little for an estimator: no events, no treated rows, a
    treatment collinear with the fixed effects. The message names what is missing."""


class SparkUnavailableError(InputError):
    """Spark cannot run as asked: pyspark or Java missing, a master or Spark Connect
    server that cannot be reached, a setting Spark refuses. The message says which."""
