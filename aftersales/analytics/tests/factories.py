"""Small hand-made data sets for the KPI tests: rows written as the lane would leave them."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal
from typing import Any

from aftersales.billing.models import Invoice, InvoiceLine
from aftersales.common.tests.factories import CustomerFactory, StoreFactory, VehicleFactory
from aftersales.feedback.models import FollowUp
from aftersales.workshop.models import RepairJob, RepairLine, RepairOrder, TimeEntry

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
_n = itertools.count(1)


def at(day: str, time: str = "10:00") -> dt.datetime:
    """A Shanghai local time as an aware datetime."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=SH)


def store(**kw: Any) -> Any:
    return StoreFactory(**kw)


def customer(s: Any) -> Any:
    return CustomerFactory(home_store=s)


def vehicle(c: Any, **kw: Any) -> Any:
    return VehicleFactory(owner=c, **kw)


def order(s: Any, c: Any = None, v: Any = None, *, opened: dt.datetime, delivered: dt.datetime | None = None,
          status: str = "delivered", advisor: Any = None) -> RepairOrder:
    c = c or customer(s)
    v = v or vehicle(c)
    if status in ("delivered", "closed") and delivered is None:
        delivered = opened + dt.timedelta(hours=3)
    return RepairOrder.objects.create(store=s, number=f"RO{next(_n):06d}", customer=c, vehicle=v, status=status, opened_at=opened,
                                      delivered_at=delivered, advisor=advisor)


def job(o: RepairOrder, *, job_type: str = "repair", status: str = "passed_qc", standard_hours: str = "1.00",
        is_additional: bool = False, technician: Any = None, title: str = "job") -> RepairJob:
    return RepairJob.objects.create(order=o, job_type=job_type, status=status, standard_hours=Decimal(standard_hours),
                                    is_additional=is_additional, technician=technician, title=title, created_at=o.opened_at)


def clock(j: RepairJob, tech: Any, start: dt.datetime, minutes: int) -> TimeEntry:
    return TimeEntry.objects.create(store_id=j.order.store_id, job=j, technician=tech, started_at=start,
                                    ended_at=start + dt.timedelta(minutes=minutes), end_reason="done")


def invoice(o: RepairOrder, *, total: str, paid: str | None = None, refunded: str = "0", issued: dt.datetime | None = None,
            status: str = "paid") -> Invoice:
    total_d = Decimal(total)
    paid_d = total_d if paid is None else Decimal(paid)
    return Invoice.objects.create(
        store=o.store, order=o, customer=o.customer, number=f"INV{next(_n):06d}", issued_at=issued or o.delivered_at or o.opened_at,
        status=status, subtotal=total_d, total=total_d, paid_amount=paid_d, refunded_amount=Decimal(refunded),
        paid_at=issued or o.delivered_at,
    )


def line(inv: Invoice, o: RepairOrder, j: RepairJob, *, kind: str, amount: str, quantity: str = "1", unit_cost: str = "0") -> None:
    InvoiceLine.objects.create(invoice=inv, job=j, job_title=j.title, job_type=j.job_type, kind=kind, description=kind,
                               quantity=Decimal(quantity), unit_price=Decimal(amount), amount=Decimal(amount))
    RepairLine.objects.create(order=o, job=j, kind=kind, description=kind, quantity=Decimal(quantity), unit_price=Decimal(amount),
                              amount=Decimal(amount), unit_cost=Decimal(unit_cost))


def paid_visit(s: Any, c: Any, day: str, *, amount: str = "500", refunded: str = "0") -> RepairOrder:
    o = order(s, c, opened=at(day, "09:00"), delivered=at(day, "12:00"))
    invoice(o, total=amount, refunded=refunded)
    return o


def followup(o: RepairOrder, *, answered: dt.datetime | None, **scores: int | None) -> FollowUp:
    delivered = o.delivered_at or o.opened_at
    return FollowUp.objects.create(
        store=o.store, order=o, customer=o.customer, vehicle=o.vehicle, method="call",
        status="answered" if answered else "open", delivered_at=delivered, due_at=delivered + dt.timedelta(hours=24),
        overdue_at=delivered + dt.timedelta(hours=72), answered_at=answered, **{f"score_{k}": v for k, v in scores.items()},
    )
