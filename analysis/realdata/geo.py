"""Great-circle distances between points given in degrees.

Examples
--------
>>> round(float(great_circle_km(37.5665, 126.9780, 38.9072, -77.0369)))  # Seoul-Washington
11164
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM: float = 6371.0088


def great_circle_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> np.ndarray:
    """Haversine distance on a sphere of radius :data:`EARTH_RADIUS_KM`, in km.

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Latitudes and longitudes in degrees (scalars or arrays that broadcast).

    Returns
    -------
    numpy.ndarray
        Distances in km (a 0-d array for scalar input). The spherical model is within
        about 0.5% of the ellipsoidal (geodesic) distance.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
