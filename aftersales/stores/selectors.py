from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from aftersales.common.scoping import get_or_404, visible_store_ids

from .models import OpeningPeriod, Store


def stores_visible_to(user: Any) -> QuerySet[Store]:
    return Store.objects.filter(pk__in=visible_store_ids(user)).prefetch_related(
        Prefetch("opening_periods", queryset=OpeningPeriod.objects.order_by("weekday", "opens")), "holidays"
    )


def store_get(user: Any, store_id: int) -> Store:
    return get_or_404(stores_visible_to(user), pk=store_id)
