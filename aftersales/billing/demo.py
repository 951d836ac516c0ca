"""Billing demo data, made through the billing services (called once at the end of the demo run).

- every delivered and paid visit gets its delivery record (reminder card), so the archive is complete for them;
- a refund (customer dropped the car wash) and a credit note with its refund (labour overcharged);
- today at Guangzhou: one car ready and not yet invoiced, one invoiced and waiting at the cashier, one paid by a
  split payment (bank card + WeChat Pay) and delivered through the checklist, one delivered on credit (fleet).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from aftersales.workshop.choices import JobStatus, JobType, LineKind, OrderStatus

from . import services
from .choices import InvoiceStatus, PaymentMethod
from .models import Invoice


def _user(username: str) -> Any:
    from aftersales.staff.models import User

    return User.objects.get(username=username)


def load(*, group: Any, now: dt.datetime) -> dict[str, int]:
    from aftersales.workshop.models import RepairOrder

    counts = {"deliveries": 0}
    # 1. delivery records for the history (delivered visits whose invoice is settled)
    for suffix, code in (("", "gz"), (".sz", "sz")):
        advisor = _user(f"manager{suffix}")
        history = (
            RepairOrder.objects.filter(store__group=group, store__code=code, status__in=(OrderStatus.DELIVERED, OrderStatus.CLOSED))
            .filter(invoice__status=InvoiceStatus.PAID, delivery__isnull=True)
            .select_related("store", "vehicle", "advisor")
            .order_by("delivered_at", "id")
        )
        for order in history:
            services.delivery_record_history(actor=advisor, order=order)
            counts["deliveries"] += 1

    gz_manager, gz_cashier = _user("manager"), _user("cashier")
    # 2. a refund and a credit note on recent paid Guangzhou invoices
    recent = list(
        Invoice.objects.filter(store__group=group, store__code="gz", status=InvoiceStatus.PAID, total__gt=600)
        .order_by("-issued_at", "-id")[:2]
    )
    if len(recent) == 2:
        payment = recent[0].payments.order_by("-amount").first()
        if payment is not None:
            services.refund_record(
                actor=gz_cashier, payment=payment, amount=Decimal("80.00"), reason="客户取消精洗项目 / car wash cancelled",
                idempotency_key=f"demo-refund-{recent[0].number}", at=payment.received_at + dt.timedelta(minutes=20),
            )
            services.credit_note_issue(
                actor=gz_manager, invoice=recent[0], amount=Decimal("80.00"), reason="精洗项目取消 / car wash cancelled",
                at=payment.received_at + dt.timedelta(minutes=25),
            )
        payment = recent[1].payments.order_by("-amount").first()
        if payment is not None:
            services.credit_note_issue(
                actor=gz_manager, invoice=recent[1], amount=Decimal("56.00"), reason="工时多算0.2小时 / labour overcharged",
                at=payment.received_at + dt.timedelta(hours=2),
            )
            services.refund_record(
                actor=gz_cashier, payment=payment, amount=Decimal("56.00"), reason="工时多算退回 / labour overcharged",
                idempotency_key=f"demo-refund-{recent[1].number}", at=payment.received_at + dt.timedelta(hours=2, minutes=5),
            )
    # 3. today's cars at the cashier
    _today(group=group, now=now)
    return counts


def _mileage_at(vehicle: Any, at: dt.datetime) -> int:
    """A plausible odometer at ``at``: past the last reading before it, and never past a reading taken after it (the
    demo may already hold one from later today, whatever the hour it is loaded at)."""
    from aftersales.vehicles.models import MileageReading

    readings = MileageReading.objects.filter(vehicle=vehicle)
    before = readings.filter(read_at__lte=at).order_by("-km").values_list("km", flat=True).first()
    after = readings.filter(read_at__gt=at).order_by("km").values_list("km", flat=True).first()
    km = (before or 10000) + 600
    if after is not None and km > after:
        km = max(before or 0, (before or 0) + (after - (before or 0)) // 2)
    return km


def _today(*, group: Any, now: dt.datetime) -> None:
    from aftersales.customers.models import Customer
    from aftersales.workshop.models import RepairOrder
    from aftersales.workshop.services import repair_job_move, repair_order_move, repair_order_record_visit

    store = group.stores.get(code="gz")
    advisor, manager, cashier = _user("advisor"), _user("manager"), _user("cashier")
    tech = _user("tech")
    busy = RepairOrder.objects.filter(status__in=[s for s in OrderStatus.values if s not in ("delivered", "closed", "cancelled")])
    customers = list(
        Customer.objects.filter(group=group, stores=store, vehicles__isnull=False)
        .exclude(vehicles__repair_orders__in=busy).distinct().order_by("id")[5:9]
    )
    plans = [
        ("ready", "更换空调滤芯 / Cabin filter", JobType.MAINTENANCE, [
            {"kind": LineKind.LABOUR, "description": "空调滤芯更换工时 / labour", "quantity": "0.3", "unit_price": "280.00"},
            {"kind": LineKind.PART, "description": "空调滤芯 / cabin filter", "quantity": "1", "unit_price": "168.00"},
        ]),
        ("invoiced", "前刹车片更换 / Front brake pads", JobType.REPAIR, [
            {"kind": LineKind.LABOUR, "description": "刹车片更换工时 / labour", "quantity": "1.2", "unit_price": "280.00"},
            {"kind": LineKind.PART, "description": "前刹车片 / front brake pads", "quantity": "1", "unit_price": "620.00"},
        ]),
        ("split", "20,000 km 保养 / 20,000 km service", JobType.MAINTENANCE, [
            {"kind": LineKind.LABOUR, "description": "保养工时 / service labour", "quantity": "1.5", "unit_price": "280.00"},
            {"kind": LineKind.PART, "description": "全合成机油 5W-30 / engine oil", "quantity": "4.5", "unit_price": "98.00"},
            {"kind": LineKind.PART, "description": "机油滤清器 / oil filter", "quantity": "1", "unit_price": "85.00"},
            {"kind": LineKind.PART, "description": "火花塞 / spark plugs", "quantity": "4", "unit_price": "120.00"},
            {"kind": LineKind.FEE, "description": "环保处理费 / disposal fee", "quantity": "1", "unit_price": "30.00",
             "discount": "30.00"},
        ]),
        ("credit", "车队车辆年检前检查 / Fleet pre-inspection", JobType.INSPECTION, [
            {"kind": LineKind.LABOUR, "description": "检查工时 / inspection", "quantity": "1", "unit_price": "280.00"},
        ]),
    ]
    for n, (customer, (kind, title, job_type, lines)) in enumerate(zip(customers, plans, strict=False)):
        vehicle = customer.vehicles.order_by("id").first()
        start = now - dt.timedelta(hours=5 - n * 0.5)
        # recorded like the demo's other visits (check-in with its job), then moved through the real states
        order = repair_order_record_visit(
            actor=advisor, store=store, customer=customer, vehicle=vehicle, advisor=advisor, opened_at=start,
            mileage=_mileage_at(vehicle, start), complaint=title,
            jobs=[{"title": title, "job_type": job_type, "lines": lines}],
        )
        job = order.jobs.get()
        step = dt.timedelta(minutes=15)
        repair_order_move(actor=advisor, order=order, to=OrderStatus.ESTIMATE_SENT, at=start + step)
        repair_job_move(actor=advisor, job=job, to=JobStatus.AUTHORIZED, reason="客户电话确认 / approved by phone", at=start + 2 * step)
        repair_order_move(actor=advisor, order=order, to=OrderStatus.AUTHORIZED, at=start + 2 * step)
        repair_order_move(actor=advisor, order=order, to=OrderStatus.IN_PROGRESS, at=start + 3 * step)
        job.technician = tech
        job.save(update_fields=["technician"])
        for i, to in enumerate((JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC)):
            repair_job_move(actor=manager, job=job, to=to, reason="终检：功能测试通过 / QC: function test ok" if to == JobStatus.PASSED_QC else "",
                            at=start + (3 + i) * step)
        repair_order_move(actor=manager, order=order, to=OrderStatus.QUALITY_CHECK, at=start + 7 * step)
        ready_at = start + 8 * step
        repair_order_move(actor=manager, order=order, to=OrderStatus.READY, at=ready_at)
        if kind == "ready":
            continue
        order.refresh_from_db()
        invoice = services.invoice_issue(actor=cashier, order=order, at=ready_at + dt.timedelta(minutes=5))
        if kind == "split":
            card = (invoice.total * Decimal("0.6")).quantize(Decimal("0.01"))
            services.payment_record(actor=cashier, invoice=invoice, method=PaymentMethod.CARD, amount=card,
                                    idempotency_key=f"demo-split-{invoice.number}-1", reference="POS 6222****8816",
                                    at=ready_at + dt.timedelta(minutes=8))
            services.payment_record(actor=cashier, invoice=invoice, method=PaymentMethod.WECHAT, amount=invoice.total - card,
                                    idempotency_key=f"demo-split-{invoice.number}-2",
                                    reference="4200002061202612020184736521", at=ready_at + dt.timedelta(minutes=9))
        elif kind == "credit":
            services.delivery_credit_allow(actor=manager, order=order, reason="车队客户月结 / fleet account, monthly settlement",
                                           at=ready_at + dt.timedelta(minutes=10))
        else:
            continue
        services.order_deliver(actor=advisor, order=order, old_parts_handed_over=kind == "split",
                               car_state="已清洗，无新增划痕 / washed, no new damage", at=ready_at + dt.timedelta(minutes=20))
