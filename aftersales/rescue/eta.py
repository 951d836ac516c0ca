"""Estimated arrival without an online map (the shared formula of ``common.eta``): great-circle distance × the store's
detour factor ÷ the area's speed, plus preparation time for a unit that still has to leave. Vectorised (numpy) so that the suggestion for one case
over hundreds of units, and the cost matrix for the optimal assignment, are a few array operations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from aftersales.common.eta import EARTH_KM, great_circle_km, travel_minutes, whole_minutes  # noqa: F401 - the shared formula

#: the cost of a pair that cannot be matched (the unit lacks the capability) in the assignment matrix
IMPOSSIBLE = 1e9


def eta_minutes(km: Any, *, detour: float, speed_kmh: float, prep: Any) -> Any:
    return travel_minutes(km, detour=detour, speed_kmh=speed_kmh) + prep


def factors(area: Any) -> dict[str, float]:
    if area is None:
        return {"detour": 1.35, "speed_kmh": 35.0, "prep": 5.0}
    return {"detour": float(area.detour_factor), "speed_kmh": float(area.speed_kmh), "prep": float(area.prep_minutes)}


def calibrated_detour(samples: list[tuple[float, float]], *, speed_kmh: float, current: Decimal) -> Decimal:
    """The detour factor that past arrivals show: for each (great-circle km, actual travel minutes) the factor that
    would have predicted it; the median, kept within 1.0–3.0. Fewer than 5 samples keep the current factor."""
    ratios = [minutes * speed_kmh / 60.0 / km for km, minutes in samples if km >= 0.5 and minutes > 0]
    if len(ratios) < 5:
        return current
    median = float(np.median(ratios))
    return Decimal(str(round(min(3.0, max(1.0, median)), 2)))
