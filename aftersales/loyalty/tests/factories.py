"""Test helpers for loyalty: paid invoices with lines, voucher templates."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from aftersales.billing.models import Invoice
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.customers.models import CustomerStore
from aftersales.loyalty.models import VoucherTemplate
from aftersales.workshop.models import RepairJob, RepairLine, RepairOrder

_n = itertools.count(1)


def customer_at(store: Any, **kwargs: Any) -> Any:
    return CustomerFactory(home_store=store, **kwargs)


def make_invoice(
    store: Any,
    customer: Any,
    *,
    lines: list[tuple[str, str, str, str]] | None = None,
    paid: bool = False,
    at: dt.datetime | None = None,
) -> Invoice:
    """A repair order with ``lines`` = [(job_type, kind, code, amount)] and its invoice (issued, or fully paid)."""
    n = next(_n)
    CustomerStore.objects.get_or_create(customer=customer, store=store)
    vehicle = VehicleFactory(owner=customer)
    at = at or timezone.now()
    order = RepairOrder.objects.create(store=store, number=f"RO{n:05d}", customer=customer, vehicle=vehicle, opened_at=at,
                                       status="delivered", delivered_at=at)
    total = Decimal("0")
    for i, (job_type, kind, code, amount) in enumerate(lines or [("maintenance", "labour", "OIL", "1000.00")]):
        job = RepairJob.objects.create(order=order, seq=i + 1, job_type=job_type, title=f"job {code}")
        RepairLine.objects.create(order=order, job=job, kind=kind, code=code, description=code, quantity=1,
                                  unit_price=Decimal(amount), amount=Decimal(amount))
        total += Decimal(amount)
    order.total = total
    order.save(update_fields=["total"])
    invoice = Invoice.objects.create(store=store, order=order, customer=customer, number=f"INV{n:05d}", issued_at=at,
                                     subtotal=total, total=total)
    if paid:
        pay(invoice, at=at)
    return invoice


def pay(invoice: Invoice, at: dt.datetime | None = None) -> Invoice:
    invoice.paid_amount = invoice.total
    invoice.status = "paid"
    invoice.paid_at = at or timezone.now()
    invoice.save(update_fields=["paid_amount", "status", "paid_at"])
    return invoice


def template(group: Any, code: str = "oil50", *, kind: str = "amount_off", **kwargs: Any) -> VoucherTemplate:
    defaults: dict[str, Any] = {"name_zh": "保养抵用券", "name_en": "Service voucher", "amount": Decimal("50.00"),
                                "validity_days": 30, "per_customer_limit": 1}
    defaults.update(kwargs)
    return VoucherTemplate.objects.create(group=group, code=code, kind=kind, **defaults)
