"""Demo people data (`make run`): each store names its store manager as the general manager (target 10 a month) with
the receptions logged from this month's handover sheets, and keeps the default threshold and referral reward."""

from __future__ import annotations

from typing import Any


def load(builder: Any) -> None:
    from aftersales.reception.models import Handover

    from . import services
    from .selectors import local_today, month_bounds

    for store in builder.stores.values():
        manager = builder._staff_of(store, "manager")
        services.people_settings_update(actor=manager, store=store, complaint_rate_threshold="5",
                                        referral_reward="100", gm_reception_target="10", general_manager=manager)
        today = local_today(store, builder.now)
        start, _end = month_bounds(store, today.year, today.month)
        for handover in Handover.objects.filter(store=store, created_at__gte=start, created_at__lte=builder.now)[:3]:
            services.gm_reception_record(actor=manager, store=store, handover=handover, received_at=handover.created_at,
                                         note="了解保养体验")
