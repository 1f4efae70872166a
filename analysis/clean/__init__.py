"""Cleaning: a delivery to a person-year panel, persons, moves and an attrition ledger.

Written once as Ibis expressions (:mod:`analysis.clean.panel`) and run on DuckDB
(default, out of core) or Spark (:mod:`analysis.clean.engine`); see
:func:`clean_delivery`.
"""

from analysis.clean.pipeline import KEYS, OUTPUTS, clean_delivery

__all__ = ["KEYS", "OUTPUTS", "clean_delivery"]
