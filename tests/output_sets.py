"""Make a hand-made folder pass the stages' input checks (tests only).

Tests that feed a stage a few hand-written tables (a validation rule, one notebook)
seal the folder the way the producing stage would: a manifest listing every file with
its hash (:mod:`analysis.output_set`).
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.output_set import CLEAN_MANIFEST, ESTIMATES_MANIFEST, file_record


def seal_estimates(folder: Path, **fields: object) -> Path:
    """Write ``estimates_manifest.json`` over every CSV in ``folder``."""
    tables = {
        path.stem: {"file": path.name, "rows": None, **file_record(path)}
        for path in sorted(folder.glob("*.csv"))
        if path.name != "validation.csv"
    }
    manifest = {"stage": "estimate", "synthetic": True, **fields, "tables": tables}
    (folder / ESTIMATES_MANIFEST).write_text(json.dumps(manifest))
    return folder


def seal_clean(folder: Path) -> Path:
    """Write the clean stage's ``manifest.json`` over every parquet file in ``folder``."""
    outputs = {path.name: file_record(path) for path in sorted(folder.glob("*.parquet"))}
    (folder / CLEAN_MANIFEST).write_text(json.dumps({"stage": "clean", "outputs": outputs}))
    return folder
