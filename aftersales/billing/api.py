"""Billing API under /api/billing: issue an invoice, take payments (idempotent), refunds, credit notes, delivery
on credit, delivery, documents. Errors are ``{code, message, field}`` with a 4xx status; nothing is half-written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.db import service_atomic
from aftersales.common.errors import NotFound
from aftersales.common.permissions import require

from . import selectors, services
from .choices import DocumentKind
from .documents import DOCUMENT_PERMISSIONS, LANGUAGES, render_document

router = Router(tags=["billing"])


class InvoiceLineOut(Schema):
    job_title: str
    no_charge: bool
    kind: str
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    amount: Decimal


class PaymentOut(Schema):
    id: int
    invoice_id: int
    method: str
    amount: Decimal
    refunded_amount: Decimal
    reference: str
    received_at: dt.datetime


class CreditNoteOut(Schema):
    id: int
    invoice_id: int
    number: str
    total: Decimal
    tax: Decimal
    reason: str
    issued_at: dt.datetime


class InvoiceOut(Schema):
    id: int
    number: str
    order_id: int | None  # a sale in the owner app's accessories shop has no repair order
    store_id: int
    customer_id: int
    status: str
    issued_at: dt.datetime
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    authorized_total: Decimal
    paid_amount: Decimal
    refunded_amount: Decimal
    credited_amount: Decimal
    balance: Decimal
    lines: list[InvoiceLineOut]
    payments: list[PaymentOut]
    credit_notes: list[CreditNoteOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_payments(obj: Any) -> list[Any]:
        return list(obj.payments.all())

    @staticmethod
    def resolve_credit_notes(obj: Any) -> list[Any]:
        return list(obj.credit_notes.all())


class RefundOut(Schema):
    id: int
    payment_id: int
    amount: Decimal
    reason: str
    refunded_at: dt.datetime


class PaymentIn(Schema):
    method: str
    amount: str
    idempotency_key: str
    reference: str = ""


class RefundIn(Schema):
    amount: str
    reason: str
    idempotency_key: str
    reference: str = ""


class CreditNoteIn(Schema):
    amount: str
    reason: str


class ReasonIn(Schema):
    reason: str


class DeliverIn(Schema):
    jobs_explained: bool = True
    parts_shown: bool = True
    old_parts_handed_over: bool = False
    warranty_explained: bool = True
    car_state: str = ""
    notes: str = ""


class DeliveryOut(Schema):
    order_id: int
    delivered_at: dt.datetime
    next_service_date: dt.date | None
    next_service_km: int | None


class CreditOut(Schema):
    order_id: int
    amount: Decimal
    reason: str


def _order(user: Any, order_id: int, *, lock: bool = False) -> Any:
    from aftersales.workshop.selectors import order_get

    return order_get(user, order_id, lock=lock)


def _invoice(user: Any, invoice_id: int) -> Any:
    return selectors.invoice_detail(user, invoice_id)


@router.post("/orders/{order_id}/invoice", response={201: InvoiceOut, **ERRORS})
def issue_invoice(request: HttpRequest, order_id: int) -> Status:
    user = request_user(request)
    with service_atomic():  # the scoped read is the order's lock for the whole request (issue 19)
        invoice = services.invoice_issue(actor=user, order=_order(user, order_id, lock=True))
        return Status(201, selectors.invoice_detail(user, invoice.pk, just_issued=True))


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **ERRORS})
def get_invoice(request: HttpRequest, invoice_id: int) -> Any:
    user = request_user(request)
    require(user, "billing.view_invoice")
    return _invoice(user, invoice_id)


@router.post("/invoices/{invoice_id}/payments", response={201: PaymentOut, **ERRORS})
def pay(request: HttpRequest, invoice_id: int, payload: PaymentIn) -> Status:
    """Record a payment. A retried request with the same ``idempotency_key`` answers with the first payment."""
    user = request_user(request)
    invoice = selectors.invoice_get(user, invoice_id)
    payment = services.payment_record(
        actor=user, invoice=invoice, method=payload.method, amount=payload.amount,
        idempotency_key=payload.idempotency_key, reference=payload.reference,
    )
    return Status(201, payment)


@router.post("/payments/{payment_id}/refunds", response={201: RefundOut, **ERRORS})
def refund(request: HttpRequest, payment_id: int, payload: RefundIn) -> Status:
    user = request_user(request)
    payment = selectors.payment_get(user, payment_id)
    row = services.refund_record(
        actor=user, payment=payment, amount=payload.amount, reason=payload.reason,
        idempotency_key=payload.idempotency_key, reference=payload.reference,
    )
    return Status(201, row)


class ProviderRefundOut(Schema):
    id: int
    payment_id: int
    out_refund_no: str
    amount: Decimal
    reason: str
    status: str
    status_label: str
    note: str
    requested_at: dt.datetime
    settled_at: dt.datetime | None
    refund_id: int | None

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())


class ProviderRefundIn(Schema):
    amount: str
    reason: str
    idempotency_key: str


@router.post("/payments/{payment_id}/provider-refunds", response={201: ProviderRefundOut, **ERRORS})
def provider_refund(request: HttpRequest, payment_id: int, payload: ProviderRefundIn) -> Status:
    """Give an online payment back through WeChat Pay / Alipay (the invoice page's "原路退回"): ``status`` is
    "succeeded" (the :class:`Refund` is recorded), "pending" (recorded when the platform confirms: its notification
    or the sweep) or "failed". The same ``idempotency_key`` answers with the first request."""
    from .online import refund_notify_url

    user = request_user(request)
    payment = selectors.payment_get(user, payment_id)
    notify_url = refund_notify_url(request, payment)
    row = services.online_refund_start(
        actor=user, payment=payment, amount=payload.amount, reason=payload.reason,
        idempotency_key=payload.idempotency_key, notify_url=notify_url,
    )
    return Status(201, row)


@router.get("/invoices/{invoice_id}/provider-refunds", response={200: list[ProviderRefundOut], **ERRORS})
def provider_refunds(request: HttpRequest, invoice_id: int) -> Any:
    """The invoice's refunds through the payment platforms, newest first."""
    from .models import ProviderRefund

    invoice = selectors.invoice_get(request_user(request), invoice_id)
    return list(ProviderRefund.objects.filter(payment__invoice=invoice).order_by("-requested_at", "-id")[:50])


@router.post("/invoices/{invoice_id}/credit-notes", response={201: CreditNoteOut, **ERRORS})
def credit_note(request: HttpRequest, invoice_id: int, payload: CreditNoteIn) -> Status:
    user = request_user(request)
    invoice = selectors.invoice_get(user, invoice_id)
    return Status(201, services.credit_note_issue(actor=user, invoice=invoice, amount=payload.amount, reason=payload.reason))


@router.post("/orders/{order_id}/credit", response={201: CreditOut, **ERRORS})
def allow_credit(request: HttpRequest, order_id: int, payload: ReasonIn) -> Status:
    user = request_user(request)
    return Status(201, services.delivery_credit_allow(actor=user, order=_order(user, order_id), reason=payload.reason))


@router.post("/orders/{order_id}/deliver", response={200: DeliveryOut, **ERRORS})
def deliver(request: HttpRequest, order_id: int, payload: DeliverIn) -> Any:
    user = request_user(request)
    return services.order_deliver(actor=user, order=_order(user, order_id), **payload.dict())


@router.get("/orders/{order_id}/documents/{kind}", response={200: None, **ERRORS})
def document(request: HttpRequest, order_id: int, kind: str, language: str = "zh-hans") -> HttpResponse:
    """A delivery document as PDF (kind: repair_list, qc_report, warranty, invoice, reminder; language: zh-hans, en)."""
    user = request_user(request)
    require(user, "workshop.view_repairorder")
    if kind not in DocumentKind.values or language not in LANGUAGES:
        raise NotFound("not_found", _("Unknown document or language."), "kind")
    require(user, DOCUMENT_PERMISSIONS[DocumentKind(kind)])
    order = _order(user, order_id)
    return HttpResponse(render_document(order=order, kind=kind, language=language), content_type="application/pdf")
