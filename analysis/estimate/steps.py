"""The estimate stage's steps, and the key that lets an unchanged step be reused.

A :class:`Step` makes some of the stage's tables, and values that later steps take (the
skill-set pay, for example). Its key (:func:`step_key`) is a SHA-256 of everything its
result depends on:

- the panel: the clean manifest's checksum of ``panel.parquet``;
- the package's code and reference data (:func:`code_digest`): every file of the
  package, the specification module without its data entries;
- Python and the numerical libraries (:func:`runtime`);
- the values of the specification entries the step declares it reads
  (:attr:`Step.reads`, names from :func:`specification_entries`);
- the keys of the steps whose results it takes (:attr:`Step.after`).

A changed counterfactual target thus changes the mobility step's key alone. When
``<estimates>/_steps/<step>.pickle`` (:class:`StepStore`) holds a result under the key
of this run, the stage reuses it; any change of code, data, library or declared entry
computes the step again. A key misses only a specification entry the step reads without
declaring it: ``tests/test_estimate_steps.py`` changes the entries one at a time and
checks that no table of a step that does not declare the entry changes, and that every
data entry of the specification module is declared by a step or named descriptive.

Written here rather than with ``joblib.Memory``: joblib keys a function by its own code
and arguments, not by the code it calls or the module-level specification it reads, so
it would hand back results of an earlier specification.

Examples
--------
>>> entries = specification_entries()
>>> entries["SPEC[premium_year_by_country]"]
2024
>>> sorted(DESCRIPTIVE_ENTRIES)[:2]
['MINIMUM_PERSONS', 'SPEC[cluster]']
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import pickle
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis import config
from analysis.estimate import specification
from analysis.io import write_atomic

logger = logging.getLogger(__name__)

#: Libraries whose version is part of every step's key (they compute the numbers).
LIBRARIES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scipy",
    "duckdb",
    "pyfixest",
    "statsmodels",
    "pyarrow",
    "formulaic",
)

#: Specification entries that describe the model in words for the manifest and change no
#: number (the values the estimators use are in ``PREMIUM_MODEL``), or that only decide
#: whether the stage runs at all (``MINIMUM_PERSONS``).
DESCRIPTIVE_ENTRIES: frozenset[str] = frozenset(
    {
        "SPEC[premium_controls]",
        "SPEC[weights]",
        "SPEC[cluster]",
        "SPEC[fixed_effects_solver]",
        "SPEC[mobility_model]",
        "MINIMUM_PERSONS",
    }
)

#: What a step returns: its tables and kept values, by name.
StepResult = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One step of the estimate stage.

    Attributes
    ----------
    name
        Short name (the store's file name).
    label
        What the step does, for the log.
    tables
        The tables it makes (names of :data:`analysis.estimate.stage.TABLES`).
    run
        ``run(data, done)``: the result, from the stage's inputs and the results of
        the steps done before it (by name).
    reads
        The specification entries it reads (keys of :func:`specification_entries`).
    after
        The steps whose results it takes.
    keeps
        Values other than tables that it returns for later steps or the manifest.
    """

    name: str
    label: str
    tables: tuple[str, ...]
    run: Callable[[Any, Mapping[str, StepResult]], StepResult]
    reads: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    keeps: tuple[str, ...] = ()


def data_entry_names(path: Path | None = None) -> list[str]:
    """Names assigned at the top level of the specification module (its data entries)."""
    tree = ast.parse(Path(path or specification.__file__).read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def specification_entries() -> dict[str, object]:
    """The specification's data entries as they are now (a change made at run time,
    such as ``SPEC["counterfactual_targets_pct"] = ...`` in a notebook, included); a
    dictionary is split into one entry per key, ``SPEC[weights]``."""
    entries: dict[str, object] = {}
    for name in data_entry_names():
        value = getattr(specification, name)
        if isinstance(value, dict):
            entries.update({f"{name}[{k}]": v for k, v in value.items()})
        else:
            entries[name] = value
    return entries


def specification_code(path: Path | None = None) -> str:
    """The specification module with its data entries taken out: its functions and
    classes, whose change refits every step."""
    tree = ast.parse(Path(path or specification.__file__).read_text(encoding="utf-8"))
    tree.body = [n for n in tree.body if not isinstance(n, ast.Assign | ast.AnnAssign)]
    return ast.unparse(tree)


def code_digest(package_dir: Path = config.PACKAGE_DIR) -> str:
    """SHA-256 over every file of the package (path and content), the specification
    module counted by :func:`specification_code`."""
    spec_file = Path(specification.__file__).resolve()
    digest = hashlib.sha256()
    files = sorted(
        p
        for p in package_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    for path in files:
        content = (
            specification_code(path).encode() if path.resolve() == spec_file else path.read_bytes()
        )
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def runtime() -> dict[str, str]:
    """Python, the machine's architecture and the versions of :data:`LIBRARIES`."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {"python": platform.python_version(), "machine": platform.machine(), **versions}


def fingerprint(value: object) -> str:
    """A specification entry's value as text (JSON; ``repr`` for other objects)."""
    return json.dumps(value, sort_keys=True, default=repr)


def step_key(
    step: Step,
    *,
    panel_sha256: str,
    code: str,
    environment: Mapping[str, str],
    entries: Mapping[str, object],
    done: Mapping[str, str],
) -> str:
    """The key of ``step``'s result (see the module's description).

    Parameters
    ----------
    step
        The step.
    panel_sha256
        Checksum of the panel it reads.
    code
        :func:`code_digest`.
    environment
        :func:`runtime`.
    entries
        :func:`specification_entries`; a name in ``step.reads`` missing from it is a
        ``KeyError``.
    done
        Keys of the steps done before, by name.
    """
    content = {
        "step": step.name,
        "panel": panel_sha256,
        "code": code,
        "runtime": dict(environment),
        "reads": {name: fingerprint(entries[name]) for name in step.reads},
        "after": {name: done[name] for name in step.after},
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class StepStore:
    """Results of the steps of the last run, under their keys, in ``folder``.

    One pickle per step, ``<folder>/<step>.pickle``, holding the key and the result,
    written atomically. A file that cannot be read or holds another key is a miss: the
    step is computed again and the file replaced.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.pickle"

    def load(self, name: str, key: str) -> StepResult | None:
        """The result stored for step ``name`` under ``key``, or ``None``."""
        path = self.path(name)
        if not path.is_file():
            return None
        try:
            with path.open("rb") as handle:
                stored = pickle.load(handle)
        except Exception as exc:  # a truncated or foreign file: computed again
            logger.warning("cannot read the stored result %s (%s); computing it again", path, exc)
            return None
        if not isinstance(stored, dict) or stored.get("key") != key:
            return None
        return stored["result"]

    def save(self, name: str, key: str, result: StepResult) -> Path:
        """Store ``result`` of step ``name`` under ``key``."""
        payload = {"key": key, "result": result}
        return write_atomic(
            self.path(name),
            lambda tmp: tmp.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)),
        )
