"""The maintenance plan of a repair order's vehicle, provided to billing's reminder card at start
(``billing.care_plan.provide_maintenance_plan`` in ``CareConfig.ready``; issue 19)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from .models import MaintenancePlan


def order_maintenance_plan(order: Any) -> tuple[int, int] | None:
    """(interval months, interval km) of the vehicle's maintenance plan: the most specific wins (make + model, make,
    the store's default, the group's default), as the care reminders read it."""
    vehicle, store = order.vehicle, order.store
    candidates = MaintenancePlan.objects.filter(group_id=store.group_id).filter(
        Q(store_id=store.pk) | Q(store__isnull=True)
    ).filter(Q(make="", model="") | Q(make=vehicle.make, model="") | Q(make=vehicle.make, model=vehicle.model))
    best = None
    for plan in candidates:
        rank = (2 if plan.model else 1 if plan.make else 0, 1 if plan.store_id else 0)
        if best is None or rank > best[0]:
            best = (rank, plan)
    return (best[1].interval_months, best[1].interval_km) if best else None
