"""Read Revelio-style individual-level deliveries (real or synthetic).

See :func:`read_delivery` and ``../shared/docs/revelio-input-contract.md``.
"""

from analysis.sources.revelio.errors import (
    DeliveryError,
    EmptyTableError,
    KeyIntegrityError,
    MissingColumnError,
    MissingTableError,
    UnreadableFileError,
)
from analysis.sources.revelio.reader import (
    Delivery,
    describe_problems,
    read_delivery,
    read_delivery_manifest,
)
from analysis.sources.revelio.schema import TABLES

__all__ = [
    "TABLES",
    "Delivery",
    "DeliveryError",
    "EmptyTableError",
    "KeyIntegrityError",
    "MissingColumnError",
    "MissingTableError",
    "UnreadableFileError",
    "describe_problems",
    "read_delivery",
    "read_delivery_manifest",
]
