"""Hand-built histories: paid visits made through the real workshop and billing services, or imported visits."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from aftersales.billing.services import invoice_issue, payment_record
from aftersales.engagement.models import ImportedVisit
from aftersales.workshop.services import repair_order_record_visit

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
_keys = iter(range(10**9))


def local_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=SHANGHAI)


def paid_order(world: Any, customer: Any, vehicle: Any, day: dt.date | dt.datetime, amount: str | Decimal,
               *, deliver: bool = True, pay: bool = True, store: Any = None, job_type: str = "maintenance",
               title: str = "Service", advisor: Any = None) -> Any:
    """A repair order on ``day`` for ``amount``, invoiced, paid in full and delivered (unless told otherwise)."""
    at = day if isinstance(day, dt.datetime) else local_noon(day)
    store = store or world.a
    actor = world.manager if store == world.a else world.manager_b
    order = repair_order_record_visit(
        actor=actor, store=store, customer=customer, vehicle=vehicle, opened_at=at, advisor=advisor,
        jobs=[{"title": title, "job_type": job_type,
               "lines": [{"kind": "labour", "description": "Labour", "unit_price": str(amount)}]}],
        delivered_at=at if deliver else None,  # a finished visit is recorded delivered (the workshop's history path)
    )
    if not deliver:  # finished and waiting for the customer: invoiced at "ready" (billing invoices finished work only)
        _to_ready(actor, order, at)
    invoice = invoice_issue(actor=actor, order=order, at=at)
    if pay:
        payment_record(actor=actor, invoice=invoice, method="cash", amount=invoice.total,
                       idempotency_key=f"k{next(_keys)}-{order.pk}", at=at)
    return order


def _to_ready(actor: Any, order: Any, at: dt.datetime) -> None:
    from aftersales.workshop.choices import JobStatus, OrderStatus
    from aftersales.workshop.services import repair_job_move, repair_order_move

    repair_order_move(actor=actor, order=order, to=OrderStatus.ESTIMATE_SENT, at=at)
    for job in order.jobs.all():
        repair_job_move(actor=actor, job=job, to=JobStatus.AUTHORIZED, at=at)
    for to in (OrderStatus.AUTHORIZED, OrderStatus.IN_PROGRESS):
        repair_order_move(actor=actor, order=order, to=to, at=at)
    for job in order.jobs.all():
        for to in (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC):
            repair_job_move(actor=actor, job=job, to=to, at=at)
    for to in (OrderStatus.QUALITY_CHECK, OrderStatus.READY):
        repair_order_move(actor=actor, order=order, to=to, at=at)
    order.refresh_from_db()


def imported(customer: Any, day: dt.date, amount: str | Decimal, refunded: str | Decimal = "0", store: Any = None,
             items: str = "") -> ImportedVisit:
    return ImportedVisit.objects.create(
        group_id=customer.group_id, store=store or customer.home_store, customer=customer,
        external_key=f"test-{next(_keys)}", visit_date=day, amount_paid=Decimal(str(amount)),
        amount_refunded=Decimal(str(refunded)), items=items,
    )
