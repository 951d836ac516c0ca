"""Reads for reception, scoped to the acting user's stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Avg, Count, Max, Q, QuerySet
from django.utils import timezone

from aftersales.common.scoping import get_or_404, restrict_to_stores

from .models import Handover


def handovers_visible_to(user: Any) -> QuerySet[Handover]:
    return restrict_to_stores(Handover.objects.all(), user)


def handover_get(user: Any, handover_id: int) -> Handover:
    return get_or_404(
        handovers_visible_to(user).select_related(
            "store", "customer", "vehicle", "advisor", "order", "appointment__service_type"
        ).prefetch_related("marks", "photos", "events__actor"),
        pk=handover_id,
    )


def handovers_today(user: Any, store: Any, now: dt.datetime | None = None) -> list[Handover]:
    now = now or timezone.now()
    local = timezone.localtime(now, store.zone).date()
    lo = dt.datetime.combine(local, dt.time.min, tzinfo=store.zone)
    return list(
        handovers_visible_to(user).filter(store=store, created_at__gte=lo, created_at__lt=lo + dt.timedelta(days=1))
        .select_related("customer", "vehicle", "order", "advisor").order_by("-created_at")
    )


def walk_in_figures(user: Any, store: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Walk-ins between two local dates: how many, and the time from starting the registration to a bay assigned
    (SPEC §2: within 10 minutes) — average, worst and the share within the target."""
    from aftersales.appointments.choices import BookingChannel
    from aftersales.appointments.selectors import appointments_visible_to

    lo = dt.datetime.combine(start, dt.time.min, tzinfo=store.zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=store.zone)
    rows = appointments_visible_to(user).filter(
        store=store, channel=BookingChannel.WALK_IN, created_at__gte=lo, created_at__lt=hi, walk_in_seconds__isnull=False
    )
    figures = rows.aggregate(
        n=Count("id"), avg=Avg("walk_in_seconds"), worst=Max("walk_in_seconds"),
        within=Count("id", filter=Q(walk_in_seconds__lte=600)),
    )
    n = figures["n"] or 0
    return {
        "count": n,
        "average_minutes": round((figures["avg"] or 0) / 60, 1) if n else None,
        "worst_minutes": round((figures["worst"] or 0) / 60, 1) if n else None,
        "within_target_share": round(100 * figures["within"] / n, 1) if n else None,
        "target_minutes": 10,
    }
