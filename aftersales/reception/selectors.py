"""Reads for reception, scoped to the acting user's stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from aftersales.appointments.selectors import walk_in_figures  # the figures read appointments only (issue 19)
from aftersales.common.scoping import get_or_404, restrict_to_stores

from .models import Handover

__all__ = ["handover_get", "handovers_today", "handovers_visible_to", "walk_in_figures"]


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
