"""The AI skill taxonomy: skill names (raw and mapped) to the report's 12 AI clusters.

Columns of ``analysis/data/ai_skill_taxonomy.csv``: ``name`` (a skill as written),
``name_type`` (``raw``: as on a profile, ``skill_raw``; ``mapped``: the vendor's
standardised name, ``skill_mapped``/``skill_k35000``), ``mapped_name`` (the standard
name a raw spelling stands for), ``cluster``, ``cluster_named_by_report`` and
``source``. Matching is case-insensitive.

The BOK counts a worker as AI-skilled if they list at least one of 12 AI-related
skills; it names seven (big data, cloud computing, deep learning, machine learning,
pattern recognition, brain science/neuroscience, signal processing). The other five
are our assumption and are marked so in ``analysis/data/ai_skill_taxonomy.csv``.

Examples
--------
>>> from analysis.sources.taxonomy import load_ai_taxonomy
>>> taxonomy = load_ai_taxonomy()
>>> taxonomy["cluster"].nunique()
12
>>> sorted(taxonomy.loc[taxonomy["cluster_named_by_report"], "cluster"].unique())[:2]
['big data', 'cloud computing']
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import config

TAXONOMY_CSV: Path = config.DATA_RAW / "ai_skill_taxonomy.csv"
COLUMNS = ["name", "name_type", "mapped_name", "cluster", "cluster_named_by_report", "source"]
N_CLUSTERS = 12
N_NAMED = 7


class TaxonomyError(ValueError):
    """A taxonomy file that breaks its own rules."""


def load_ai_taxonomy(path: str | Path | None = None) -> pd.DataFrame:
    """Load and check the taxonomy.

    Raises
    ------
    TaxonomyError
        Naming the file and rows when columns are missing, a name maps to two clusters,
        a cluster is marked both named and assumed, or the cluster counts are not 12/7.
    """
    path = Path(path) if path else TAXONOMY_CSV
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise TaxonomyError(f"{path}: missing column(s) {missing}")
    frame["cluster_named_by_report"] = (
        frame["cluster_named_by_report"].str.lower().map({"true": True, "false": False})
    )
    bad = frame[
        frame["cluster_named_by_report"].isna() | ~frame["name_type"].isin(["raw", "mapped"])
    ]
    if len(bad):
        raise TaxonomyError(
            f"{path}: rows {list(bad.index + 2)} have an invalid "
            "name_type or cluster_named_by_report"
        )
    key = frame["name"].str.strip().str.lower() + "|" + frame["name_type"]
    clusters_per_name = frame.groupby(key)["cluster"].nunique()
    clash = clusters_per_name[clusters_per_name > 1]
    if len(clash):
        raise TaxonomyError(f"{path}: name(s) mapped to more than one cluster: {list(clash.index)}")
    flags = frame.groupby("cluster")["cluster_named_by_report"].nunique()
    if (flags > 1).any():
        raise TaxonomyError(
            f"{path}: cluster(s) marked both named and assumed: {list(flags[flags > 1].index)}"
        )
    named = frame.groupby("cluster")["cluster_named_by_report"].first()
    if len(named) != N_CLUSTERS or int(named.sum()) != N_NAMED:
        raise TaxonomyError(
            f"{path}: expected {N_CLUSTERS} clusters of which {N_NAMED} "
            f"named by the report, found {len(named)} and {int(named.sum())}"
        )
    return frame
