"""Reads for connected vehicles, scoped to the acting user's stores (another store's device or alert is a 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from aftersales.common.permissions import require
from aftersales.common.scoping import get_or_404, restrict_to_stores

from .choices import SEVERITY_RANK, AlertStatus
from .models import Alert, Device, Reading, Rejection


def devices(user: Any, *, store_id: int | None = None, query: str = "") -> QuerySet[Device]:
    require(user, "telematics.view_device")
    qs = restrict_to_stores(Device.objects.select_related("vehicle", "vehicle__owner", "store"), user)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if query:
        qs = qs.filter(Q(device_id__icontains=query) | Q(vehicle__plate__icontains=query) | Q(vehicle__vin__icontains=query))
    return qs.annotate(open_alerts=Count("vehicle__telematics_alerts", filter=Q(vehicle__telematics_alerts__status=AlertStatus.OPEN),
                                         distinct=True)).order_by("-last_seen_at", "device_id")


def device_get(user: Any, pk: int) -> Device:
    require(user, "telematics.view_device")
    return get_or_404(restrict_to_stores(Device.objects.select_related("vehicle", "vehicle__owner", "store"), user), pk=pk)


def alerts(user: Any, *, store_id: int | None = None, status: str | None = AlertStatus.OPEN,
           vehicle_id: int | None = None) -> QuerySet[Alert]:
    require(user, "telematics.view_alert")
    qs = restrict_to_stores(Alert.objects.select_related("vehicle", "customer", "store", "recommended_service"), user)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    if vehicle_id:
        qs = qs.filter(vehicle_id=vehicle_id)
    return qs.order_by("-opened_at", "-id")


def alert_get(user: Any, pk: int) -> Alert:
    require(user, "telematics.view_alert")
    return get_or_404(restrict_to_stores(Alert.objects.select_related("vehicle", "customer", "store"), user), pk=pk)


def sort_alerts(rows: list[Alert]) -> list[Alert]:
    return sorted(rows, key=lambda a: (SEVERITY_RANK.get(a.severity, 9), -a.opened_at.timestamp()))


def readings(user: Any, device: Device, *, days: int = 7, limit: int = 2000) -> list[Reading]:
    """A device's readings of the last ``days`` days (oldest first, at most ``limit``: the newest ones)."""
    require(user, "telematics.view_reading")
    since = timezone.now() - dt.timedelta(days=max(1, min(days, 400)))
    rows = list(Reading.objects.filter(device=device, recorded_at__gte=since).order_by("-recorded_at", "-seq")[:limit])
    rows.reverse()
    return rows


def rejections(user: Any, device: Device) -> list[Rejection]:
    require(user, "telematics.view_device")
    return list(Rejection.objects.filter(Q(device=device) | Q(device_ref=device.device_id)).order_by("reason"))


def customer_alerts(user: Any, customer: Any) -> list[Alert]:
    """The open alerts of a customer's cars at the user's stores (the customer 360 page)."""
    if not user.has_perm("telematics.view_alert"):
        return []
    qs = restrict_to_stores(Alert.objects.filter(customer=customer, status=AlertStatus.OPEN).select_related("vehicle"), user)
    return sort_alerts(list(qs[:20]))


def alerts_for_customers(user: Any, customer_ids: list[int]) -> dict[int, list[Alert]]:
    """The open alerts of several customers' cars at the user's stores, by customer, each told in the reader's
    language (``alert.problem``, ``alert.advice``), most severe first: one query, whatever the number of customers
    (the reception greeting, composed at the top)."""
    from django.utils.translation import get_language

    from .services import problem_text

    if not customer_ids or not user.has_perm("telematics.view_alert"):
        return {}
    qs = restrict_to_stores(
        Alert.objects.filter(customer_id__in=customer_ids, status=AlertStatus.OPEN)
        .select_related("vehicle", "recommended_service"), user,
    ).order_by("-opened_at", "-id")[:100]
    language = get_language() or "zh-hans"
    out: dict[int, list[Alert]] = {}
    for alert in sort_alerts(list(qs)):
        problem, advice = problem_text(alert, language)
        service = alert.recommended_service
        setattr(alert, "problem", problem)  # noqa: B010 (read by the template, not a model field)
        setattr(alert, "advice", advice)  # noqa: B010
        setattr(alert, "service_name", service.name_in("en" if language.startswith("en") else "zh-hans") if service else "")  # noqa: B010
        if alert.customer_id is not None:
            out.setdefault(alert.customer_id, []).append(alert)
    return out


def owner_alerts(customer: Any, vehicle: Any, language: str) -> list[dict[str, Any]]:
    """The open alerts of the owner's own car, told in the owner's language, each with the booking it suggests (the
    owner app's car page). Another owner's car never reaches here: the portal resolves the car from the owner."""
    from urllib.parse import urlencode

    from .services import problem_text

    rows = sort_alerts(list(Alert.objects.filter(vehicle=vehicle, customer=customer, status=AlertStatus.OPEN)
                            .select_related("store")[:10]))
    out = []
    for alert in rows:
        problem, advice = problem_text(alert, language)
        params: dict[str, Any] = {"store": alert.store.code, "v": vehicle.pk, "fault_description": problem[:200]}
        if alert.recommended_service_id:
            params["service_type"] = alert.recommended_service_id
        out.append({"alert": alert, "problem": problem, "advice": advice, "book_query": urlencode(params)})
    return out
