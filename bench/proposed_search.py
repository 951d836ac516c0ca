"""A proposed change to ``aftersales.customers.selectors.search_customer_ids``, measured by
``bench_search_360.py --proposed`` (which swaps it in at run time; the app code is not edited here).

Differences from the current selector (see bench/README.md, "Why name-prefix search misses its target"):

1. The id-collecting queries drop the model's default ``ORDER BY id DESC`` (``.order_by()``). With it, PostgreSQL
   often walks the primary key backwards filtering every row (it expects the LIKE to match thousands of rows and
   LIMIT 20 to stop early) instead of using the trigram / prefix index; for a store-scoped user it then reads
   100k-300k rows (45-55 ms). Without it the planner takes the index and stops after 20 matches (3-7 ms).
2. A CJK text is searched against plates only when it can be the start of a plate: a province abbreviation
   followed by a Latin letter (粤B, 粤B12...), as a prefix (``startswith``, served by the plate btree
   ``vehicles_vehicle_plate_..._like``). A Chinese name such as 胡晓 never matched a plate, but
   ``plate LIKE '%胡晓%'`` has no trigram (2 characters) and was a sequential scan of all 1.2M vehicles (~180 ms).
3. ``contains`` on plates / VINs only from 3 characters (a 2-character LIKE '%xy%' has no trigram: full scan).
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q

from aftersales.common.validators import PROVINCES
from aftersales.customers import selectors as current
from aftersales.customers.selectors import _CJK, _PLATE_CHARS, SEARCH_LIMIT, customers_visible_to

_PLATE_START = re.compile(rf"^[{PROVINCES}][A-Z]")


def _scoped_vehicle_owner_ids(user: Any, condition: Q, limit: int) -> list[int]:
    from aftersales.common.scoping import spans_group, visible_store_ids
    from aftersales.customers.models import CustomerStore
    from aftersales.vehicles.models import Vehicle
    from django.db.models import Exists, OuterRef

    qs = Vehicle.objects.filter(condition, owner__isnull=False)
    if not user.is_superuser:
        qs = qs.filter(group_id=user.dealer_group_id)
        if not spans_group(user):
            link = CustomerStore.objects.filter(customer_id=OuterRef("owner_id"), store_id__in=visible_store_ids(user))
            qs = qs.filter(Exists(link))
    return list(qs.order_by().values_list("owner_id", flat=True)[:limit])


def search_customer_ids(user: Any, q: str, limit: int = SEARCH_LIMIT) -> list[int]:
    text = "".join(q.split())
    if len(text) < 2:
        return []
    upper = text.upper()
    ids: list[int] = []
    scoped = customers_visible_to(user).order_by()
    if text.isdigit():
        if len(text) >= 3:
            ids += scoped.filter(mobile_digits__contains=text).values_list("id", flat=True)[:limit]
            ids += _scoped_vehicle_owner_ids(user, Q(plate__contains=upper) | Q(vin__contains=upper), limit)
    else:
        name_q = Q(name__startswith=text) if len(text) <= 2 else Q(name__icontains=text)
        ids += scoped.filter(name_q).values_list("id", flat=True)[:limit]
        if _PLATE_CHARS.match(text):
            if _CJK.search(text):
                if _PLATE_START.match(upper):
                    ids += _scoped_vehicle_owner_ids(user, Q(plate__startswith=upper), limit)
            elif len(text) >= 3:
                ids += _scoped_vehicle_owner_ids(user, Q(plate__contains=upper) | Q(vin__contains=upper), limit)
    return list(dict.fromkeys(ids))[:limit]


def install() -> None:
    """Swap the proposal in (customer_search looks the function up in its module at call time)."""
    current.search_customer_ids = search_customer_ids
