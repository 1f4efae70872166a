"""The synthetic world: a calibrated structural model that writes a Revelio-layout delivery.

See ``docs/synthetic-world.md`` for the model, ``params.toml`` for every number,
:func:`write_synthetic_delivery` to write a delivery, and
:mod:`analysis.sources.synthetic.calibrate` for the simulated-moments calibration.
"""

from analysis.sources.synthetic.params import Params, load_params
from analysis.sources.synthetic.writer import write_synthetic_delivery

__all__ = ["Params", "load_params", "write_synthetic_delivery"]
