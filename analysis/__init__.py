"""Reproducible econometrics of the AI wage premium and AI-talent mobility.

The package follows one direction of flow (see ``docs/`` and the README)::

    sources -> clean -> estimate -> validate -> report

Each stage lives in its own sub-package and reads only what the stage before
it wrote, plus configuration from :mod:`analysis.config`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kr-ai-talent")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
