"""Reads for billing, scoped to the acting user's stores: invoices, the cashier's queue, an order's billing
section, the vehicle's electronic repair archive and its completeness."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from aftersales.common.errors import NotFound
from aftersales.common.scoping import get_or_404, restrict_to_stores, visible_store_ids

from .choices import BillTo, InvoiceStatus
from .models import CreditNote, Delivery, DeliveryCredit, Invoice, Payment, Refund


def invoices_visible_to(user: Any) -> QuerySet[Invoice]:
    return restrict_to_stores(Invoice.objects.all(), user)


# Who sees an invoice addressed to an insurer (the store's receivable from the insurer): the cashier and the manager
RECEIVABLES_PERMISSION = "billing.add_payment"


def _least(qs: QuerySet[Invoice], user: Any) -> QuerySet[Invoice]:
    """An insurer's invoice only for who collects it (cashier, manager); anyone else gets a 404 as for another store's."""
    return qs if user.has_perm(RECEIVABLES_PERMISSION) else qs.exclude(bill_to=BillTo.INSURER)


def invoice_get(user: Any, invoice_id: int) -> Invoice:
    return get_or_404(
        _least(invoices_visible_to(user), user).select_related("store", "customer", "order", "order__vehicle"),
        pk=invoice_id,
    )


def payment_get(user: Any, payment_id: int) -> Payment:
    qs = Payment.objects.filter(invoice__store_id__in=visible_store_ids(user)).select_related("invoice")
    return get_or_404(qs, pk=payment_id)


def invoice_detail(user: Any, invoice_id: int, *, just_issued: bool = False) -> Invoice:
    """The invoice with its lines, payments (and their refunds), credit notes: four queries. ``just_issued``: an
    invoice issued in this very request, which has no payment or credit note yet (its row is not even committed):
    two queries."""
    qs = _least(invoices_visible_to(user), user).select_related(
        "store", "customer", "order", "order__vehicle", "issued_by", "claim_of", "claim_of__order")
    if just_issued:
        invoice = get_or_404(qs.prefetch_related("lines"), pk=invoice_id)
        invoice._prefetched_objects_cache.update(
            payments=invoice.payments.none(), credit_notes=invoice.credit_notes.none(),
        )
        return invoice
    return get_or_404(
        qs.prefetch_related(
            "lines",
            Prefetch("payments", queryset=Payment.objects.select_related("received_by", "online").prefetch_related("refunds")),
            "credit_notes",
        ),
        pk=invoice_id,
    )


@dataclass
class CashierQueue:
    to_invoice: list[Any] = field(default_factory=list)  # orders ready for delivery without an invoice
    to_collect: list[Invoice] = field(default_factory=list)  # open balance
    to_refund: list[Invoice] = field(default_factory=list)  # credited below what was paid


def cashier_queue(user: Any, store: Any) -> CashierQueue:
    from aftersales.workshop.models import RepairOrder

    if store.pk not in visible_store_ids(user):
        return CashierQueue()
    ready = (
        RepairOrder.objects.filter(store=store, status="ready", invoice__isnull=True)
        .select_related("customer", "vehicle")
        .order_by("opened_at")[:100]
    )
    open_invoices = (
        Invoice.objects.filter(store=store)
        .filter(Q(status=InvoiceStatus.ISSUED) | Q(total__lt=F("credited_amount") + F("paid_amount") - F("refunded_amount")))
        .select_related("customer", "order", "order__vehicle")
        .order_by("issued_at")[:200]
    )
    queue = CashierQueue(to_invoice=list(ready))
    for inv in open_invoices:
        if inv.balance <= 0:
            queue.to_refund.append(inv)
        elif inv.bill_to != BillTo.INSURER:  # the insurer's open balances: insurer_receivables
            queue.to_collect.append(inv)
    return queue


@dataclass
class OrderBilling:
    order: Any
    invoice: Invoice | None
    credit: DeliveryCredit | None
    delivery: Delivery | None
    insurer_invoice: Invoice | None = None  # an insured repair: the insurer's part, billed to the insurer

    @property
    def can_deliver(self) -> bool:
        return (
            self.order.status == "ready"
            and self.invoice is not None
            and (self.invoice.balance <= 0 or self.credit is not None)
        )


def order_billing(user: Any, order: Any) -> OrderBilling:
    """The billing section of an order page (``order`` already fetched through a scoped selector)."""
    if order.store_id not in visible_store_ids(user):
        raise NotFound("not_found", _("Not found, or not visible to you."), None)
    invoice = (
        Invoice.objects.filter(order_id=order.pk)
        .prefetch_related(
            "lines", "credit_notes",
            Prefetch("payments", queryset=Payment.objects.select_related("received_by", "online").prefetch_related("refunds")),
        )
        .first()
    )
    insurer_invoice = None
    if invoice is not None and invoice.insurer_amount > 0 and user.has_perm(RECEIVABLES_PERMISSION):
        insurer_invoice = (
            Invoice.objects.filter(claim_of=invoice, bill_to=BillTo.INSURER)
            .prefetch_related("credit_notes", Prefetch("payments", queryset=Payment.objects.prefetch_related("refunds")))
            .first()
        )
    return OrderBilling(
        order=order,
        invoice=invoice,
        credit=DeliveryCredit.objects.filter(order_id=order.pk).select_related("granted_by").first(),
        delivery=Delivery.objects.filter(order_id=order.pk).select_related("delivered_by").first(),
        insurer_invoice=insurer_invoice,
    )


@dataclass
class Receivable:
    invoice: Invoice
    age_days: int  # since the invoice was issued, in the store's days


@dataclass
class Receivables:
    rows: list[Receivable] = field(default_factory=list)
    total: Decimal = Decimal("0.00")
    by_insurer: list[tuple[str, Decimal, int]] = field(default_factory=list)  # (insurer, open balance, invoices)


def insurer_receivables(user: Any, store: Any, *, at: Any = None) -> Receivables:
    """The store's open insurer invoices (issued, a balance left), oldest first, with their age in days and the open
    balance per insurer: what the cashier chases. Cashier and manager of the store only (else nothing)."""
    from django.utils import timezone

    if store.pk not in visible_store_ids(user) or not user.has_perm(RECEIVABLES_PERMISSION):
        return Receivables()
    at = at or timezone.now()
    today = timezone.localtime(at, store.zone).date()
    qs = (
        Invoice.objects.filter(store=store, bill_to=BillTo.INSURER, status=InvoiceStatus.ISSUED)
        .select_related("customer", "claim_of", "claim_of__order", "claim_of__order__vehicle")
        .order_by("issued_at", "id")[:500]
    )
    out = Receivables()
    per: dict[str, list[Any]] = {}
    for inv in qs:
        if inv.balance <= 0:
            continue
        out.rows.append(Receivable(invoice=inv, age_days=(today - timezone.localtime(inv.issued_at, store.zone).date()).days))
        out.total += inv.balance
        entry = per.setdefault(inv.insurer_name, [Decimal("0.00"), 0])
        entry[0] += inv.balance
        entry[1] += 1
    out.by_insurer = sorted(((name, v[0], v[1]) for name, v in per.items()), key=lambda r: -r[1])
    return out


# ---- electronic repair archive -----------------------------------------------------------------------------------
@dataclass
class ArchiveEntry:
    order: Any
    fitted: list[Any]
    events: list[Any]
    technicians: list[Any]

    @property
    def invoice(self) -> Any:
        return getattr(self.order, "invoice", None)


def _archive_orders(user: Any, **filters: Any) -> list[Any]:
    from aftersales.workshop.models import RepairJob, RepairOrder, RepairOrderEvent

    return list(
        RepairOrder.objects.filter(store_id__in=visible_store_ids(user), **filters)
        .select_related("store", "vehicle", "advisor", "invoice", "delivery", "delivery__delivered_by", "delivery_credit")
        .prefetch_related(
            Prefetch("jobs", queryset=RepairJob.objects.select_related("technician").prefetch_related("lines")),
            Prefetch("events", queryset=RepairOrderEvent.objects.select_related("actor")),
            Prefetch(
                "invoice__payments", queryset=Payment.objects.prefetch_related(Prefetch("refunds", queryset=Refund.objects.all()))
            ),
            Prefetch("invoice__credit_notes", queryset=CreditNote.objects.all()),
        )
        .order_by("-opened_at", "-id")[:100]
    )


def vehicle_archive(user: Any, vehicle_id: int) -> tuple[Any, list[ArchiveEntry]]:
    """Everything about a vehicle's past orders at the user's stores: items, parts with batch, costs, people,
    events, invoices, payments (a fixed number of queries)."""
    from aftersales.parts.reports import fitted_parts_by_vehicle
    from aftersales.vehicles.selectors import vehicles_visible_to

    vehicles = vehicles_visible_to(user).select_related("owner")
    vehicle = get_or_404(vehicles, pk=vehicle_id)
    orders = _archive_orders(user, vehicle_id=vehicle.pk)
    fitted = fitted_parts_by_vehicle([vehicle.pk]).get(vehicle.pk, [])
    by_order: dict[int, list[Any]] = {}
    for f in fitted:
        if f.order is not None:
            by_order.setdefault(f.order.pk, []).append(f)
    entries = []
    for order in orders:
        techs = list({j.technician.pk: j.technician for j in order.jobs.all() if j.technician is not None}.values())
        entries.append(ArchiveEntry(order=order, fitted=by_order.get(order.pk, []), events=list(order.events.all()), technicians=techs))
    return vehicle, entries


@dataclass
class Completeness:
    delivered: int
    complete: int
    with_invoice: int
    paid: int
    with_documents: int

    @property
    def share(self) -> Decimal:
        if not self.delivered:
            return Decimal("100.0")
        return (Decimal(self.complete) * 100 / self.delivered).quantize(Decimal("0.1"))


def archive_completeness(user: Any, store: Any = None) -> Completeness:
    """Share of delivered orders whose archive is complete: an invoice, settled (or credit allowed by a manager),
    and the delivery documents (the delivery walk-through that produces them). Target 100%."""
    from django.db.models import Count

    from aftersales.workshop.models import RepairOrder

    qs = RepairOrder.objects.filter(store_id__in=visible_store_ids(user), status__in=("delivered", "closed"))
    if store is not None:
        qs = qs.filter(store=store)
    has_invoice = Q(invoice__isnull=False)
    settled = Q(invoice__status__in=(InvoiceStatus.PAID, InvoiceStatus.CREDITED)) | Q(delivery_credit__isnull=False)
    documents = Q(delivery__isnull=False)
    agg = qs.aggregate(
        delivered=Count("id"),
        with_invoice=Count("id", filter=has_invoice),
        paid=Count("id", filter=has_invoice & settled),
        with_documents=Count("id", filter=documents),
        complete=Count("id", filter=has_invoice & settled & documents),
    )
    return Completeness(**agg)
