"""Estimated travel time without an online map, shared by every app that sends someone somewhere: great-circle
distance × a detour factor ÷ an average speed (plus any fixed preparation minutes).

Works on floats and on numpy arrays (broadcast), so a whole distance matrix for a route plan is a few array
operations. Rescue (``rescue/eta.py``) and mobility use it."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

EARTH_KM = 6371.0088
#: city driving without a live map: roads are ~1.35× the straight line, ~30 km/h door to door
DEFAULT_DETOUR = 1.35
DEFAULT_SPEED_KMH = 30.0


def great_circle_km(lat1: Any, lng1: Any, lat2: Any, lng2: Any) -> Any:
    """Haversine distance in km (WGS-84 degrees in); floats or numpy arrays."""
    p1 = np.radians(np.asarray(lat1, dtype=float))
    p2 = np.radians(np.asarray(lat2, dtype=float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lng2, dtype=float) - np.asarray(lng1, dtype=float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def travel_minutes(km: Any, *, detour: float = DEFAULT_DETOUR, speed_kmh: float = DEFAULT_SPEED_KMH) -> Any:
    """Minutes to cover ``km`` of straight line on the road."""
    return np.asarray(km, dtype=float) * detour / max(speed_kmh, 1.0) * 60.0


def eta_minutes(lat1: Any, lng1: Any, lat2: Any, lng2: Any, *, detour: float = DEFAULT_DETOUR,
                speed_kmh: float = DEFAULT_SPEED_KMH, prep: Any = 0.0) -> Any:
    """Great-circle × detour ÷ speed, plus ``prep`` minutes before leaving."""
    return travel_minutes(great_circle_km(lat1, lng1, lat2, lng2), detour=detour, speed_kmh=speed_kmh) + prep


def whole_minutes(value: float) -> int:
    """Round a travel time up to whole minutes (at least one minute for any positive time)."""
    value = float(value)
    return max(1, math.ceil(value)) if value > 0 else 0


def arrival(start: dt.datetime, lat1: Any, lng1: Any, lat2: Any, lng2: Any, *, detour: float = DEFAULT_DETOUR,
            speed_kmh: float = DEFAULT_SPEED_KMH, prep: float = 0.0) -> dt.datetime:
    """When someone leaving (lat1, lng1) at ``start`` arrives at (lat2, lng2), to the whole minute."""
    minutes = whole_minutes(float(eta_minutes(lat1, lng1, lat2, lng2, detour=detour, speed_kmh=speed_kmh, prep=prep)))
    return (start + dt.timedelta(minutes=minutes)).replace(second=0, microsecond=0)
