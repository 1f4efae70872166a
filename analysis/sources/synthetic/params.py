"""Load, query and rewrite the synthetic world's one parameters file.

Every parameter in ``params.toml`` is an inline table with a ``value`` (or, for the
AI skill clusters, a ``weight``) and a ``status``: ``calibrated`` with the id of the
published figure it is fitted to (``target``), or ``assumption`` with a sentence
saying why (``why``). :func:`load_params` checks that every parameter says which.

Examples
--------
>>> from analysis.sources.synthetic.params import load_params
>>> params = load_params()
>>> params.value("mobility", "home")
1.4
>>> params.by_country("mobility", "pull", "CAN")   # falls back to the 'default' entry
0.0
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

#: The parameters file that ships with the package.
DEFAULT_PARAMS: Path = Path(__file__).with_name("params.toml")

STATUSES = ("calibrated", "assumption")


class ParamsError(ValueError):
    """A parameters file that does not say where a number comes from."""


@dataclass(frozen=True)
class Params:
    """The parsed parameters file.

    Attributes
    ----------
    data
        The TOML document as nested dicts.
    path
        Where it was read from.
    """

    data: dict[str, Any]
    path: Path

    def entry(self, section: str, name: str) -> dict[str, Any]:
        """The full inline table of one parameter (value, status, target/why)."""
        node: Any = self.data
        for part in section.split("."):
            node = node[part]
        try:
            return node[name]
        except KeyError as exc:
            raise KeyError(f"parameter [{section}] {name} not in {self.path}") from exc

    def value(self, section: str, name: str) -> Any:
        """The value of one parameter."""
        return self.entry(section, name)["value"]

    def by_country(self, section: str, name: str, country: str) -> float:
        """A per-country value, falling back to the ``default`` key."""
        table = self.value(section, name)
        if country in table:
            return table[country]
        if "default" in table:
            return table["default"]
        raise KeyError(f"[{section}] {name} has no value for {country} and no default")

    @property
    def countries(self) -> list[str]:
        return list(self.value("world", "countries"))

    @property
    def clusters(self) -> dict[str, dict[str, Any]]:
        """The 12 AI skill clusters with ``named``, ``weight`` and provenance."""
        return dict(self.data["ai"]["clusters"])

    def table(self) -> pd.DataFrame:
        """One row per parameter: section, name, status, target, why, value."""
        rows = []
        for section, name, entry in _leaves(self.data):
            value = entry.get("value", entry.get("weight"))
            rows.append(
                {
                    "section": section,
                    "name": name,
                    "status": entry.get("status", ""),
                    "target": entry.get("target", ""),
                    "why": entry.get("why", ""),
                    "value": value,
                }
            )
        return pd.DataFrame(rows)


def _leaves(data: dict[str, Any], prefix: str = ""):
    """Yield (section, name, entry) for every parameter of the document."""
    for key, node in data.items():
        if key == "calibration" and not prefix:
            continue
        if not isinstance(node, dict):
            continue
        if "status" in node or "value" in node or "weight" in node:
            yield prefix.rstrip("."), key, node
        else:
            yield from _leaves(node, f"{prefix}{key}.")


def load_params(path: str | Path | None = None) -> Params:
    """Read and check a parameters file.

    Raises
    ------
    ParamsError
        If a parameter has no value, no valid status, a calibrated parameter names no
        target, or an assumption gives no reason.
    """
    path = Path(path) if path else DEFAULT_PARAMS
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    problems = []
    for section, name, entry in _leaves(data):
        where = f"[{section}] {name}"
        if "value" not in entry and "weight" not in entry:
            problems.append(f"{where}: no value")
        status = entry.get("status")
        if status not in STATUSES:
            problems.append(f"{where}: status must be one of {STATUSES}, got {status!r}")
        elif status == "calibrated" and not entry.get("target"):
            problems.append(f"{where}: calibrated but names no target figure")
        elif status == "assumption" and not entry.get("why"):
            problems.append(f"{where}: an assumption needs a reason ('why')")
    if problems:
        raise ParamsError(f"{path}:\n  " + "\n  ".join(problems))
    return Params(data=data, path=path)


def _format_value(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_format_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):  # also numpy floats; six significant digits
        return repr(float(f"{float(value):.6g}"))
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    return str(value)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def rewrite_values(
    path: Path, updates: dict[tuple[str, str], Any], calibration_lines: list[str]
) -> None:
    """Rewrite the values of some parameters in place, keeping comments and layout.

    Parameters
    ----------
    path
        The parameters file.
    updates
        ``{(section, name): new value}``; for AI clusters the section is
        ``ai.clusters`` and the value replaces ``weight``.
    calibration_lines
        Lines that replace the body of the ``[calibration]`` section.
    """
    lines = path.read_text().splitlines()
    section = ""
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    in_calibration = False
    for line in lines:
        header = re.fullmatch(r"\[([^\]]+)\]\s*", line)
        if header:
            section = header.group(1)
            in_calibration = section == "calibration"
            out.append(line)
            if in_calibration:
                out.append(
                    "# Written by `python -m analysis calibrate`: achieved moments vs targets."
                )
                out.extend(calibration_lines)
            continue
        if in_calibration:
            continue
        match = re.match(r'^("[^"]+"|[A-Za-z0-9_]+)\s*=\s*\{', line)
        if match:
            name = match.group(1).strip('"')
            if (section, name) in updates:
                field = "weight" if section == "ai.clusters" else "value"
                new = _format_value(updates[(section, name)])
                line, n = _replace_field(line, field, new)
                if n != 1:
                    raise ParamsError(f"cannot rewrite [{section}] {name} in {path}")
                seen.add((section, name))
        out.append(line)
    missing = set(updates) - seen
    if missing:
        raise ParamsError(f"parameters not found in {path}: {sorted(missing)}")
    path.write_text("\n".join(out) + "\n")


def _replace_field(line: str, field: str, new: str) -> tuple[str, int]:
    """Replace ``field = <value>`` inside an inline table, where value may be a table."""
    start = re.search(rf"\b{field}\s*=\s*", line)
    if not start:
        return line, 0
    i = start.end()
    if line[i] == "{":
        depth, j = 0, i
        while j < len(line):
            depth += line[j] == "{"
            depth -= line[j] == "}"
            j += 1
            if depth == 0:
                break
    elif line[i] == "[":
        j = line.index("]", i) + 1
    else:
        j = i
        while j < len(line) and line[j] not in ",}":
            j += 1
        while line[j - 1] == " ":
            j -= 1
    return line[:i] + new + line[j:], 1
