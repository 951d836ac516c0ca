"""Invoices and payments, started minimal (issue, pay, paid state); the billing work extends it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.money import LineAmount, parse_money, q, totals
from aftersales.common.permissions import require, require_store

from .choices import InvoiceStatus, PaymentMethod
from .models import Invoice, Payment


def invoice_issue(*, actor: Any, order: Any, at: dt.datetime | None = None) -> Invoice:
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    with transaction.atomic():
        if Invoice.objects.filter(order=order).exists():
            raise Conflict("invoice_exists", _("This repair order already has an invoice."), "order")
        figures = totals(
            LineAmount(quantity=line.quantity, unit_price=line.unit_price, discount=line.discount)
            for line in order.lines.all()
        )
        local_day = timezone.localtime(at, order.store.zone).strftime("%Y%m%d")
        prefix = f"INV{order.store.code.upper()}{local_day}"
        number = f"{prefix}{Invoice.objects.filter(store=order.store, number__startswith=prefix).count() + 1:03d}"
        invoice = Invoice.objects.create(
            store=order.store, order=order, customer=order.customer, number=number, issued_at=at,
            subtotal=figures.subtotal, discount=figures.discount, tax=figures.tax, total=figures.total,
        )
        audit.record(
            actor=actor, obj=invoice, action="invoice.issued", store_id=order.store_id, customer_id=order.customer_id,
            changes={"total": [None, str(invoice.total)]}, at=at,
        )
    return invoice


def payment_record(
    *,
    actor: Any,
    invoice: Invoice,
    method: str,
    amount: Any,
    idempotency_key: str,
    reference: str = "",
    at: dt.datetime | None = None,
) -> Payment:
    """Record a payment once: the same idempotency key returns the first payment, never a second one."""
    require(actor, "billing.add_payment")
    require_store(actor, invoice.store_id)
    if method not in PaymentMethod.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": method}, "method")
    value = parse_money(amount, "amount")
    if value <= 0:
        raise ValidationFailed("amount_not_positive", _("The amount must be more than zero."), "amount")
    if not idempotency_key:
        raise ValidationFailed("idempotency_key_required", _("A payment needs an idempotency key."), "idempotency_key")
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return existing
    at = at or timezone.now()
    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            # A concurrent request with the same key may have committed while we waited for the lock.
            existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return existing
            if locked.status != InvoiceStatus.ISSUED:
                raise Conflict("invoice_not_open", _("This invoice is not open for payment."), "invoice")
            outstanding = q(locked.total - locked.paid_amount)
            if value > outstanding:
                raise ValidationFailed(
                    "amount_exceeds_balance", _("The amount exceeds the balance of %(b)s.") % {"b": outstanding}, "amount"
                )
            payment = Payment.objects.create(
                invoice=locked, method=method, amount=value, received_at=at, reference=reference[:64],
                idempotency_key=idempotency_key, received_by=actor if getattr(actor, "pk", None) else None,
            )
            locked.paid_amount = q(locked.paid_amount + value)
            if locked.paid_amount == locked.total:
                locked.status = InvoiceStatus.PAID
                locked.paid_at = at
            locked.save(update_fields=["paid_amount", "status", "paid_at"])
            if locked.status == InvoiceStatus.PAID:  # a paid visit: the customer's tier is recomputed at once
                from aftersales.engagement.services import tier_recompute_after_commit

                tier_recompute_after_commit(locked.customer_id)
            audit.record(
                actor=actor, obj=locked, action="invoice.payment", store_id=locked.store_id,
                customer_id=locked.customer_id, changes={"paid_amount": [str(q(locked.paid_amount - value)), str(locked.paid_amount)]},
                reason=f"{method} {value}", at=at,
            )
    except IntegrityError:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
        raise
    return payment
