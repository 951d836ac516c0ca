"""Demo data for follow-ups and feedback, made through the services: follow-ups of the latest deliveries (answered
by phone, some with a low score and its recovery case, some still to call), survey links, a complaint, a
suggestion, a public review, a portal complaint, a routing rule and an improvement action."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from . import services
from .choices import FollowUpStatus

GOOD = [
    {"overall": 9, "attitude": 10, "quality": 9, "waiting": 9, "price": 8, "recommend": 10},
    {"overall": 9, "attitude": 9, "quality": 9, "waiting": 8, "price": 8, "recommend": 9},
    {"overall": 10, "attitude": 10, "quality": 10, "waiting": 9, "price": 9, "recommend": 10},
    {"overall": 8, "attitude": 9, "quality": 8, "waiting": 8, "price": 7, "recommend": 8},
    {"overall": 7, "attitude": 10, "quality": 9, "waiting": 6, "price": 8, "recommend": 7},
    {"overall": 9, "attitude": 8, "quality": 9, "waiting": 9, "price": 9, "recommend": 9},
]
SUGGESTIONS = ["", "希望休息区能提供充电插座", "", "", "等的时间有点长，希望快一点", ""]


def _user(group: Any, username: str) -> Any:
    from aftersales.staff.models import User

    return User.objects.get(dealer_group=group, username=username)


def load(*, group: Any, now: dt.datetime | None = None) -> dict[str, int]:
    from aftersales.stores.models import Store
    from aftersales.workshop.models import RepairOrder

    now = now or timezone.now()
    store = Store.objects.filter(group=group).order_by("id").first()
    if store is None:
        return {}
    manager, advisor, agent = _user(group, "manager"), _user(group, "advisor"), _user(group, "callcentre")
    services.routing_set(actor=manager, store=store, category="waiting", owner=_user(group, "foreman"))
    services.routing_set(actor=manager, store=store, category="parts", owner=_user(group, "parts"))
    orders = list(
        RepairOrder.objects.filter(store=store, status__in=("delivered", "closed"), delivered_at__isnull=False)
        .select_related("store", "customer", "vehicle", "advisor").order_by("-delivered_at")[:10]
    )
    made = answered = 0
    for i, order in enumerate(orders):
        followup = services.followup_create_for_order(order=order)
        made += 1
        if i < len(GOOD) and followup.status == FollowUpStatus.OPEN:
            at = min(order.delivered_at + dt.timedelta(hours=26), now - dt.timedelta(minutes=30))
            services.followup_answer(followup=followup, scores=GOOD[i], suggestions=SUGGESTIONS[i], actor=agent, now=at)
            answered += 1
    # the advisor's recovery call on the first low score: done within the hour, customer accepted
    from .models import FeedbackCase

    recovery = FeedbackCase.objects.filter(store=store, kind="recovery").order_by("created_at").first()
    if recovery is not None:
        owner = recovery.owner or advisor
        for to, extra in (("acknowledged", {}), ("in_progress", {}),
                          ("resolved", {"resolution": "致电道歉，赠送下次保养工时八折券", "reaction": "accepted"})):
            services.case_transition(actor=owner, case=recovery, to=to, now=recovery.created_at + dt.timedelta(minutes=20), **extra)
    customer = orders[0].customer if orders else None
    complaint = services.case_create(
        actor=advisor, store=store, kind="complaint", channel="phone", customer=customer,
        order=orders[0] if orders else None, text="保养后第二天仪表盘保养提示没有归零，而且发动机舱有机油味，希望尽快处理。",
    )
    services.case_transition(actor=advisor, case=complaint, to="acknowledged")
    services.case_record_contact(actor=advisor, case=complaint, note="已致电客户，约明天上午回店复检")
    services.case_create(actor=advisor, store=store, kind="suggestion", channel="box",
                         text="建议周末延长营业时间到晚上八点，上班族平时没空来。")
    services.case_create(actor=advisor, store=store, kind="complaint", channel="review",
                         text="大众点评：预约了十点，结果十一点半才开始修，前台也没有解释。")
    services.case_submit_public(store=store, kind="complaint", name="王先生", mobile="13700001234",
                                text="休息室的 WiFi 连不上，咖啡机也坏了。")
    services.improvement_action_create(
        actor=manager, store=store, category="waiting", title="增设快修通道，保养预约客户 30 分钟内开工", owner=manager,
        start_date=timezone.localtime(now, store.zone).date() - dt.timedelta(days=20),
    )
    counts = services.followup_sweep(now=now)  # survey links for the other recent deliveries
    services.sla_sweep(now=now)
    return {"followups": made, "answered": answered, "surveys": counts["surveys"]}
