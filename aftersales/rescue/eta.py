"""Estimated arrival without an online map: great-circle distance × the store's detour factor ÷ the area's speed,
plus preparation time for a unit that still has to leave. Vectorised (numpy) so that the suggestion for one case
over hundreds of units, and the cost matrix for the optimal assignment, are a few array operations."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np

EARTH_KM = 6371.0088
#: the cost of a pair that cannot be matched (the unit lacks the capability) in the assignment matrix
IMPOSSIBLE = 1e9


def great_circle_km(lat1: Any, lng1: Any, lat2: Any, lng2: Any) -> Any:
    """Haversine distance in km; works on floats and on numpy arrays (broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lng2, dtype=float) - np.asarray(lng1, dtype=float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def travel_minutes(km: Any, *, detour: float, speed_kmh: float) -> Any:
    return km * detour / max(speed_kmh, 1.0) * 60.0


def eta_minutes(km: Any, *, detour: float, speed_kmh: float, prep: Any) -> Any:
    return travel_minutes(km, detour=detour, speed_kmh=speed_kmh) + prep


def factors(area: Any) -> dict[str, float]:
    if area is None:
        return {"detour": 1.35, "speed_kmh": 35.0, "prep": 5.0}
    return {"detour": float(area.detour_factor), "speed_kmh": float(area.speed_kmh), "prep": float(area.prep_minutes)}


def whole_minutes(value: float) -> int:
    return max(1, math.ceil(value)) if value > 0 else 0


def calibrated_detour(samples: list[tuple[float, float]], *, speed_kmh: float, current: Decimal) -> Decimal:
    """The detour factor that past arrivals show: for each (great-circle km, actual travel minutes) the factor that
    would have predicted it; the median, kept within 1.0–3.0. Fewer than 5 samples keep the current factor."""
    ratios = [minutes * speed_kmh / 60.0 / km for km, minutes in samples if km >= 0.5 and minutes > 0]
    if len(ratios) < 5:
        return current
    median = float(np.median(ratios))
    return Decimal(str(round(min(3.0, max(1.0, median)), 2)))
