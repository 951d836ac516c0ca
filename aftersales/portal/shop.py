"""The owner app's accessories shop (docs/portal.md, "Accessories shop"): what a store sells online, the cart, the
order with its stock reservation, and the store's handling of it (pick, ready, handed over, cancelled with refund).

Writes here are services (keyword-only, one transaction, an audit row); reads take the signed-in customer (owner
side) or the acting staff user (store side) and return only what they may see.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from aftersales.common import audit
from aftersales.common.db import service_atomic
from aftersales.common.errors import Conflict, DomainError, Forbidden, Problems, ValidationFailed
from aftersales.common.money import q
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded

from .models import ShopOrder, ShopOrderLine

log = logging.getLogger(__name__)

MAX_QTY = 20  # (product rule) of one item in one order
MAX_LINES = 20
CART_KEY = "portal_cart"

Status = ShopOrder.Status
Fulfilment = ShopOrder.Fulfilment

# what staff may move an order to, from each state
TRANSITIONS: dict[str, set[str]] = {
    Status.PLACED: {Status.PICKING, Status.CANCELLED},
    Status.PICKING: {Status.READY, Status.CANCELLED},
    Status.READY: {Status.HANDED_OVER, Status.CANCELLED},
    Status.HANDED_OVER: set(),
    Status.CANCELLED: set(),
    Status.EXPIRED: set(),  # only the sweep puts an order here (shop_order_expire), never staff
}


# ---- reads: the owner --------------------------------------------------------------------------------------------
@dataclass
class ShopItem:
    part: Any
    price: Decimal
    available: int


def catalogue(store: Any) -> list[ShopItem]:
    """What the store sells in the app: parts flagged for online sale with their online price and what is free to
    sell now (on hand less reserved, whole units). Two queries whatever the number of items."""
    from aftersales.parts.models import Part, StockItem

    parts = list(Part.objects.filter(group_id=store.group_id, sold_online=True, is_active=True).order_by("category", "number"))
    free = {
        row["part_id"]: row["free"]
        for row in StockItem.objects.filter(store=store, part__in=parts).annotate(free=F("on_hand") - F("reserved"))
        .values("part_id", "free")
    }
    return [ShopItem(part=p, price=p.online_price or Decimal("0"), available=max(int(free.get(p.pk) or 0), 0)) for p in parts]


def item_get(store: Any, pk: Any) -> ShopItem:
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    for item in catalogue(store):
        if item.part.pk == pk:
            return item
    raise Http404


def orders_of(customer: Any) -> QuerySet[ShopOrder]:
    return ShopOrder.objects.filter(customer=customer).select_related("store", "invoice")


def order_get(customer: Any, pk: Any) -> ShopOrder:
    try:
        return orders_of(customer).prefetch_related("lines__part").get(pk=int(pk))
    except (TypeError, ValueError, ShopOrder.DoesNotExist) as exc:
        raise Http404 from exc


def fit_targets(customer: Any, store: Any, now: dt.datetime | None = None) -> list[tuple[str, Any]]:
    """Where the items can be fitted: the owner's open repair order at this store (still being worked out), then
    their booked appointments there. Values "ro:<id>" / "appt:<id>"."""
    from aftersales.appointments.choices import AppointmentStatus
    from aftersales.appointments.models import Appointment
    from aftersales.workshop.choices import EDITABLE_STATES
    from aftersales.workshop.models import RepairOrder

    now = now or timezone.now()
    targets: list[tuple[str, Any]] = [
        (f"ro:{o.pk}", o) for o in RepairOrder.objects.filter(
            customer=customer, vehicle__owner=customer, store=store, status__in=EDITABLE_STATES,
        ).select_related("vehicle").order_by("-opened_at")[:3]
    ]
    targets += [
        (f"appt:{a.pk}", a) for a in Appointment.objects.filter(
            customer=customer, store=store, status=AppointmentStatus.BOOKED, start__gte=now,
        ).select_related("vehicle").order_by("start")[:3]
    ]
    return targets


def cart_lines(store: Any, cart: dict[str, Any]) -> tuple[list[dict[str, Any]], Decimal]:
    """The session cart ({part id: quantity}) against the store's catalogue: lines with price and amount (items no
    longer offered drop out) and the total."""
    items = {str(i.part.pk): i for i in catalogue(store)}
    lines, total = [], Decimal("0")
    for pk, qty in cart.items():
        item = items.get(str(pk))
        if item is None:
            continue
        amount = q(item.price * int(qty))
        lines.append({"item": item, "quantity": int(qty), "amount": amount})
        total += amount
    return lines, q(total)


# ---- writes: the owner -------------------------------------------------------------------------------------------
def _quantity(value: Any, field: str, problems: Problems) -> int | None:
    try:
        qty = int(str(value).strip())
    except (TypeError, ValueError):
        problems.add("invalid", _("Enter a whole number."), field)
        return None
    if qty < 1 or qty > MAX_QTY:
        problems.add("out_of_range", _("Choose between 1 and %(n)s.") % {"n": MAX_QTY}, field)
        return None
    return qty


def shop_order_place(
    *, customer: Any, store: Any, items: dict[Any, Any], fulfilment: str, target: str = "", at: dt.datetime | None = None
) -> ShopOrder:
    """The owner orders: every item offered online at this store of their group, 1–20 of each, enough free stock of
    each (all shortages named at once); pickup (a sale invoice to pay online) or fitting at the owner's open repair
    order / booked appointment at this store. The stock is reserved under each item's row lock in the same
    transaction, so concurrent orders never take more than is free. Nothing is written when anything is refused."""
    from aftersales.billing.services import sale_invoice_issue
    from aftersales.parts.choices import ReservationSource
    from aftersales.parts.models import Part
    from aftersales.parts.services import lock_stock_item, reserve, shop_reference

    at = at or timezone.now()
    problems = Problems()
    if store is None or store.group_id != customer.group_id or not store.is_active:
        raise Http404
    if fulfilment not in Fulfilment.values:
        problems.add("invalid_choice", _("Choose how you get the items."), "fulfilment")
    wanted: dict[int, int] = {}
    if not items:
        problems.add("cart_empty", _("Your cart is empty."), "items")
    elif len(items) > MAX_LINES:
        problems.add("too_many_items", _("At most %(n)s different items in one order.") % {"n": MAX_LINES}, "items")
    else:
        for key, value in items.items():
            qty = _quantity(value, f"qty_{key}", problems)
            if qty is not None and str(key).isdigit():
                wanted[int(key)] = qty
    parts = {p.pk: p for p in Part.objects.filter(pk__in=wanted, group_id=store.group_id, sold_online=True, is_active=True)}
    for pk in wanted:
        if pk not in parts:
            problems.add("not_for_sale", _("This item is no longer sold in the app."), f"qty_{pk}")
    _short(store, parts, wanted, problems, locked=None)  # named with the rest; checked again under the locks
    repair_order = appointment = None
    if fulfilment == Fulfilment.FIT:
        chosen = dict(fit_targets(customer, store, at)).get(target or "")
        if chosen is None:
            problems.add("fit_target_required", _("Choose the visit at which the items are fitted."), "target")
        elif target.startswith("ro:"):
            repair_order = chosen
        else:
            appointment = chosen
    problems.raise_if_any()
    with service_atomic():
        locked = {pk: lock_stock_item(store, parts[pk]) for pk in sorted(wanted)}  # one order of locks: no deadlock
        _short(store, parts, wanted, problems, locked=locked)
        problems.raise_if_any()
        lines = [(parts[pk], wanted[pk], Decimal(parts[pk].online_price or 0)) for pk in sorted(wanted)]
        total = q(sum((price * qty for _p, qty, price in lines), Decimal("0")))
        order = ShopOrder.objects.create(
            store=store, customer=customer, number=f"tmp-{customer.pk}-{at.timestamp()}", fulfilment=fulfilment,
            repair_order=repair_order, appointment=appointment, total=total, created_at=at, updated_at=at,
        )
        order.number = f"A{timezone.localtime(at, store.zone):%y%m%d}{order.pk:05d}"
        ShopOrderLine.objects.bulk_create(
            ShopOrderLine(order=order, part=part, name=part.shop_name()[:120], quantity=qty, unit_price=price,
                          amount=q(price * qty))
            for part, qty, price in lines
        )
        for part, qty, _price in lines:
            reserve(actor=None, store=store, part=part, quantity=qty, source=ReservationSource.SHOP,
                    reference=shop_reference(order.pk))
        if fulfilment == Fulfilment.PICKUP:
            order.invoice = sale_invoice_issue(
                store=store, customer=customer, reason=order.number,
                lines=[{"code": p.number, "description": p.name_zh, "quantity": qty, "unit_price": price}
                       for p, qty, price in lines], at=at,
            )
        order.save(update_fields=["number", "invoice"])
        audit.record(actor=None, obj=order, action="shop_order.placed", store_id=store.pk, customer_id=customer.pk,
                     changes={"total": [None, str(total)], "fulfilment": [None, fulfilment]}, at=at)
    return order


def _short(store: Any, parts: dict[int, Any], wanted: dict[int, int], problems: Problems, *, locked: Any) -> None:
    """Name every item of which less is free than wanted (from the locked rows when given)."""
    from aftersales.parts.models import StockItem

    if locked is None:
        locked = {i.part_id: i for i in StockItem.objects.filter(store=store, part_id__in=list(parts))}
    for pk, qty in wanted.items():
        if pk not in parts:
            continue
        item = locked.get(pk)
        free = int(max(item.on_hand - item.reserved, Decimal("0"))) if item is not None else 0
        if qty > free:
            problems.add("insufficient_available",
                         _("Only %(n)s of “%(item)s” left.") % {"n": free, "item": parts[pk].shop_name()}, f"qty_{pk}")


def shop_order_cancel_by_owner(*, customer: Any, order: ShopOrder, at: dt.datetime | None = None) -> ShopOrder:
    """The owner changes their mind before any money is paid or anything picked: the reservation goes back, points or
    a voucher taken off the invoice go back to the owner, the unpaid rest is credited. After that, the store cancels
    (and refunds)."""
    if order.customer_id != customer.pk:
        raise Http404
    with service_atomic():
        locked = ShopOrder.objects.select_for_update().get(pk=order.pk)
        _lock_customer(locked)
        paid = locked.invoice_id is not None and _money_kept().filter(invoice_id=locked.invoice_id).exists()
        if locked.status != Status.PLACED or paid:
            raise Conflict("shop_order_not_cancellable",
                           _("This order can no longer be cancelled in the app: please call the store."), "order")
        reason = coded(gettext_noop("Cancelled by the owner"))
        at = at or timezone.now()
        if locked.invoice_id is not None:  # points or a voucher taken off it go back first
            from aftersales.billing.models import Invoice

            _return_loyalty(Invoice.objects.select_for_update(of=("self",)).get(pk=locked.invoice_id), reason=reason, at=at)
        _cancel(locked, actor=None, reason=reason, at=at)
    return locked


# ---- reads: the store --------------------------------------------------------------------------------------------
def staff_orders(user: Any, status: str = "") -> QuerySet[ShopOrder]:
    from aftersales.common.scoping import visible_store_ids

    qs = ShopOrder.objects.filter(store_id__in=visible_store_ids(user)).select_related(
        "store", "customer", "invoice", "repair_order", "appointment").prefetch_related("lines__part")
    if status in Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def staff_order_get(user: Any, pk: Any) -> ShopOrder:
    try:
        return staff_orders(user).get(pk=int(pk))
    except (TypeError, ValueError, ShopOrder.DoesNotExist) as exc:
        raise Http404 from exc


def is_paid(order: ShopOrder) -> bool:
    return order.invoice is not None and order.invoice.status == "paid"


# ---- writes: the store -------------------------------------------------------------------------------------------
def shop_order_move(*, actor: Any, order: ShopOrder, to: str, reason: str = "", at: dt.datetime | None = None) -> ShopOrder:
    """Staff move an order: picking → ready for pickup → handed over (the stock leaves with a SALE row consuming
    the reservation; a pickup order must be paid), or cancelled with the reason (reservation back; what was paid is
    refunded through the existing refund paths: online payments back to where they came from, points and vouchers
    back to the owner; the unpaid rest credited). A fitting order's "picking" puts the items on the repair order as a
    job, its reservation moving to that job (the workshop's issue then consumes it)."""
    if to != Status.CANCELLED or not actor.has_perm("billing.add_refund"):  # a cashier may cancel (with the refund)
        require(actor, "portal.change_shoporder")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    if to not in Status.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": to}, "status")
    reason = (reason or "").strip()
    if to == Status.CANCELLED and not reason:
        raise ValidationFailed("required", _("Give the reason for the cancellation (the owner is told)."), "reason")
    if to == Status.CANCELLED:
        _may_refund(actor, order)  # before anything is written or any provider is called
    with service_atomic():
        locked = ShopOrder.objects.select_for_update(of=("self",)).select_related("store", "invoice").get(pk=order.pk)
        if to not in TRANSITIONS[locked.status]:
            raise Conflict("shop_order_wrong_state", _("This order cannot go from “%(a)s” to “%(b)s”.") % {
                "a": Status(locked.status).label, "b": Status(to).label}, "status")
        if locked.fulfilment == Fulfilment.PICKUP and to in (Status.READY, Status.HANDED_OVER) and not is_paid(locked):
            raise Conflict("shop_order_not_paid", _("The owner has not paid this order yet."), "status")
        if to == Status.CANCELLED:
            _may_refund(actor, locked)  # again under the lock: a payment may have come in meanwhile
            _cancel(locked, actor=actor, reason=reason, at=at)
            _tell_owner(locked, "shop.cancelled", reason=reason)
            return locked
        if to == Status.PICKING and locked.fulfilment == Fulfilment.FIT:
            _to_repair_order(locked, actor=actor, at=at)
        if to == Status.HANDED_OVER and locked.fulfilment == Fulfilment.PICKUP:
            from aftersales.parts.services import shop_reference, stock_sell

            for line in locked.lines.select_related("part"):
                stock_sell(actor=actor, store=locked.store, part=line.part, quantity=line.quantity,
                           reference=shop_reference(locked.pk), customer_id=locked.customer_id, number=locked.number)
        before = locked.status
        locked.status, locked.updated_at = to, at
        locked.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, obj=locked, action="shop_order.moved", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"status": [before, to]}, at=at)
        if to == Status.READY:
            _tell_owner(locked, "shop.ready", next_step=READY_STEP[locked.fulfilment])
    return locked


READY_STEP = {
    Fulfilment.PICKUP: gettext_lazy("collect them at the store"),
    Fulfilment.FIT: gettext_lazy("they are fitted at your visit"),
}


def refund_owed(order: ShopOrder) -> bool:
    """Has the owner paid anything of this order that a cancel would give back?"""
    from aftersales.billing.models import Payment

    return order.invoice_id is not None and Payment.objects.filter(
        invoice_id=order.invoice_id, refunded_amount__lt=F("amount")).exists()


def may_cancel(user: Any, order: ShopOrder) -> bool:
    """Staff may cancel this order (the page shows the button): a paid order only with billing's refund right."""
    return not refund_owed(order) or user.has_perm("billing.add_refund")


def _may_refund(actor: Any, order: ShopOrder) -> None:
    """Cancelling a paid order refunds it through billing: the actor needs billing's refund right (a parts clerk has
    none), and a manager's approval right for any payment above billing's threshold, all checked before anything."""
    from aftersales.billing.models import Payment
    from aftersales.billing.services import REFUND_APPROVAL_THRESHOLD

    if not refund_owed(order):
        return
    if not actor.has_perm("billing.add_refund"):
        raise Forbidden("shop_refund_not_allowed", _("This order is paid: cancelling it refunds the owner, which only "
                                                     "staff who may give refunds (cashier, manager) can do."), "status")
    payments = Payment.objects.filter(invoice_id=order.invoice_id, refunded_amount__lt=F("amount"))
    if any(p.refundable > REFUND_APPROVAL_THRESHOLD for p in payments) and not actor.has_perm("billing.approve_refund"):
        raise Forbidden("refund_needs_manager", _("Refunds above %(t)s need a manager.") % {"t": REFUND_APPROVAL_THRESHOLD},
                        "status")


def order_link(order: ShopOrder) -> str:
    """The owner's page of the order, as a full address for a message."""
    from django.urls import reverse

    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}{reverse('portal:shop_order', args=[order.pk])}"


def _tell_owner(order: ShopOrder, kind: str, **variables: Any) -> None:
    """A service message through the outbox in this transaction (the owner's channel and language, listed in their
    in-app inbox); once per order and kind."""
    from aftersales.customers.models import Customer
    from aftersales.messaging.kinds import KINDS
    from aftersales.messaging.services import customer_variables, message_enqueue

    customer = Customer.objects.get(pk=order.customer_id)
    values = {**customer_variables(customer=customer, store=order.store), "number": order.number,
              "link": order_link(order), **variables}
    wanted = KINDS[kind].variables
    message_enqueue(kind=kind, store=order.store, customer=customer, dedup_key=f"{kind}:{order.pk}",
                    variables={k: v for k, v in values.items() if k in wanted})


# ---- the expiry sweep ----------------------------------------------------------------------------------------------
def unpaid_minutes() -> int:
    return int(getattr(settings, "SHOP_ORDER_UNPAID_MINUTES", 30))


def shop_orders_expire(*, at: dt.datetime | None = None, limit: int = 200) -> dict[str, int]:
    """The sweep (Celery beat, every minute; safe to run twice or concurrently): pickup orders placed more than
    ``SHOP_ORDER_UNPAID_MINUTES`` ago and not paid expire (``shop_order_expire``): nothing paid, or only points or a
    voucher taken off the invoice (they go back to the owner); money paid keeps the order for the store to decide. An order whose online payment
    is still open at the provider (started within billing's ``ONLINE_PAY_MINUTES``) waits for it."""
    from aftersales.billing.models import OnlinePayment
    from aftersales.billing.services import ONLINE_PAY_MINUTES

    at = at or timezone.now()
    paying = OnlinePayment.objects.filter(
        status=OnlinePayment.Status.PENDING, created_at__gt=at - dt.timedelta(minutes=ONLINE_PAY_MINUTES),
    ).values("invoice_id")
    due = list(
        ShopOrder.objects.filter(
            status=Status.PLACED, fulfilment=Fulfilment.PICKUP, invoice__isnull=False, invoice__status="issued",
            created_at__lte=at - dt.timedelta(minutes=unpaid_minutes()),
        ).exclude(invoice_id__in=paying).exclude(invoice_id__in=_money_kept()).order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"expired": 0, "skipped": 0}
    for pk in due:
        try:
            done = shop_order_expire(order_id=pk, at=at)
        except DomainError as exc:  # e.g. the provider did not answer the close: the next run tries again
            log.warning("shop order %s not expired: %s", pk, exc.code)
            done = False
        counts["expired" if done else "skipped"] += 1
    return counts


def _money_kept() -> QuerySet[Any]:
    """Invoices holding money (a payment by any method but points and vouchers, not refunded whole): their order
    neither expires nor is cancelled by its owner in the app."""
    from aftersales.billing.choices import LOYALTY_METHODS
    from aftersales.billing.models import Payment

    return Payment.objects.exclude(method__in=LOYALTY_METHODS).filter(refunded_amount__lt=F("amount")).values("invoice_id")


def _lock_customer(order: ShopOrder) -> None:
    from aftersales.customers.models import Customer

    list(Customer.objects.select_for_update().filter(pk=order.customer_id).values_list("pk", flat=True))


def _return_loyalty(invoice: Any, *, reason: str, at: dt.datetime) -> None:
    from aftersales.billing.services import loyalty_payments_return

    loyalty_payments_return(invoice=invoice, reason=reason, at=at)


def shop_order_expire(*, order_id: int, at: dt.datetime | None = None) -> bool:
    """One unpaid pickup order past its time: online payments still pending are asked about and closed at the
    provider first (billing's ``online_payments_close_open``: paid → recorded, and the order stays); then under the
    order's and its invoice's row locks (the order the payment path also takes the invoice in), if still placed and
    nothing paid: the reservation goes back (once), the sale invoice is credited, the order moves to *expired* with
    an audit row and the owner is told. A payment that comes after finds the invoice closed (billing rejects it and
    the money goes back); one that came before leaves the order as it is. Returns whether it expired."""
    from aftersales.billing.models import Invoice
    from aftersales.billing.services import online_payments_close_open
    from aftersales.parts.services import release_for_reference, shop_reference

    at = at or timezone.now()
    invoice_id = ShopOrder.objects.filter(pk=order_id, status=Status.PLACED).values_list("invoice_id", flat=True).first()
    if invoice_id is None:
        return False
    online_payments_close_open(invoice=Invoice.objects.get(pk=invoice_id), at=at)
    with service_atomic():
        locked = ShopOrder.objects.select_for_update(of=("self",)).select_related("store").get(pk=order_id)
        if locked.status != Status.PLACED or locked.invoice_id != invoice_id:
            return False
        _lock_customer(locked)  # before the invoice, as paying with points takes them
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice_id)
        if invoice.status != "issued" or _money_kept().filter(invoice_id=invoice_id).exists() or (
                locked.created_at > at - dt.timedelta(minutes=unpaid_minutes())):
            return False
        release_for_reference(reference=shop_reference(locked.pk))
        reason = coded(gettext_noop("Not paid in time: the order expired"))
        if invoice.paid_amount > 0:  # points or a voucher taken off it: back to the owner
            _return_loyalty(invoice, reason=reason, at=at)
            invoice.refresh_from_db()
        left = q(invoice.total - invoice.credited_amount)
        if left > 0:
            _credit_unpaid(invoice, left=left, reason=reason, at=at)
        before = locked.status
        locked.status, locked.updated_at = Status.EXPIRED, at
        locked.save(update_fields=["status", "updated_at"])
        audit.record(actor=None, obj=locked, action="shop_order.expired", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"status": [before, Status.EXPIRED]}, reason=reason, at=at)
        _tell_owner(locked, "shop.expired", minutes=str(unpaid_minutes()))
    return True


def _to_repair_order(order: ShopOrder, *, actor: Any, at: dt.datetime) -> None:
    """The fitting order goes onto the owner's repair order as a job (proposed, so the owner approves it as any
    other job); the shop reservation becomes the job's. An order for an appointment needs the car checked in."""
    from aftersales.parts.choices import ReservationSource
    from aftersales.parts.services import release_for_reference, reserve, shop_reference
    from aftersales.workshop.models import RepairOrder
    from aftersales.workshop.services import repair_job_add

    ro = order.repair_order
    if ro is None and order.appointment_id is not None:
        ro = RepairOrder.objects.filter(appointment_id=order.appointment_id).first()
    if ro is None:
        raise Conflict("shop_order_no_repair_order",
                       _("The car is not checked in yet: pick this order when the repair order is open."), "status")
    from django.utils.translation import override

    lines = list(order.lines.select_related("part"))
    names = []
    for lang in ("zh-hans", "en"):  # a title in both languages ("… / …"): each reader sees theirs
        with override(lang):
            names.append(_("Accessories from the app, order %(n)s") % {"n": order.number})
    job = repair_job_add(
        actor=actor, order=ro, title=" / ".join(names),
        lines=[{"kind": "part", "code": line.part.number, "description": line.name, "quantity": line.quantity,
                "unit_price": line.unit_price} for line in lines], at=at,
    )
    release_for_reference(reference=shop_reference(order.pk))
    for line in lines:
        reserve(actor=actor, store=order.store, part=line.part, quantity=line.quantity, source=ReservationSource.JOB,
                reference=f"job:{job.pk}")
    order.repair_order, order.repair_job = ro, job
    order.save(update_fields=["repair_order", "repair_job"])


def _cancel(order: ShopOrder, *, actor: Any, reason: str, at: dt.datetime) -> None:
    from aftersales.parts.services import release_for_reference, shop_reference

    release_for_reference(reference=shop_reference(order.pk))
    if order.repair_job_id:
        release_for_reference(reference=f"job:{order.repair_job_id}")
    if order.invoice_id is not None:
        _refund_and_credit(order, actor=actor, reason=reason, at=at)
    before = order.status
    order.status, order.updated_at, order.cancel_reason = Status.CANCELLED, at, reason[:300]
    order.save(update_fields=["status", "updated_at", "cancel_reason"])
    audit.record(actor=actor, obj=order, action="shop_order.cancelled", store_id=order.store_id,
                 customer_id=order.customer_id, changes={"status": [before, Status.CANCELLED]}, reason=reason, at=at)


def _refund_and_credit(order: ShopOrder, *, actor: Any, reason: str, at: dt.datetime) -> None:
    """Every payment of the sale invoice back through the existing refund paths, then a credit note for the total
    (so the invoice closes as credited). The owner's own cancel has nothing paid: only the credit note."""
    from aftersales.billing.models import Invoice, Payment
    from aftersales.billing.services import credit_note_issue, online_refund_start, refund_record

    invoice = Invoice.objects.get(pk=int(order.invoice_id or 0))
    payments = list(Payment.objects.filter(invoice=invoice, refunded_amount__lt=F("amount")).order_by("id"))
    # what only our database does first; the provider calls last, so nothing after them can still refuse
    for payment in sorted(payments, key=lambda p: (p.method == "online", p.pk)):
        key = f"shop-{order.pk}-{payment.pk}"
        if payment.method == "online":
            request = online_refund_start(actor=actor, payment=payment, amount=payment.refundable, reason=reason,
                                          idempotency_key=key, at=at)
            if request.status == "failed":  # refused by the provider: nothing of the cancel stays
                raise Conflict("refund_failed", _("The payment service refused the refund: the order is not cancelled. "
                                                  "Try again, or refund at the till."), "status")
        else:
            refund_record(actor=actor, payment=payment, amount=payment.refundable, reason=reason, idempotency_key=key, at=at)
    invoice.refresh_from_db()
    left = q(invoice.total - invoice.credited_amount)
    if left > 0:
        if actor is not None and actor.has_perm("billing.add_creditnote"):
            credit_note_issue(actor=actor, invoice=invoice, amount=left, reason=reason, at=at)
        else:  # the owner's own cancel, or a cashier's after the refunds: nothing kept, the store's document
            _credit_unpaid(invoice, left=left, reason=reason, at=at)


def _credit_unpaid(invoice: Any, *, left: Decimal, reason: str, at: dt.datetime) -> None:
    from aftersales.billing.services import sale_invoice_credit

    sale_invoice_credit(invoice=invoice, amount=left, reason=reason, at=at)


def cart_get(session: Any) -> dict[str, Any]:
    cart = session.get(CART_KEY) or {}
    return {"store": cart.get("store"), "items": dict(cart.get("items") or {})}


def cart_save(session: Any, store_id: int | None, items: dict[str, int]) -> None:
    session[CART_KEY] = {"store": store_id, "items": {k: v for k, v in items.items() if v > 0}}


def cart_add(session: Any, store: Any, part_id: Any, quantity: Any) -> dict[str, Any]:
    """Add to the session cart (one store per cart: another store's items empty it first); bad quantity named."""
    item = item_get(store, part_id)
    problems = Problems()
    qty = _quantity(quantity, "quantity", problems)
    problems.raise_if_any()
    assert qty is not None
    cart = cart_get(session)
    items = cart["items"] if cart["store"] == store.pk else {}
    key = str(item.part.pk)
    items[key] = min(int(items.get(key) or 0) + qty, MAX_QTY)
    if len(items) > MAX_LINES:
        raise ValidationFailed("too_many_items", _("At most %(n)s different items in one order.") % {"n": MAX_LINES}, "quantity")
    cart_save(session, store.pk, items)
    return cart_get(session)
