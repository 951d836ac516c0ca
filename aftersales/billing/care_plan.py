"""The vehicle's maintenance plan, for the reminder card's next maintenance (``services.next_maintenance``).

The plans are care's (above billing); care provides the lookup at start (``CareConfig.ready``), so billing does not
import it (issue 19). Without care installed there is no plan and the card uses the store's defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: order → (interval months, interval km) of its vehicle's maintenance plan, or None
_PLAN: list[Callable[[Any], tuple[int, int] | None]] = []


def provide_maintenance_plan(lookup: Callable[[Any], tuple[int, int] | None]) -> None:
    _PLAN[:] = [lookup]


def maintenance_plan(order: Any) -> tuple[int, int] | None:
    return _PLAN[0](order) if _PLAN else None
