from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from aftersales.common.scoping import get_or_404, restrict_customers

from .models import MileageReading, Vehicle


def vehicles_visible_to(user: Any) -> QuerySet[Vehicle]:
    """A vehicle is visible when its current owner is known at one of the user's stores."""
    return restrict_customers(Vehicle.objects.all(), user, customer_field="owner")


def vehicle_get(user: Any, vehicle_id: int) -> Vehicle:
    return get_or_404(vehicles_visible_to(user).select_related("owner", "selling_store"), pk=vehicle_id)


def vehicle_list(user: Any, *, q: str = "", owner_id: int | None = None, make: str = "", fuel_type: str = "") -> QuerySet[Vehicle]:
    qs = vehicles_visible_to(user).select_related("owner")
    if q:
        text = "".join(q.split()).upper()
        qs = qs.filter(Q(plate__contains=text) | Q(vin__contains=text))
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if make:
        qs = qs.filter(make__iexact=make)
    if fuel_type:
        qs = qs.filter(fuel_type=fuel_type)
    return qs.order_by("-id")


def mileage_list(user: Any, vehicle_id: int) -> QuerySet[MileageReading]:
    vehicle = vehicle_get(user, vehicle_id)
    return MileageReading.objects.filter(vehicle=vehicle).select_related("recorded_by").order_by("-read_at", "-id")
