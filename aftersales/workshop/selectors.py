from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum

from aftersales.common.scoping import get_locked_or_404, get_or_404, restrict_to_stores, visible_store_ids

from .models import RepairJob, RepairOrder


def orders_visible_to(user: Any) -> QuerySet[RepairOrder]:
    return restrict_to_stores(RepairOrder.objects.all(), user)


def order_get(user: Any, order_id: int, *, lock: bool = False) -> RepairOrder:
    """The order (with store, customer, vehicle, advisor); ``lock``: locked and held for the caller's service
    transaction (common/scoping.py get_locked_or_404)."""
    qs = orders_visible_to(user).select_related("store", "customer", "vehicle", "advisor")
    return get_locked_or_404(qs, pk=order_id) if lock else get_or_404(qs, pk=order_id)


def visits_for_customer(
    user: Any, customer: Any, limit: int = 50, *, paid_statuses: Collection[str]
) -> tuple[list[RepairOrder], dict[str, Any]]:
    """A customer's visits at the user's stores (newest first, with jobs, lines, technicians and invoice),
    and the totals across the group. Four queries whatever the history's size. ``paid_statuses``: the invoice
    states that count as paid (billing's, given by the page that assembles the 360 view, so workshop does not
    import billing)."""
    store_ids = visible_store_ids(user)
    orders = list(
        RepairOrder.objects.filter(customer=customer, store_id__in=store_ids)
        .select_related("store", "vehicle", "advisor", "invoice")
        .prefetch_related(
            Prefetch("jobs", queryset=RepairJob.objects.select_related("technician").prefetch_related("lines"))
        )
        .order_by("-opened_at", "-id")[:limit]
    )
    paid = Q(invoice__status__in=list(paid_statuses))
    agg = RepairOrder.objects.filter(customer=customer).aggregate(
        visits=Count("id", filter=Q(store_id__in=store_ids)),
        other_store_visits=Count("id", filter=~Q(store_id__in=store_ids)),
        paid_total=Sum("invoice__paid_amount", filter=paid & Q(store_id__in=store_ids)),
        last_visit=Max("opened_at", filter=Q(store_id__in=store_ids)),
    )
    agg["paid_total"] = agg["paid_total"] or Decimal("0.00")
    return orders, agg
