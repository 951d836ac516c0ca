"""Demo data for the workshop floor, so the board is alive in ``make run`` whatever the time of day.

At each store a few cars are checked in over the last two and a half hours with authorized jobs that need different
skills (through the core's check-in, job and move services, as the estimate flow would leave them), plus the cars
the history left in the workshop. Their jobs are dispatched to the best-ranked technician with the skill and to a
bay, technicians clock on (one car each is being worked on now), some jobs are finished, advisors post public
updates, one promise is already missed (LATE) and one is tight (AT RISK), an old part is kept for a customer, and
the 30-minute sweep flags the silent orders. Everything goes through the floor's services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils.translation import gettext_noop

from aftersales.common.errors import DomainError
from aftersales.common.readtime import coded

from . import floor_services as fs
from .choices import IN_SHOP_STATES, JobStatus, LineKind, OrderStatus
from .floor_selectors import dispatch_suggestions, store_technicians, suggested_bay_id
from .models import RepairJob, RepairLine, RepairOrder
from .services import progress_note_add, repair_job_add, repair_job_move, repair_order_check_in, repair_order_move

# (job title, standard hours, skill) per car; labour at the store's rate
SCENARIOS: list[list[tuple[str, str, str]]] = [
    [("10,000 公里保养 / 10,000 km service", "1.5", "maintenance"), ("空调滤芯更换 / Replace cabin filter", "0.5", "aircon")],
    [("更换前刹车片 / Replace front brake pads", "1.2", "tyres")],
    [("发动机故障灯检查 / Engine warning light check", "1.0", "engine"), ("节气门清洗 / Throttle body cleaning", "0.8", "engine")],
    [("前保险杠钣金喷漆 / Front bumper panel and paint repair", "4.0", "body")],
    [("高压电池检测 / High-voltage battery check", "1.0", "ev")],
]
RATE = Decimal("280.00")


def _staff(store: Any, role: str) -> Any:
    from aftersales.staff.models import User

    return User.objects.filter(memberships__store=store, groups__name=role, is_active=True).order_by("id").first()


def _fresh_orders(store: Any, advisor: Any, now: dt.datetime) -> list[RepairOrder]:
    """Cars checked in over the last 150 minutes with authorized jobs (the 2nd car's promise is already missed)."""
    from aftersales.customers.models import Customer

    busy = RepairOrder.objects.filter(status__in=IN_SHOP_STATES).values("customer_id")
    customers = list(
        Customer.objects.filter(home_store=store, vehicles__isnull=False).exclude(pk__in=busy).distinct().order_by("id")[:len(SCENARIOS)]
    )
    out = []
    for n, (customer, jobs) in enumerate(zip(customers, SCENARIOS, strict=False)):
        vehicle = customer.vehicles.order_by("id").first()
        opened = now - dt.timedelta(minutes=150 - 25 * n)
        promised = {0: now + dt.timedelta(minutes=45), 1: now - dt.timedelta(minutes=10)}.get(n, now + dt.timedelta(hours=4))
        order = repair_order_check_in(
            actor=advisor, store=store, customer=customer, vehicle=vehicle, advisor=advisor, at=opened,
            complaint="、".join(title.split(" / ")[0] for title, _h, _s in jobs), promised_at=promised,
        )
        made = [
            repair_job_add(
                actor=advisor, order=order, title=title, job_type="maintenance" if skill == "maintenance" else "repair",
                standard_hours=hours, required_skill=skill, at=opened,
                lines=[{"kind": "labour", "description": "{} 工时 / {} labour".format(*title.split(" / ")), "quantity": hours, "unit_price": str(RATE)}],
            )
            for title, hours, skill in jobs
        ]
        repair_order_move(actor=advisor, order=order, to=OrderStatus.ESTIMATE_SENT, at=opened + dt.timedelta(minutes=5))
        for job in made:
            repair_job_move(actor=advisor, job=job, to=JobStatus.AUTHORIZED, reason=coded(gettext_noop("Approved by phone")),
                            at=opened + dt.timedelta(minutes=9))
        repair_order_move(actor=advisor, order=order, to=OrderStatus.AUTHORIZED, at=opened + dt.timedelta(minutes=10))
        out.append(order)
    return out


def load(*, group: Any, now: dt.datetime) -> dict[str, int]:
    from aftersales.staff.roles import Role
    from aftersales.stores.models import Store

    counts = {"orders": 0, "dispatched": 0, "clocked": 0, "finished": 0, "flags": 0}
    for store in Store.objects.filter(group=group).order_by("code"):
        foreman = _staff(store, Role.FOREMAN)
        advisor = _staff(store, Role.SERVICE_ADVISOR)
        if foreman is None or advisor is None or not store_technicians(store):
            continue
        fresh = _fresh_orders(store, advisor, now)
        counts["orders"] += len(fresh)
        orders = list(
            RepairOrder.objects.filter(store=store, status__in=[OrderStatus.AUTHORIZED, OrderStatus.IN_PROGRESS])
            .select_related("advisor", "store").annotate(last_event=Max("events__at")).order_by("opened_at", "id")
        )
        working: set[int] = set()  # technicians with an open time entry
        for n, order in enumerate(orders):
            start = max(order.last_event or order.opened_at, now - dt.timedelta(hours=2))

            def at(minutes: int, start: dt.datetime = start) -> dt.datetime:
                return min(start + dt.timedelta(minutes=minutes), now - dt.timedelta(minutes=1))

            if order.promised_at is None and at(1) < now + dt.timedelta(hours=3):
                fs.order_set_promised(actor=order.advisor or advisor, order=order, promised_at=now + dt.timedelta(hours=3), at=at(1))
            jobs = list(RepairJob.objects.filter(order=order, status=JobStatus.AUTHORIZED).select_related("order__store").order_by("seq", "id"))
            for job in jobs:
                ranked = dispatch_suggestions(foreman, job, now=at(5))
                pick = next((s for s in ranked if s.eligible and s.technician.pk not in working), None) or ranked[0]
                bay = suggested_bay_id(job)
                if bay is None or not pick.eligible:
                    continue
                fs.job_dispatch(actor=foreman, job=job, technician=pick.technician, bay=bay, at=at(5))
                counts["dispatched"] += 1
            started = list(RepairJob.objects.filter(order=order, status=JobStatus.DISPATCHED).select_related("technician").order_by("seq"))
            for k, job in enumerate(started):
                tech = job.technician
                if tech is None or tech.pk in working:
                    continue
                try:
                    fs.clock_on(actor=tech, job=job, at=at(10 + 5 * k))
                    counts["clocked"] += 1
                    if len(started) > 1 and k == 0:
                        fs.job_finish(actor=tech, job=job, at=at(45))
                        counts["finished"] += 1
                    else:
                        working.add(tech.pk)
                    if n % 2 == 0:
                        progress_note_add(actor=order.advisor or advisor, order=order, is_public=True, at=at(20 + 5 * k),
                                          text=f"{job.title.split(' / ')[0]}正在进行中（{job.bay}）")
                except DomainError:  # a demo shortcut the rules refuse is simply left out
                    continue
        line = (
            RepairLine.objects.filter(order__store=store, order__status=OrderStatus.IN_PROGRESS, kind=LineKind.PART)
            .order_by("id").first()
        )
        if line is not None:
            fs.line_keep_old_part(actor=foreman, line=line, keep=True)
    counts["flags"] = fs.flag_silent_orders(now=now)
    return counts
