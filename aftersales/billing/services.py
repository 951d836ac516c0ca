"""Invoices (gapless numbers per store and year, credit notes), payments (split, idempotent, refunds), delivery on
credit and the delivery itself (SPEC §8).

Writes only here: keyword-only, one transaction, an audit row. An invoice is never edited once posted; its state
follows its balance through :data:`choices.INVOICE_TRANSITIONS`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib
import logging
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit, events
from aftersales.common.db import held, hold, service_atomic
from aftersales.common.errors import Conflict, Forbidden, Problems, ValidationFailed
from aftersales.common.money import DEFAULT_VAT_RATE, LineAmount, insurance_split, line_amount, parse_money, q, totals
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import move

from .choices import (
    DEFAULT_SERVICE_INTERVAL_KM,
    DEFAULT_SERVICE_INTERVAL_MONTHS,
    INVOICE_TRANSITIONS,
    LOYALTY_METHODS,
    NUMBER_PREFIX,
    REFERENCE_REQUIRED,
    REFUND_APPROVAL_THRESHOLD,
    BillTo,
    InvoiceStatus,
    PaymentMethod,
    SequenceKind,
)
from .models import (
    CreditNote,
    Delivery,
    DeliveryCredit,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    NumberSequence,
    Payment,
    Refund,
)

log = logging.getLogger(__name__)

# Orders that may be invoiced: the work is finished (or the car already went home, for recorded visits).
INVOICEABLE_STATES = ("ready", "delivered", "closed")


def _optional(app: str, module: str) -> Any:
    """An app built in parallel (estimates, care, engagement): its module when the app is installed, else None."""
    from django.apps import apps

    if not apps.is_installed(app):
        return None
    try:
        return importlib.import_module(f"{app}.{module}")
    except ImportError:
        return None


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


# ---- numbering -------------------------------------------------------------------------------------------------
def next_number(*, store: Any, kind: str, at: dt.datetime) -> tuple[int, int, str]:
    """Take the next number of ``kind`` at ``store`` for the local year of ``at``: (year, seq, number).

    The caller holds the transaction that writes the document: the counter row stays locked until it commits, so
    a concurrent issuer waits and takes the following number; a rollback gives the number back (no gap).
    """
    year = timezone.localtime(at, store.zone).year
    row = NumberSequence.objects.select_for_update().filter(store=store, kind=kind, year=year).first()
    if row is None:
        try:
            with transaction.atomic():  # savepoint: the first issuer of the year creates the row
                NumberSequence.objects.create(store=store, kind=kind, year=year, last=0)
        except IntegrityError:
            pass  # a concurrent issuer created it; lock it below
        row = NumberSequence.objects.select_for_update().get(store=store, kind=kind, year=year)
    row.last += 1
    row.save(update_fields=["last"])
    number = f"{NUMBER_PREFIX[SequenceKind(kind)]}-{store.code.upper()}-{year}-{row.last:06d}"
    return year, row.last, number


# ---- invoice state ---------------------------------------------------------------------------------------------
def _settle(invoice: Invoice, *, actor: Any, at: dt.datetime, reason: str = "", dirty: tuple[str, ...] = ()) -> None:
    """Move the (locked) invoice to the state its balance says: paid, open again, or fully credited. ``dirty`` names
    the fields the caller has changed and not saved yet: they are written in the same UPDATE."""
    if invoice.credited_amount > 0 and invoice.amount_due <= 0 and invoice.net_paid <= 0:
        target = InvoiceStatus.CREDITED
    elif invoice.balance <= 0:
        target = InvoiceStatus.PAID
    else:
        target = InvoiceStatus.ISSUED
    if target == invoice.status:
        if dirty:
            invoice.save(update_fields=list(dirty))
        return
    if target == InvoiceStatus.PAID:
        invoice.paid_at = at
    elif target == InvoiceStatus.ISSUED:
        invoice.paid_at = None
    move(
        invoice, to=target, actor=actor, transitions=INVOICE_TRANSITIONS, event_model=InvoiceEvent,
        event_fk="invoice", labels=InvoiceStatus, at=at, reason=reason[:300], also_save=[*dirty, "paid_at"],
    )


def _authorized_limit(order: Any, total: Decimal) -> None:
    """The invoice can never exceed what the customer authorized (SPEC §5)."""
    estimates = _optional("aftersales.estimates", "services")
    check = getattr(estimates, "assert_within_authorization", None)
    if check is not None:
        check(order=order, amount=total)
    if total > order.authorized_total:
        raise Conflict(
            "exceeds_authorization",
            _("The invoice (%(t)s) exceeds the authorized total (%(a)s): get a new authorization first.")
            % {"t": total, "a": order.authorized_total},
            "total",
        )


def invoice_issue(*, actor: Any, order: Any, at: dt.datetime | None = None) -> Invoice:
    """Post the invoice of a finished order: every line of the approved jobs (warranty and internal at zero),
    discounts, VAT included, the total; the next gapless number of the store's year."""
    from aftersales.workshop.choices import APPROVED_JOB_STATES, NO_CHARGE_JOB_TYPES
    from aftersales.workshop.models import RepairLine, RepairOrder

    require(actor, "billing.add_invoice")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    with service_atomic():
        locked = order if held(order, "store") else (  # (the API's scoped read is the lock)
            RepairOrder.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk))
        if Invoice.objects.filter(order=locked).exists():
            raise Conflict("invoice_exists", _("This repair order already has an invoice."), "order")
        if locked.status not in INVOICEABLE_STATES:
            raise Conflict(
                "order_not_finished", _("The work on this repair order is not finished yet."), "order"
            )
        lines = list(
            RepairLine.objects.filter(order=locked, job__status__in=APPROVED_JOB_STATES)
            .select_related("job").order_by("job__seq", "id")
        )
        returned = _bill_fitted_parts(locked, lines)
        figures = totals(
            (LineAmount(quantity=line.quantity, unit_price=line.unit_price, discount=line.discount) for line in lines),
            vat_rate=DEFAULT_VAT_RATE,
        )
        _authorized_limit(locked, figures.total)
        year, seq, number = next_number(store=locked.store, kind=SequenceKind.INVOICE, at=at)
        invoice = Invoice.objects.create(
            store=locked.store, order=locked, customer_id=locked.customer_id, number=number, year=year, seq=seq,
            issued_at=at, issued_by=_user(actor), subtotal=figures.subtotal, discount=figures.discount,
            tax=figures.tax, vat_rate=DEFAULT_VAT_RATE, total=figures.total, authorized_total=locked.authorized_total,
            insurer_name=locked.insurer_name if locked.insurer_amount is not None else "",
            insurer_amount=insurance_split(figures.total, locked.insurer_amount)[0],
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice, job=line.job, job_title=line.job.title, job_type=line.job.job_type,
                no_charge=line.job.job_type in NO_CHARGE_JOB_TYPES, kind=line.kind, code=line.code,
                description=line.description, quantity=line.quantity, unit_price=line.unit_price,
                discount=line.discount, amount=line.amount,
            )
            for line in lines
        )
        InvoiceEvent.objects.create(invoice=invoice, from_state="", to_state=InvoiceStatus.ISSUED, actor=_user(actor), at=at)
        if invoice.amount_due == 0:  # warranty-only visit, or the insurer pays it all: nothing to collect
            _settle(invoice, actor=actor, at=at, reason="no charge")
        if invoice.insurer_amount > 0:  # 保险直赔: the insurer's part is billed to the insurer (not on the plain path)
            _insurer_invoice_issue(invoice=invoice, order=locked, actor=actor, at=at)
        audit.record(
            actor=actor, obj=invoice, action="invoice.issued", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"total": [None, str(invoice.total)], **returned,
                     **({"insurer_amount": [None, str(invoice.insurer_amount)]} if invoice.insurer_amount else {})}, at=at,
        )
    return invoice


# What the one line of an insurer's invoice says, in both languages (shown in the reader's: common.text.localized_name).
INSURER_LINE_TITLE = "保险理赔（直赔） / Insurance claim (direct billing)"


def _insurer_invoice_issue(*, invoice: Invoice, order: Any, actor: Any, at: dt.datetime) -> Invoice:
    """The insurer's part of an insured repair as its own invoice addressed to the insurer (保险直赔): the insurer named,
    the policy and claim numbers of the assessment, the next gapless number of the store's invoice series, one line
    (the claim on this repair order), VAT included at the customer's invoice's rate. It has no repair order of its
    own (``claim_of`` is the customer's invoice of the order): it stays open as the store's receivable until the
    insurer's transfer is recorded; the customer's invoice alone decides the delivery. Customer's invoice's share +
    this invoice's total = the order's invoiced total, to the fen (``common.money.insurance_split``)."""
    from aftersales.workshop.choices import LineKind

    value = q(invoice.insurer_amount)
    year, seq, number = next_number(store=order.store, kind=SequenceKind.INVOICE, at=at)
    tax = q(value - value / (1 + invoice.vat_rate))
    claim = Invoice.objects.create(
        store=order.store, order=None, customer_id=order.customer_id, number=number, year=year, seq=seq, issued_at=at,
        issued_by=_user(actor), subtotal=value, discount=Decimal("0.00"), tax=tax, vat_rate=invoice.vat_rate,
        total=value, authorized_total=value, insurer_name=order.insurer_name, bill_to=BillTo.INSURER,
        claim_of=invoice, policy_number=order.insurance_policy, claim_number=order.insurance_claim,
    )
    InvoiceLine.objects.create(
        invoice=claim, job=None, job_title=INSURER_LINE_TITLE, job_type="insurance", kind=LineKind.FEE,
        code=(order.insurance_claim or "")[:40], description=f"{order.number} · {invoice.number}"[:200],
        quantity=Decimal("1"), unit_price=value, amount=value,
    )
    InvoiceEvent.objects.create(invoice=claim, from_state="", to_state=InvoiceStatus.ISSUED, actor=_user(actor), at=at)
    audit.record(
        actor=actor, obj=claim, action="invoice.issued", store_id=order.store_id, customer_id=order.customer_id,
        changes={"total": [None, str(value)], "bill_to": [None, BillTo.INSURER], "claim_of": [None, invoice.number]},
        at=at,
    )
    return claim


def sale_invoice_issue(
    *, store: Any, customer: Any, lines: list[dict[str, Any]], reason: str, at: dt.datetime | None = None
) -> Invoice:
    """Post the invoice of a sale of goods without a repair order (an accessories order placed in the owner app and
    picked up at the store): the owner's own order, so no staff actor; the store's next gapless number. ``lines``:
    ``{"code", "description", "quantity", "unit_price"}``. Paid through the usual paths (online, points, vouchers)."""
    from aftersales.workshop.choices import LineKind

    if not lines:
        raise ValidationFailed("lines_required", _("The order has no items."), "lines")
    at = at or timezone.now()
    rows = [LineAmount(quantity=Decimal(line["quantity"]), unit_price=Decimal(line["unit_price"])) for line in lines]
    amounts = [line_amount(row) for row in rows]
    figures = totals(rows, vat_rate=DEFAULT_VAT_RATE)
    with service_atomic():
        year, seq, number = next_number(store=store, kind=SequenceKind.INVOICE, at=at)
        invoice = Invoice.objects.create(
            store=store, order=None, customer=customer, number=number, year=year, seq=seq, issued_at=at, issued_by=None,
            subtotal=figures.subtotal, discount=figures.discount, tax=figures.tax, vat_rate=DEFAULT_VAT_RATE,
            total=figures.total, authorized_total=figures.total,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice, job=None, job_title=reason[:200], job_type="sale", kind=LineKind.PART,
                code=str(line["code"])[:40], description=str(line["description"])[:200], quantity=line["quantity"],
                unit_price=line["unit_price"], amount=amount,
            )
            for line, amount in zip(lines, amounts, strict=True)
        )
        InvoiceEvent.objects.create(invoice=invoice, from_state="", to_state=InvoiceStatus.ISSUED, actor=None, at=at)
        audit.record(
            actor=None, obj=invoice, action="invoice.issued", store_id=store.pk, customer_id=customer.pk,
            changes={"total": [None, str(invoice.total)]}, reason=reason[:500], at=at,
        )
    return invoice


def sale_invoice_credit(*, invoice: Invoice, amount: Decimal, reason: str, at: dt.datetime | None = None) -> CreditNote:
    """An app order ends without the sale (the owner cancelled it unpaid, it expired unpaid, or the store cancelled it
    and every payment was refunded or is on its way back): its sale invoice (no repair order, nothing kept) is
    credited in full by a credit note of the store's sequence, as the store's document without a staff actor.
    Anything else goes through staff (:func:`credit_note_issue`)."""
    from .models import ProviderRefund

    at = at or timezone.now()
    with service_atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).select_related("store").get(pk=invoice.pk)
        value = q(locked.total - locked.credited_amount)
        on_the_way = ProviderRefund.objects.filter(payment__invoice=locked, status=ProviderRefund.Status.PENDING).aggregate(
            v=Sum("amount"))["v"] or Decimal("0")
        kept = q(locked.paid_amount - locked.refunded_amount - on_the_way)
        if locked.order_id is not None or kept > 0 or value <= 0 or q(amount) != value:
            raise Conflict("invoice_not_open", _("This invoice is not open for payment."), "invoice")
        year, seq, number = next_number(store=locked.store, kind=SequenceKind.CREDIT_NOTE, at=at)
        tax = q(value - value / (1 + locked.vat_rate))
        note = CreditNote.objects.create(
            store=locked.store, invoice=locked, number=number, year=year, seq=seq, issued_at=at, issued_by=None,
            total=-value, tax=-tax, reason=reason[:300],
        )
        locked.credited_amount = q(locked.credited_amount + value)
        locked.save(update_fields=["credited_amount"])
        _settle(locked, actor=None, at=at, reason=number)
        audit.record(actor=None, obj=locked, action="invoice.credit_note", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"credited_amount": ["0", str(value)]}, reason=number, at=at)
    return note


def _bill_fitted_parts(order: Any, lines: list[Any]) -> dict[str, list[str]]:
    """Part lines bill what was fitted: parts returned from a job to stock come off their line (quantity, its
    discount in proportion, amount), in memory only; the order's lines stay what the customer authorized. A line
    left at zero is not invoiced. Returns the changes for the audit row ({"returned job 1 F-1": ["4", "3"]})."""
    from aftersales.workshop.floor_services import part_lines_billable

    billable = part_lines_billable(order, lines)
    changes: dict[str, list[str]] = {}
    for line in list(lines):
        if line.pk not in billable:
            continue
        quantity = billable[line.pk]
        changes[f"returned job {line.job.seq} {line.code or line.pk}"] = [str(line.quantity), str(quantity)]
        if quantity <= 0:
            lines.remove(line)
            continue
        line.discount = q(line.discount * quantity / line.quantity)
        line.quantity = quantity
        line.amount = line_amount(LineAmount(quantity=quantity, unit_price=line.unit_price, discount=line.discount))
    return changes


def _positive_amount(amount: Any, problems: Problems) -> Decimal | None:
    value = problems.check(parse_money, amount, "amount")
    if value is not None and value <= 0:
        problems.add("amount_not_positive", _("The amount must be more than zero."), "amount")
        return None
    return value


def credit_note_issue(
    *, actor: Any, invoice: Invoice, amount: Any, reason: str, at: dt.datetime | None = None
) -> CreditNote:
    """Correct a posted invoice: a negative document for ``amount`` (at most what is not yet credited)."""
    require(actor, "billing.add_creditnote")
    require_store(actor, invoice.store_id)
    problems = Problems()  # the amount and the reason named together
    value = _positive_amount(amount, problems)
    reason = (reason or "").strip()
    if not reason:
        problems.add("required", _("Give the reason for the correction."), "reason")
    problems.raise_if_any()
    assert value is not None
    at = at or timezone.now()
    with service_atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).select_related("store").get(pk=invoice.pk)
        creditable = q(locked.total - locked.credited_amount)
        if value > creditable:
            raise ValidationFailed(
                "amount_exceeds_invoice",
                _("The credit note cannot exceed what is left on the invoice (%(b)s).") % {"b": creditable},
                "amount",
            )
        year, seq, number = next_number(store=locked.store, kind=SequenceKind.CREDIT_NOTE, at=at)
        tax = q(value - value / (1 + locked.vat_rate))
        note = CreditNote.objects.create(
            store=locked.store, invoice=locked, number=number, year=year, seq=seq, issued_at=at,
            issued_by=_user(actor), total=-value, tax=-tax, reason=reason[:300],
        )
        before = locked.credited_amount
        locked.credited_amount = q(before + value)
        locked.save(update_fields=["credited_amount"])
        _settle(locked, actor=actor, at=at, reason=number)
        _after_paid_visit(locked.customer_id)
        _after_money_back(actor, locked.pk, credit_note=note)
        audit.record(
            actor=actor, obj=locked, action="invoice.credit_note", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"credited_amount": [str(before), str(locked.credited_amount)]},
            reason=f"{number}: {reason}"[:500], at=at,
        )
    return note


# ---- payments --------------------------------------------------------------------------------------------------
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
    """Record a payment once: the same idempotency key returns the first payment, never a second one.

    Split payments are several payments (each with its own key) until the balance is zero; no payment may exceed
    the balance. WeChat Pay, Alipay and online payments carry the provider's transaction reference."""
    require(actor, "billing.add_payment")
    require_store(actor, invoice.store_id)
    problems = Problems()  # every bad field of the payment named at once
    if method not in PaymentMethod.values or method in LOYALTY_METHODS:  # those go through the loyalty ledger
        problems.add("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": method}, "method")
    elif invoice.bill_to == BillTo.INSURER and method != PaymentMethod.TRANSFER:  # the insurer pays by bank transfer
        problems.add("insurer_pays_by_transfer", _("The insurer pays by bank transfer: record its transfer."), "method")
    value = _positive_amount(amount, problems)
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key:
        problems.add("idempotency_key_required", _("A payment needs an idempotency key."), "idempotency_key")
    elif len(idempotency_key) > 64:
        problems.add("too_long", _("The idempotency key is at most 64 characters."), "idempotency_key")
    reference = (reference or "").strip()
    if method in REFERENCE_REQUIRED and not reference:
        problems.add(
            "reference_required", _("Record the provider's transaction number for this payment method."), "reference"
        )
    if len(reference) > 64:
        problems.add("too_long", _("The reference is at most 64 characters."), "reference")
    problems.raise_if_any()
    assert value is not None
    return _payment_write(
        actor=actor, invoice=invoice, method=method, value=value, idempotency_key=idempotency_key, reference=reference,
        at=at,
    )


def _payment_write(
    *, actor: Any, invoice: Invoice, method: str, value: Decimal, idempotency_key: str, reference: str,
    at: dt.datetime | None,
) -> Payment:
    """The write of a validated payment (staff at the till, or a verified provider notification)."""

    def replay(existing: Payment) -> Payment:
        if existing.invoice_id != invoice.pk or existing.amount != value or existing.method != method:
            raise Conflict(
                "idempotency_key_reused",
                _("This idempotency key was already used for another payment."),
                "idempotency_key",
            )
        return existing

    at = at or timezone.now()
    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            # Looked up under the lock only (issue 19: once, not also before it): a retried request, or a concurrent
            # one with the same key that committed while we waited for the lock.
            existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return replay(existing)
            if locked.status != InvoiceStatus.ISSUED:
                raise Conflict("invoice_not_open", _("This invoice is not open for payment."), "invoice")
            outstanding = q(locked.balance)
            if value > outstanding:
                raise ValidationFailed(
                    "amount_exceeds_balance", _("The amount exceeds the balance of %(b)s.") % {"b": outstanding}, "amount"
                )
            payment = Payment.objects.create(
                invoice=locked, method=method, amount=value, received_at=at, reference=reference,
                idempotency_key=idempotency_key, received_by=_user(actor),
            )
            before = locked.paid_amount
            locked.paid_amount = q(before + value)
            _settle(locked, actor=actor, at=at, reason=f"{method} {value}", dirty=("paid_amount",))
            if locked.status == InvoiceStatus.PAID and locked.bill_to != BillTo.INSURER:  # points follow (not on
                _after_invoice_paid(locked, actor)  # the insurer's money); a paid visit once delivered: the tier too
                # A car delivered on credit closes once settled; closing it recomputes the tier (workshop core).
                repair_order = locked.order
                if repair_order is not None:  # a sale invoice (app accessories) has no repair order
                    _close_order(repair_order, actor=actor, at=at)
                    if repair_order.status == "closed":  # already closed (e.g. history): count the visit now
                        _after_paid_visit(locked.customer_id)
            audit.record(
                actor=actor, obj=locked, action="invoice.payment", store_id=locked.store_id,
                customer_id=locked.customer_id, changes={"paid_amount": [str(before), str(locked.paid_amount)]},
                reason=f"{method} {value}", at=at,
            )
    except IntegrityError:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return replay(existing)
        raise
    return payment


def _not_insurer(invoice: Invoice) -> None:
    if invoice.bill_to == BillTo.INSURER:
        raise ValidationFailed("insurer_pays_by_transfer", _("The insurer pays by bank transfer: record its transfer."), "method")


def _loyalty() -> Any:
    loyalty = _optional("aftersales.loyalty", "services")
    if loyalty is None:
        raise Conflict("loyalty_missing", _("Loyalty is not installed."), "method")
    return loyalty


def invoice_pay_with_points(*, actor: Any, invoice: Invoice, points: Any, idempotency_key: str) -> Payment:
    """Settle part of the invoice with the customer's points (SPEC §12): the loyalty ledger spends them and says what
    they are worth, and that value is recorded as a payment, in one transaction (a refusal on either side writes
    nothing). The same key returns the first payment and spends nothing more."""
    require(actor, "billing.add_payment")
    require_store(actor, invoice.store_id)
    _not_insurer(invoice)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 56:
        raise ValidationFailed("idempotency_key_required", _("A payment needs an idempotency key."), "idempotency_key")
    loyalty = _loyalty()
    with service_atomic():
        value = loyalty.points_redeem_on_invoice(
            actor=actor, customer=invoice.customer, invoice=invoice, points=points, idempotency_key=key
        )
        return _payment_write(
            actor=actor, invoice=invoice, method=PaymentMethod.POINTS, value=q(value), idempotency_key=f"points:{key}",
            reference=_("%(n)s points") % {"n": points}, at=None,
        )


def invoice_pay_with_voucher(*, actor: Any, invoice: Invoice, code: str, idempotency_key: str) -> Payment:
    """Use one of the customer's vouchers on the invoice: the loyalty app checks and redeems it (single use, valid,
    covering the work) and its discount is recorded against the balance, in one transaction."""
    require(actor, "billing.add_payment")
    require_store(actor, invoice.store_id)
    _not_insurer(invoice)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 56:
        raise ValidationFailed("idempotency_key_required", _("A payment needs an idempotency key."), "idempotency_key")
    loyalty = _loyalty()
    from aftersales.loyalty.models import Voucher

    done = Payment.objects.filter(idempotency_key=f"voucher:{key}", invoice_id=invoice.pk).first()
    if done is not None:  # a retried request: the first payment (its voucher may have been given back since)
        return done
    voucher = Voucher.objects.filter(code=(code or "").strip().upper(), customer_id=invoice.customer_id).first()
    if voucher is None:
        raise ValidationFailed("voucher_unknown", _("No voucher of this customer has this code."), "code")
    with service_atomic():
        value = loyalty.voucher_redeem(actor=actor, voucher=voucher, invoice=invoice, idempotency_key=key)
        value = min(q(value), q(Invoice.objects.get(pk=invoice.pk).balance))
        if value <= 0:
            raise ValidationFailed("voucher_nothing_off", _("This voucher takes nothing off this invoice."), "code")
        return _payment_write(
            actor=actor, invoice=invoice, method=PaymentMethod.VOUCHER, value=value, idempotency_key=f"voucher:{key}",
            reference=voucher.code, at=None,
        )


# ---- the owner pays with points or a voucher in the owner app ----------------------------------------------------
def _owner_invoice(customer: Any, invoice: Invoice) -> None:
    from aftersales.common.errors import NotFound

    if customer is None or invoice.customer_id != customer.pk or invoice.bill_to == BillTo.INSURER:
        raise NotFound("not_found", _("Not found, or not visible to you."), "invoice")


def _owner_key(idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key or len(key) > 40:
        raise ValidationFailed("idempotency_key_required", _("A payment needs an idempotency key."), "idempotency_key")
    return key


def online_payments_close_open(*, invoice: Invoice, at: dt.datetime | None = None) -> None:
    """Before the balance changes (points or a voucher applied): no online payment of the old balance may stay open
    at the provider. Each pending one is asked about (paid → recorded) and otherwise closed at the provider and here;
    a provider that does not answer refuses the change (nothing written)."""
    from . import providers
    from .models import OnlinePayment

    at = at or timezone.now()
    for online in OnlinePayment.objects.filter(invoice_id=invoice.pk, status=OnlinePayment.Status.PENDING).select_related("merchant"):
        if online.merchant_id is not None:
            after = online_payment_check(online=online, at=at)
            if after.status != OnlinePayment.Status.PENDING:
                continue
            close = providers.wechat_close if online.channel in providers.WECHAT_CHANNELS else providers.alipay_close
            try:
                close(merchant=online.merchant, out_trade_no=online.out_trade_no)
            except providers.ProviderError as exc:
                log.warning("close %s failed: %s", online.out_trade_no, exc)
                raise Conflict("provider_unavailable",
                               _("The payment service did not answer. Please try again in a moment."), "general") from exc
        OnlinePayment.objects.filter(pk=online.pk, status=OnlinePayment.Status.PENDING).update(
            status=OnlinePayment.Status.CLOSED, note="closed: balance changed",
        )


def owner_pay_with_points(*, customer: Any, invoice: Invoice, points: Any, idempotency_key: str) -> Payment:
    """The owner spends their own points on their own invoice in the owner app (``invoice_pay_with_points`` without a
    staff actor): the loyalty ledger's owner path (their invoice only, under the customer's row lock, never below
    zero, capped at the store's share) and a POINTS payment, in one transaction; audited as the owner's own action.
    The same key returns the first payment."""
    _owner_invoice(customer, invoice)
    key = _owner_key(idempotency_key)
    # the ledger's entry is "redeem:owner<id>:<key>": a refund of this payment finds it by the same tail
    pay_key = f"points:owner{customer.pk}:{key}"
    done = Payment.objects.filter(idempotency_key=pay_key, invoice_id=invoice.pk).first()
    if done is not None:
        return done
    loyalty = _loyalty()
    online_payments_close_open(invoice=invoice)
    with service_atomic():
        value = loyalty.points_redeem_on_invoice(
            actor=None, owner=customer, customer=customer, invoice=invoice, points=points, idempotency_key=key,
        )
        return _payment_write(
            actor=None, invoice=invoice, method=PaymentMethod.POINTS, value=q(value), idempotency_key=pay_key,
            reference=_("%(n)s points") % {"n": points}, at=None,
        )


def owner_pay_with_voucher(*, customer: Any, invoice: Invoice, voucher_id: Any, idempotency_key: str) -> Payment:
    """The owner uses one of their own vouchers on their own invoice in the owner app: single use under the voucher's
    row lock (of two concurrent uses exactly one wins), its discount recorded as a VOUCHER payment, in one transaction."""
    from aftersales.loyalty.models import Voucher

    _owner_invoice(customer, invoice)
    key = _owner_key(idempotency_key)
    pay_key = f"voucher:o{customer.pk}:{key}"
    done = Payment.objects.filter(idempotency_key=pay_key, invoice_id=invoice.pk).first()
    if done is not None:
        return done
    loyalty = _loyalty()
    voucher = (Voucher.objects.filter(pk=int(voucher_id), customer_id=customer.pk).first()
               if str(voucher_id or "").isdigit() else None)
    if voucher is None:
        raise ValidationFailed("voucher_unknown", _("Choose one of your vouchers."), "voucher")
    online_payments_close_open(invoice=invoice)
    with service_atomic():
        value = loyalty.voucher_redeem(actor=None, owner=customer, voucher=voucher, invoice=invoice, idempotency_key=key)
        value = min(q(value), q(Invoice.objects.get(pk=invoice.pk).balance))
        if value <= 0:
            raise ValidationFailed("voucher_nothing_off", _("This voucher takes nothing off this invoice."), "voucher")
        return _payment_write(
            actor=None, invoice=invoice, method=PaymentMethod.VOUCHER, value=value, idempotency_key=pay_key,
            reference=voucher.code, at=None,
        )


def refund_record(
    *,
    actor: Any,
    payment: Payment,
    amount: Any,
    reason: str,
    idempotency_key: str,
    reference: str = "",
    at: dt.datetime | None = None,
) -> Refund:
    """Give money back against one payment (never more than what is left of it), with the reason. Above
    REFUND_APPROVAL_THRESHOLD only a manager (billing.approve_refund) may. Idempotent like payments.

    Loyalty (docs/billing.md, "Refunds and loyalty"): a payment made with points is refunded in points (the share of
    the points spent goes back to the customer, in the same transaction); a voucher payment is refunded only whole
    and gives the voucher back (usable again while valid). Once committed, the points the invoice earned are taken
    back in proportion to the money no longer kept (``loyalty.points_take_back``; its sweep repairs a miss)."""
    require(actor, "billing.add_refund")
    invoice = payment.invoice
    require_store(actor, invoice.store_id)
    problems = Problems()  # every bad field of the refund named at once
    value = _positive_amount(amount, problems)
    reason = (reason or "").strip()
    if not reason:
        problems.add("required", _("Give the reason for the refund."), "reason")
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 64:
        problems.add("idempotency_key_required", _("A refund needs an idempotency key."), "idempotency_key")
    problems.raise_if_any()
    assert value is not None
    if value > REFUND_APPROVAL_THRESHOLD and not actor.has_perm("billing.approve_refund"):
        raise Forbidden(
            "refund_needs_manager",
            _("Refunds above %(t)s need a manager.") % {"t": REFUND_APPROVAL_THRESHOLD},
            "amount",
        )

    def replay(existing: Refund) -> Refund:
        if existing.payment_id != payment.pk or existing.amount != value:
            raise Conflict(
                "idempotency_key_reused", _("This idempotency key was already used for another refund."), "idempotency_key"
            )
        return existing

    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return replay(existing)
    return _refund_write(actor=actor, payment=payment, value=value, reason=reason, idempotency_key=idempotency_key,
                         reference=reference, at=at or timezone.now(), replay=replay)


def _refund_write(*, actor: Any, payment: Payment, value: Decimal, reason: str, idempotency_key: str, reference: str,
                  at: dt.datetime, replay: Any) -> Refund:
    """The write of a refund, its checks done (``refund_record``; ``loyalty_payments_return`` with no actor)."""
    invoice = payment.invoice
    loyalty: Any = _loyalty() if payment.method in LOYALTY_METHODS else None
    try:
        with transaction.atomic():
            if payment.method == PaymentMethod.POINTS:  # the ledger's lock first, as paying with points takes it
                from aftersales.customers.models import Customer

                list(Customer.objects.select_for_update().filter(pk=invoice.customer_id).values_list("pk", flat=True))
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return replay(existing)
            pay = Payment.objects.select_for_update().get(pk=payment.pk)
            if value > pay.refundable:
                raise ValidationFailed(
                    "amount_exceeds_payment",
                    _("The refund cannot exceed what is left of the payment (%(b)s).") % {"b": pay.refundable},
                    "amount",
                )
            if pay.method == PaymentMethod.VOUCHER and value != pay.amount:
                raise ValidationFailed(
                    "voucher_refund_whole",
                    _("A voucher payment is refunded whole (%(a)s): the voucher goes back to the customer, never cash.")
                    % {"a": pay.amount},
                    "amount",
                )
            refund = Refund.objects.create(
                payment=pay, amount=value, reason=reason[:300], reference=(reference or "").strip()[:64],
                refunded_at=at, refunded_by=_user(actor), idempotency_key=idempotency_key,
            )
            pay.refunded_amount = q(pay.refunded_amount + value)
            pay.save(update_fields=["refunded_amount"])
            if pay.method == PaymentMethod.POINTS:  # points go back as points, never as cash
                loyalty.points_return_for_refund(refund=refund, actor=_user(actor))
            elif pay.method == PaymentMethod.VOUCHER:  # the voucher goes back to the customer
                loyalty.voucher_return_for_refund(refund=refund, actor=_user(actor))
            before = locked.refunded_amount
            locked.refunded_amount = q(before + value)
            locked.save(update_fields=["refunded_amount"])
            _settle(locked, actor=actor, at=at, reason=f"refund {value}")
            _after_paid_visit(locked.customer_id)  # refunded money does not count toward the tier
            _after_money_back(actor, locked.pk, refund=refund)  # nor toward the points the invoice earned
            audit.record(
                actor=actor, obj=locked, action="invoice.refund", store_id=locked.store_id,
                customer_id=locked.customer_id, changes={"refunded_amount": [str(before), str(locked.refunded_amount)]},
                reason=reason[:500], at=at,
            )
    except IntegrityError:
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return replay(existing)
        raise
    return refund


def loyalty_payments_return(*, invoice: Invoice, reason: str, at: dt.datetime | None = None) -> list[Refund]:
    """Give back every points and voucher payment of ``invoice`` not yet refunded, whole: points as points, the voucher
    as the voucher, never money, so no refund right is needed. The system path of an order that ends unpaid (an app
    order that expired, or that its owner cancelled after taking points or a voucher off it); the caller holds the
    customer's row lock before the invoice's when it holds the invoice (the order paying with points takes them).
    Idempotent: one refund per payment, keyed by it."""
    at = at or timezone.now()
    done = []
    for pay in Payment.objects.filter(invoice=invoice, method__in=LOYALTY_METHODS, refunded_amount__lt=F("amount")).order_by("id"):
        key = f"loyalty-return-{pay.pk}"

        def replay(existing: Refund) -> Refund:
            return existing

        existing = Refund.objects.filter(idempotency_key=key).first()
        done.append(existing or _refund_write(actor=None, payment=pay, value=pay.refundable, reason=reason,
                                              idempotency_key=key, reference="", at=at, replay=replay))
    return done


# ---- delivery --------------------------------------------------------------------------------------------------
def delivery_credit_allow(*, actor: Any, order: Any, reason: str, at: dt.datetime | None = None) -> DeliveryCredit:
    """A manager lets the car go home before the invoice is paid, with the reason (recorded and audited)."""
    require(actor, "billing.add_deliverycredit")
    require_store(actor, order.store_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("required", _("Give the reason for delivering on credit."), "reason")
    at = at or timezone.now()
    with service_atomic():
        invoice = Invoice.objects.select_for_update().filter(order_id=order.pk).first()
        if invoice is None:
            raise Conflict("invoice_missing", _("Issue the invoice first."), "order")
        if invoice.balance <= 0:
            raise Conflict("nothing_owed", _("This invoice is settled: no credit is needed."), "order")
        if DeliveryCredit.objects.filter(order_id=order.pk).exists():
            raise Conflict("credit_exists", _("Credit was already allowed for this order."), "order")
        credit = DeliveryCredit.objects.create(
            order_id=order.pk, amount=q(invoice.balance), reason=reason[:300], granted_by=_user(actor), granted_at=at
        )
        audit.record(
            actor=actor, obj=invoice, action="invoice.credit_allowed", store_id=order.store_id,
            customer_id=order.customer_id, changes={"credit": [None, str(credit.amount)]}, reason=reason[:500], at=at,
        )
    return credit


def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _care_plan(order: Any) -> tuple[int, int] | None:
    """(interval months, interval km) of the vehicle's maintenance plan when care provides one (billing/care_plan.py)."""
    from .care_plan import maintenance_plan

    return maintenance_plan(order)


def next_maintenance(order: Any, delivered_on: dt.date) -> tuple[dt.date, int | None]:
    """The next maintenance (date, km) for the reminder card: the one place it is computed.

    The vehicle's maintenance plan (care app) when there is one; otherwise the store default: 6 months / 5,000 km
    after this visit's date and mileage."""
    months, km_step = DEFAULT_SERVICE_INTERVAL_MONTHS, DEFAULT_SERVICE_INTERVAL_KM
    plan = _care_plan(order)
    if plan is not None:
        months, km_step = plan
    km = order.mileage_in + km_step if order.mileage_in else None
    return _add_months(delivered_on, months), km


def _actor_id(actor: Any) -> int | None:
    user = _user(actor)
    return getattr(user, "pk", None)


def _after_invoice_paid(invoice: Invoice, actor: Any) -> None:
    """Told after commit (loyalty earns the points; its sweep catches anything missed): common/events.py."""
    events.publish(events.InvoicePaid(invoice_id=invoice.pk, customer_id=invoice.customer_id, actor_id=_actor_id(actor)))


def _after_money_back(
    actor: Any, invoice_id: int, *, refund: Refund | None = None, credit_note: CreditNote | None = None
) -> None:
    """Told after commit (loyalty takes back the points in proportion; its ``clawback_sweep`` repairs a miss)."""
    events.publish(events.MoneyReturned(
        invoice_id=invoice_id, refund_id=getattr(refund, "pk", None), credit_note_id=getattr(credit_note, "pk", None),
        actor_id=_actor_id(actor),
    ))


def _after_paid_visit(customer_id: int) -> None:
    """Tiers are recomputed on every paid visit (and when its money changes: refunds, credit notes), once the
    transaction has committed (engagement subscribes; its nightly sweep catches anything missed)."""
    events.publish(events.PaidVisitChanged(customer_id=customer_id))


def order_deliver(
    *,
    actor: Any,
    order: Any,
    jobs_explained: bool = True,
    parts_shown: bool = True,
    old_parts_handed_over: bool = False,
    warranty_explained: bool = True,
    car_state: str = "",
    notes: str = "",
    at: dt.datetime | None = None,
) -> Delivery:
    """Hand the car back: refused while the invoice is unpaid unless a manager allowed credit; records the
    walk-through and the reminder card's next maintenance, then moves the order to delivered (workshop core)."""
    from aftersales.workshop.models import RepairOrder
    from aftersales.workshop.services import repair_order_deliver

    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    if len(car_state) > 300:
        raise ValidationFailed("too_long", _("Keep this under 300 characters."), "car_state")
    if len(notes) > 500:
        raise ValidationFailed("too_long", _("Keep this under 500 characters."), "notes")
    if at < order.opened_at:
        raise ValidationFailed("delivered_before_opened", _("Delivery cannot be before check-in."), "at")
    with service_atomic():
        invoice = Invoice.objects.select_for_update().filter(order_id=order.pk).first()
        if invoice is None:
            raise Conflict("invoice_missing", _("Issue the invoice before delivering the car."), "order")
        if invoice.balance > 0 and not DeliveryCredit.objects.filter(order_id=order.pk).exists():
            raise Conflict(
                "unpaid",
                _("The invoice is not paid (%(b)s outstanding): collect payment, or a manager allows credit.")
                % {"b": q(invoice.balance)},
                "order",
            )
        if Delivery.objects.filter(order_id=order.pk).exists():
            raise Conflict("already_delivered", _("This car has already been delivered."), "order")
        # The order row locked once with what the reminder card and the progress message read, and handed to the
        # order moves (delivered, then closed) so that neither locks nor reads it again (common/db.py hold).
        locked = hold(RepairOrder.objects.select_for_update(of=("self",)).select_related(
            "store", "customer", "vehicle", "advisor",
        ).get(pk=order.pk))
        delivered = repair_order_deliver(actor=actor, order=locked, at=at)
        day = timezone.localtime(at, delivered.store.zone).date()
        next_date, next_km = next_maintenance(delivered, day)
        delivery = Delivery.objects.create(
            order=delivered, delivered_at=at, delivered_by=_user(actor), jobs_explained=jobs_explained,
            parts_shown=parts_shown, old_parts_handed_over=old_parts_handed_over,
            warranty_explained=warranty_explained, car_state=car_state.strip(), notes=notes.strip(),
            next_service_date=next_date, next_service_km=next_km,
        )
        audit.record(
            actor=actor, obj=invoice, action="invoice.delivered", store_id=delivered.store_id,
            customer_id=delivered.customer_id,
            changes={"next_service": [None, f"{next_date.isoformat()} / {next_km or '-'} km"]}, at=at,
        )
        if invoice.balance <= 0:  # delivered and settled: the order is closed (on credit it closes when paid)
            _close_order(delivered, actor=actor, at=at)
        _after_paid_visit(delivered.customer_id)
    return delivery


def _close_order(order: Any, *, actor: Any, at: dt.datetime) -> None:
    """Delivered and paid: close the repair order (SPEC §8: delivery closes it; the archive keeps everything).
    Billing has checked its own permission (delivery or payment), so the core's order-level check is not repeated."""
    from aftersales.workshop.choices import OrderStatus
    from aftersales.workshop.services import order_move_checked_elsewhere

    if order.status == OrderStatus.DELIVERED:
        when = max(at, order.delivered_at) if order.delivered_at else at  # history: paid at the till before leaving
        order_move_checked_elsewhere(actor=actor, order=order, to=OrderStatus.CLOSED, reason=coded(gettext_noop("Delivered and paid")), at=when)


def delivery_record_history(*, actor: Any, order: Any) -> Delivery:
    """The delivery record of a visit recorded as already delivered (history, imports, the demo): the reminder
    card's next maintenance from the visit's date and mileage, so its archive and documents are complete."""
    from aftersales.workshop.choices import OrderStatus

    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    if order.status not in (OrderStatus.DELIVERED, OrderStatus.CLOSED) or order.delivered_at is None:
        raise Conflict("not_delivered", _("This repair order has not been delivered."), "order")
    with service_atomic():
        if Delivery.objects.filter(order_id=order.pk).exists():
            raise Conflict("already_delivered", _("This car has already been delivered."), "order")
        day = timezone.localtime(order.delivered_at, order.store.zone).date()
        next_date, next_km = next_maintenance(order, day)
        delivery = Delivery.objects.create(
            order=order, delivered_at=order.delivered_at, delivered_by=order.advisor, jobs_explained=True,
            parts_shown=True, warranty_explained=True, next_service_date=next_date, next_service_km=next_km,
        )
        audit.record(
            actor=actor, obj=order, action="repair_order.delivery_recorded", store_id=order.store_id,
            customer_id=order.customer_id, changes={"next_service": [None, next_date.isoformat()]},
        )
    return delivery


# ---- online payment (the customer's pay link; WeChat Pay v3 notification) --------------------------------------
PAY_LINK_SALT = "billing.pay"
PAY_LINK_MAX_AGE = 7 * 24 * 3600


def pay_link_token(invoice: Invoice) -> str:
    from django.core import signing

    return signing.dumps({"invoice": invoice.pk}, salt=PAY_LINK_SALT)


def pay_link_invoice(token: str) -> Invoice:
    """The invoice a customer's pay link names; NotFound when tampered with or expired."""
    from django.core import signing

    from aftersales.common.errors import NotFound

    try:
        data = signing.loads(token, salt=PAY_LINK_SALT, max_age=PAY_LINK_MAX_AGE)
        return Invoice.objects.select_related("store", "customer", "order", "order__vehicle").get(pk=data["invoice"])
    except (signing.BadSignature, KeyError, TypeError, Invoice.DoesNotExist) as exc:
        raise NotFound("link_invalid", _("This link is not valid or has expired."), None) from exc


ONLINE_PAY_MINUTES = 30  # (product rule) how long an online payment stays open at the provider
SWEEP_GRACE_SECONDS = 60  # the sweep leaves a payment this long to its notification before asking the provider


def _merchant(store_id: int, provider: str) -> Any:
    from .models import MerchantAccount

    merchant = MerchantAccount.objects.filter(store_id=store_id, provider=provider, enabled=True).first()
    if merchant is None:
        label = MerchantAccount.Provider(provider).label
        raise Conflict("provider_not_configured", _("This store does not take %(p)s online yet.") % {"p": label}, "channel")
    return merchant


def online_payment_start(
    *, invoice: Invoice, channel: str = "", notify_url: str = "", return_url: str = "", client_ip: str = "",
    openid: str = "", at: dt.datetime | None = None,
) -> Any:
    """The customer chose to pay the balance online: a pending payment with our merchant order number, and (with a
    channel) the provider's prepay call for the store's own merchant account — the answer is where to send the
    payer (H5 / Alipay), a QR code (Native) or the WeixinJSBridge parameters (JSAPI), kept on ``online.prepay``.
    Without a channel (the older pay link) only the pending payment is made and the notification confirms it."""
    import uuid

    from . import providers
    from .models import OnlinePayment

    at = at or timezone.now()
    if channel and channel not in providers.WECHAT_CHANNELS + providers.ALIPAY_CHANNELS:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": channel}, "channel")
    if channel == "wechat_jsapi" and not openid:
        raise ValidationFailed(
            "wechat_not_bound", _("Sign in with WeChat first, or choose another way to pay."), "channel"
        )
    merchant = _merchant(invoice.store_id, providers.provider_of(channel)) if channel else None
    with service_atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != InvoiceStatus.ISSUED or locked.balance <= 0 or locked.bill_to == BillTo.INSURER:
            raise Conflict("invoice_not_open", _("This invoice is not open for payment."), "invoice")
        recent = at - dt.timedelta(minutes=ONLINE_PAY_MINUTES - 5)
        pending = OnlinePayment.objects.filter(
            invoice=locked, status=OnlinePayment.Status.PENDING, amount=locked.balance, channel=channel,
        ).filter(Q(channel="") | Q(created_at__gte=recent)).exclude(channel="wechat_jsapi").order_by("-id").first()
        if pending is not None and (not channel or pending.pay_url):
            pending.prepay = providers.Prepay(  # type: ignore[attr-defined]  # the answer's prepay, not a column
                "qr" if channel == "wechat_native" else "redirect", pending.pay_url)
            return pending
        online = OnlinePayment.objects.create(
            invoice=locked, out_trade_no=uuid.uuid4().hex, amount=q(locked.balance), created_at=at, channel=channel,
            merchant=merchant,
        )
        audit.record(
            actor=None, obj=locked, action="invoice.online_started", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"online": [None, str(online.amount)]},
            reason=f"{channel} {online.out_trade_no}".strip(), at=at,
        )
    online.prepay = None  # type: ignore[attr-defined]
    if not channel:
        return online
    expire = timezone.localtime(at + dt.timedelta(minutes=ONLINE_PAY_MINUTES), locked.store.zone).isoformat(timespec="seconds")
    subject = _("Invoice %(n)s, %(s)s") % {"n": locked.number, "s": locked.store.name}
    return_url = return_url.replace("{out_trade_no}", online.out_trade_no)
    try:
        if channel in providers.WECHAT_CHANNELS:
            prepay = providers.wechat_prepay(
                merchant=merchant, channel=channel, out_trade_no=online.out_trade_no, amount=online.amount,
                description=subject, notify_url=notify_url, return_url=return_url, client_ip=client_ip, openid=openid,
                expire=expire,
            )
        else:
            prepay = providers.alipay_prepay(
                merchant=merchant, channel=channel, out_trade_no=online.out_trade_no, amount=online.amount,
                subject=subject, notify_url=notify_url, return_url=return_url,
                expire=timezone.localtime(at + dt.timedelta(minutes=ONLINE_PAY_MINUTES), locked.store.zone).strftime("%Y-%m-%d %H:%M:%S"),
            )
    except providers.ProviderError as exc:
        log.warning("prepay %s failed: %s", online.out_trade_no, exc)
        OnlinePayment.objects.filter(pk=online.pk, status=OnlinePayment.Status.PENDING).update(
            status=OnlinePayment.Status.CLOSED, note=str(exc)[:300],
        )
        raise Conflict(
            "provider_unavailable", _("The payment service did not answer. Please try again in a moment."), "channel"
        ) from exc
    online.pay_url = (prepay.url or "")[:2000]
    online.save(update_fields=["pay_url"])
    online.prepay = prepay  # type: ignore[attr-defined]
    return online


def online_payment_confirm(
    *, out_trade_no: str, transaction_id: str, total_fen: int, at: dt.datetime | None = None,
    merchant_id: int | None = None, source: str = "notification",
) -> Any:
    """A verified provider notification (or the provider's answer to our query): record the payment once (the
    provider retries; every retry answers the same). Returns the OnlinePayment; an amount that does not match, or an
    invoice settled meanwhile at the till, leaves it REJECTED with the reason (the money is refunded by staff)."""
    from .models import OnlinePayment

    at = at or timezone.now()
    with service_atomic():
        online = OnlinePayment.objects.select_for_update().filter(out_trade_no=out_trade_no).first()
        if online is None or (merchant_id is not None and online.merchant_id != merchant_id):
            raise ValidationFailed("unknown_order", _("Unknown merchant order number."), "out_trade_no")
        if online.status not in (OnlinePayment.Status.PENDING, OnlinePayment.Status.CLOSED):
            return online  # a replay: recorded once already (or refused once already)
        prefix = "alipay" if online.channel.startswith("alipay") else "wxpay"
        online.transaction_id = transaction_id[:64]
        if total_fen != int(online.amount * 100):
            online.status, online.note = OnlinePayment.Status.REJECTED, f"amount {total_fen} fen != {online.amount}"
            online.save(update_fields=["status", "note", "transaction_id"])
            audit.record(
                actor=None, obj=online.invoice, action="invoice.online_rejected", store_id=online.invoice.store_id,
                customer_id=online.invoice.customer_id, changes={"online": [str(online.amount), total_fen]},
                reason=online.note, at=at,
            )
            return online
        try:
            with transaction.atomic():
                payment = _payment_write(
                    actor=None, invoice=online.invoice, method=PaymentMethod.ONLINE, value=online.amount,
                    idempotency_key=f"{prefix}-{transaction_id}"[:64], reference=transaction_id[:64], at=at,
                )
        except (Conflict, ValidationFailed) as exc:
            online.status, online.note = OnlinePayment.Status.REJECTED, str(exc.message)[:300]
            online.save(update_fields=["status", "note", "transaction_id"])
            return online
        online.status, online.paid_at, online.payment = OnlinePayment.Status.PAID, at, payment
        online.note = "" if source == "notification" else source
        online.save(update_fields=["status", "paid_at", "payment", "transaction_id", "note"])
    return online


def online_payment_check(*, online: Any, at: dt.datetime | None = None) -> Any:
    """Ask the provider about one pending payment (its notification has not come): paid → recorded exactly as a
    notification would; closed, or open past its time → closed at the provider and here. Safe to run twice and
    concurrently with the notification (both end in ``online_payment_confirm``, which records once)."""
    from . import providers
    from .models import OnlinePayment

    at = at or timezone.now()
    if online.status != OnlinePayment.Status.PENDING or online.merchant_id is None:
        return online
    merchant = online.merchant
    ask = providers.wechat_query if online.channel in providers.WECHAT_CHANNELS else providers.alipay_query
    OnlinePayment.objects.filter(pk=online.pk).update(checked_at=at)
    try:
        result = ask(merchant=merchant, out_trade_no=online.out_trade_no)
    except providers.ProviderError as exc:
        log.warning("query %s failed: %s", online.out_trade_no, exc)
        return online
    if result.state == "paid":
        return online_payment_confirm(
            out_trade_no=online.out_trade_no, transaction_id=result.transaction_id, total_fen=result.total_fen, at=at,
            source="query",
        )
    expired = at - online.created_at > dt.timedelta(minutes=ONLINE_PAY_MINUTES + 5)
    if result.state == "pending" and not expired:
        return online
    if result.state == "pending":  # past its time: close it at the provider, so it can never be paid later
        close = providers.wechat_close if online.channel in providers.WECHAT_CHANNELS else providers.alipay_close
        try:
            close(merchant=merchant, out_trade_no=online.out_trade_no)
        except providers.ProviderError as exc:
            log.warning("close %s failed: %s", online.out_trade_no, exc)
            return online
    with transaction.atomic():
        locked = OnlinePayment.objects.select_for_update().get(pk=online.pk)
        if locked.status == OnlinePayment.Status.PENDING:
            locked.status, locked.note = OnlinePayment.Status.CLOSED, "not paid"
            locked.save(update_fields=["status", "note"])
    return locked


def online_payment_sweep(*, at: dt.datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Every pending online payment older than the grace period and not asked about in the last minute: ask the
    provider (``online_payment_check``). Run by the Celery beat task every minute; safe to run twice."""
    from .models import OnlinePayment

    at = at or timezone.now()
    due = list(
        OnlinePayment.objects.filter(
            status=OnlinePayment.Status.PENDING, merchant__isnull=False,
            created_at__lte=at - dt.timedelta(seconds=SWEEP_GRACE_SECONDS),
            created_at__gte=at - dt.timedelta(days=2),
        ).filter(Q(checked_at__isnull=True) | Q(checked_at__lte=at - dt.timedelta(seconds=50)))
        .select_related("merchant", "invoice").order_by("created_at")[:limit]
    )
    counts = {"asked": 0, "paid": 0, "closed": 0}
    for online in due:
        counts["asked"] += 1
        after = online_payment_check(online=online, at=at)
        if after.status == OnlinePayment.Status.PAID:
            counts["paid"] += 1
        elif after.status == OnlinePayment.Status.CLOSED:
            counts["closed"] += 1
    return counts


# ---- refunds through the payment platform -------------------------------------------------------------------------
def online_refund_start(
    *, actor: Any, payment: Payment, amount: Any, reason: str, idempotency_key: str, notify_url: str = "",
    at: dt.datetime | None = None,
) -> Any:
    """Staff give money back to where it came from (WeChat Pay / Alipay) against one online payment: the same checks
    as :func:`refund_record` (permission, store, reason, the manager's threshold, never more than is left of the
    payment counting refunds still on their way), then the platform's refund call with our refund number. The
    :class:`Refund` is recorded once the platform says the money went back (its answer, its notification, or the
    sweep's query): ``online_refund_confirm``. The same key returns the first request."""
    import uuid

    from . import providers
    from .models import OnlinePayment, ProviderRefund

    require(actor, "billing.add_refund")
    require_store(actor, payment.invoice.store_id)
    problems = Problems()  # every bad field named at once, as for a refund at the till
    checked = _positive_amount(amount, problems)
    reason = (reason or "").strip()
    if not reason:
        problems.add("required", _("Give the reason for the refund."), "reason")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 64:
        problems.add("idempotency_key_required", _("A refund needs an idempotency key."), "idempotency_key")
    problems.raise_if_any()
    assert checked is not None
    value = checked
    done = ProviderRefund.objects.filter(idempotency_key=key).first()
    if done is not None:
        return done
    if value > REFUND_APPROVAL_THRESHOLD and not actor.has_perm("billing.approve_refund"):
        raise Forbidden("refund_needs_manager", _("Refunds above %(t)s need a manager.") % {"t": REFUND_APPROVAL_THRESHOLD},
                        "amount")
    online = OnlinePayment.objects.filter(payment_id=payment.pk).select_related("merchant").first()
    if payment.method != PaymentMethod.ONLINE or online is None or online.merchant_id is None:
        raise ValidationFailed("not_online", _("Only a payment made online can be refunded through the provider."), "payment")
    at = at or timezone.now()
    with service_atomic():
        pay = Payment.objects.select_for_update().get(pk=payment.pk)
        on_the_way = ProviderRefund.objects.filter(payment=pay, status=ProviderRefund.Status.PENDING).aggregate(
            v=Sum("amount"))["v"] or Decimal("0")
        left = q(pay.refundable - on_the_way)
        if value > left:
            raise ValidationFailed("amount_exceeds_payment",
                                   _("The refund cannot exceed what is left of the payment (%(b)s).") % {"b": left}, "amount")
        request = ProviderRefund.objects.create(
            payment=pay, online=online, out_refund_no=uuid.uuid4().hex, amount=value, reason=reason[:300],
            requested_by=_user(actor), requested_at=at, idempotency_key=key,
        )
        audit.record(actor=actor, obj=pay.invoice, action="invoice.online_refund_started", store_id=pay.invoice.store_id,
                     customer_id=pay.invoice.customer_id, changes={"online_refund": [None, str(value)]},
                     reason=f"{online.channel} {request.out_refund_no}: {reason}"[:500], at=at)
    try:
        if online.channel in providers.WECHAT_CHANNELS:
            result = providers.wechat_refund(
                merchant=online.merchant, out_trade_no=online.out_trade_no, out_refund_no=request.out_refund_no,
                refund=value, total=online.amount, reason=reason, notify_url=notify_url,
            )
        else:
            result = providers.alipay_refund(merchant=online.merchant, out_trade_no=online.out_trade_no,
                                             out_refund_no=request.out_refund_no, refund=value, reason=reason)
    except providers.ProviderError as exc:  # unknown whether it went through: the sweep asks (same refund number)
        log.warning("refund %s: %s", request.out_refund_no, exc)
        ProviderRefund.objects.filter(pk=request.pk).update(note=str(exc)[:300])
        request.refresh_from_db()
        return request
    return _online_refund_settle(request.out_refund_no, result, at=at)


def _online_refund_settle(out_refund_no: str, result: Any, *, at: dt.datetime) -> Any:
    if result.state == "succeeded":
        return online_refund_confirm(out_refund_no=out_refund_no, refund_id=result.refund_id, refund_fen=result.refund_fen,
                                     at=at)
    if result.state == "failed":
        return online_refund_fail(out_refund_no=out_refund_no, note=result.note, at=at)
    from .models import ProviderRefund

    return ProviderRefund.objects.get(out_refund_no=out_refund_no)


def online_refund_confirm(
    *, out_refund_no: str, refund_id: str, refund_fen: int, at: dt.datetime | None = None, merchant_id: int | None = None,
) -> Any:
    """The platform says the money went back: record the :class:`Refund` once (a replayed notification, the answer
    and the sweep all end here; only the first writes). An amount that does not match is refused."""
    from .models import ProviderRefund

    at = at or timezone.now()
    with service_atomic():
        request = ProviderRefund.objects.select_for_update().select_related("payment", "online").filter(
            out_refund_no=out_refund_no).first()
        if request is None or (merchant_id is not None and request.online.merchant_id != merchant_id):
            raise ValidationFailed("unknown_refund", _("Unknown merchant refund number."), "out_refund_no")
        if request.status != ProviderRefund.Status.PENDING:
            return request
        if refund_fen and refund_fen != int(request.amount * 100):
            raise ValidationFailed("amount_mismatch", _("The refunded amount does not match."), "amount")
        refund = refund_record(
            actor=request.requested_by, payment=request.payment, amount=request.amount, reason=request.reason,
            idempotency_key=f"prf-{out_refund_no}"[:64], reference=(refund_id or out_refund_no)[:64], at=at,
        )
        request.status, request.settled_at, request.refund = ProviderRefund.Status.SUCCEEDED, at, refund
        request.provider_refund_id = (refund_id or "")[:64]
        request.save(update_fields=["status", "settled_at", "refund", "provider_refund_id"])
    return request


def online_refund_fail(*, out_refund_no: str, note: str, at: dt.datetime | None = None) -> Any:
    from .models import ProviderRefund

    at = at or timezone.now()
    with service_atomic():
        request = ProviderRefund.objects.select_for_update().get(out_refund_no=out_refund_no)
        if request.status != ProviderRefund.Status.PENDING:
            return request
        request.status, request.settled_at, request.note = ProviderRefund.Status.FAILED, at, (note or "refused")[:300]
        request.save(update_fields=["status", "settled_at", "note"])
        invoice = request.payment.invoice
        audit.record(actor=None, obj=invoice, action="invoice.online_refund_failed", store_id=invoice.store_id,
                     customer_id=invoice.customer_id, reason=f"{out_refund_no}: {request.note}", at=at)
    return request


def online_refund_check(*, request: Any, at: dt.datetime | None = None) -> Any:
    """Ask the platform about one refund still on its way (its notification has not come)."""
    from . import providers
    from .models import ProviderRefund

    at = at or timezone.now()
    if request.status != ProviderRefund.Status.PENDING:
        return request
    online = request.online
    ProviderRefund.objects.filter(pk=request.pk).update(checked_at=at)
    try:
        if online.channel in providers.WECHAT_CHANNELS:
            result = providers.wechat_refund_query(merchant=online.merchant, out_refund_no=request.out_refund_no)
        else:
            result = providers.alipay_refund_query(merchant=online.merchant, out_trade_no=online.out_trade_no,
                                                   out_refund_no=request.out_refund_no)
    except providers.ProviderError as exc:
        log.warning("refund query %s failed: %s", request.out_refund_no, exc)
        return request
    return _online_refund_settle(request.out_refund_no, result, at=at)


def online_refund_sweep(*, at: dt.datetime | None = None, limit: int = 200) -> int:
    """Every refund still on its way after a minute and not asked about in the last minute: ask the platform."""
    from .models import ProviderRefund

    at = at or timezone.now()
    due = list(ProviderRefund.objects.filter(
        status=ProviderRefund.Status.PENDING, requested_at__lte=at - dt.timedelta(seconds=SWEEP_GRACE_SECONDS),
    ).filter(Q(checked_at__isnull=True) | Q(checked_at__lte=at - dt.timedelta(seconds=50)))
        .select_related("online__merchant").order_by("requested_at")[:limit])
    for request in due:
        online_refund_check(request=request, at=at)
    return len(due)


# ---- merchant accounts (each store is paid into its own) -----------------------------------------------------------
MERCHANT_SECRETS = ("private_key", "api_v3_key")


def merchant_account_save(*, actor: Any, store: Any, provider: str, data: dict[str, Any]) -> Any:
    """Create or change a store's merchant account. Secret fields left empty keep what is stored (the screen never
    shows them back). Every bad field is named at once (``errors``), nothing is written."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

    from .models import MerchantAccount

    require(actor, "billing.change_merchantaccount")
    require_store(actor, store.pk)
    if provider not in MerchantAccount.Provider.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": provider}, "provider")
    existing = MerchantAccount.objects.filter(store=store, provider=provider).first()
    text = {k: str(data.get(k) or "").strip() for k in (
        "merchant_id", "app_id", "merchant_serial", "private_key", "api_v3_key", "platform_public_key", "platform_key_id",
    )}
    errors: dict[str, str] = {}
    wechat = provider == MerchantAccount.Provider.WECHAT
    required = ["app_id", "private_key", "platform_public_key"]
    if wechat:
        required += ["merchant_id", "merchant_serial", "api_v3_key", "platform_key_id"]
    limits = {"merchant_id": 32, "app_id": 32, "merchant_serial": 64, "platform_key_id": 64}
    for name in required:
        kept = existing is not None and name in MERCHANT_SECRETS and getattr(existing, name)
        if not text[name] and not kept:
            errors[name] = str(_("This field is required."))
    for name, limit in limits.items():
        if len(text[name]) > limit:
            errors[name] = str(_("At most %(n)s characters.") % {"n": limit})
    if text["api_v3_key"] and len(text["api_v3_key"].encode()) != 32:
        errors["api_v3_key"] = str(_("The APIv3 key is exactly 32 characters."))
    if text["private_key"]:
        try:
            key = load_pem_private_key(text["private_key"].encode(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError
        except (ValueError, TypeError):
            errors["private_key"] = str(_("Paste an RSA private key in PEM form (-----BEGIN PRIVATE KEY-----)."))
    if text["platform_public_key"]:
        try:
            pub = load_pem_public_key(text["platform_public_key"].encode())
            if not isinstance(pub, rsa.RSAPublicKey):
                raise ValueError
        except (ValueError, TypeError):
            errors["platform_public_key"] = str(_("Paste an RSA public key in PEM form (-----BEGIN PUBLIC KEY-----)."))
    if errors:
        first = next(iter(errors))
        raise ValidationFailed("invalid", errors[first], first, errors=errors)
    at = timezone.now()
    with transaction.atomic():
        account = existing or MerchantAccount(store=store, provider=provider)
        before = {k: getattr(account, k, "") for k in text if k not in MERCHANT_SECRETS}
        for name, value in text.items():
            if name in MERCHANT_SECRETS and not value:
                continue
            setattr(account, name, value)
        account.enabled = bool(data.get("enabled"))
        account.updated_at = at
        account.save()
        changes = {k: [before[k], getattr(account, k)] for k in before if before[k] != getattr(account, k)}
        changes.update({k: ["***", "***"] for k in MERCHANT_SECRETS if text[k]})
        audit.record(actor=actor, obj=account, action="billing.merchant_saved", store_id=store.pk, changes=changes, at=at)
    return account
