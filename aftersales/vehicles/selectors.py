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


def shared_plates(user: Any, limit: int = 100) -> list[dict[str, Any]]:
    """Plates carried by more than one vehicle of the dealer group, for the data-quality page: per plate the vehicles
    this user may see, and how many more sit at stores they do not work at (named by count only)."""
    from django.db.models import Count

    visible = vehicles_visible_to(user).exclude(plate="")
    group_cars = Vehicle.objects.filter(group_id=user.dealer_group_id).exclude(plate="")
    counts = dict(
        group_cars.filter(plate__in=visible.values("plate")).values("plate").annotate(n=Count("id")).filter(n__gt=1)
        .order_by("plate").values_list("plate", "n")[:limit]
    )
    rows: dict[str, dict[str, Any]] = {p: {"plate": p, "vehicles": [], "elsewhere": n} for p, n in counts.items()}
    for car in visible.filter(plate__in=list(counts)).select_related("owner").order_by("plate", "id"):
        rows[car.plate]["vehicles"].append(car)
        rows[car.plate]["elsewhere"] -= 1
    return list(rows.values())
