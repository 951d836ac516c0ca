"""The stock ledger. Every change of stock is one StockMovement, written under the StockItem's row lock in the
transaction that causes it; on-hand never goes negative (checked here and by a database constraint), also when many
issues race for the last unit. Other apps (appointments, repair orders) reserve and issue through these services.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.errors import Conflict, Problems, ValidationFailed
from aftersales.common.money import parse_money
from aftersales.common.names import job_title
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded, in_both
from aftersales.common.transitions import move

from .choices import (
    ADJUSTMENT_TRANSITIONS,
    WHOLE_UNITS,
    AdjustmentStatus,
    MovementKind,
    ReservationSource,
    ReservationStatus,
    Tracking,
)
from .models import AdjustmentRequest, Batch, Part, PartsEvent, Reservation, StockItem, StockMovement

ZERO = Decimal("0")
COST_PLACES = Decimal("0.0001")


# ---- input -------------------------------------------------------------------------------------------------
def parse_quantity(value: Any, part: Part, field: str = "quantity", *, allow_negative: bool = False) -> Decimal:
    """A quantity of ``part``: positive (or signed for adjustments), two decimals at most, whole for pieces and sets."""
    try:
        qty = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("quantity_format", _("Enter a quantity such as 2 or 1.5."), field) from exc
    if not qty.is_finite():
        raise ValidationFailed("quantity_format", _("Enter a quantity such as 2 or 1.5."), field)
    if qty == 0 or (qty < 0 and not allow_negative):
        raise ValidationFailed("quantity_not_positive", _("The quantity must be more than zero."), field)
    if abs(qty) >= Decimal("10000000"):  # before quantize, which overflows on 1e30
        raise ValidationFailed("quantity_too_large", _("The quantity is too large."), field)
    if qty != qty.quantize(Decimal("0.01")):
        raise ValidationFailed("quantity_precision", _("Quantities have at most two decimal places."), field)
    if part.unit in WHOLE_UNITS and qty != qty.to_integral_value():
        raise ValidationFailed(
            "quantity_not_whole", _("“%(part)s” is counted in whole units.") % {"part": part.number}, field
        )
    return qty


def part_by_number(group_id: int, number: str, field: str = "part") -> Part:
    """A part by its number, OEM number or an interchangeable number; a clear error when unknown."""
    text = (number or "").strip().upper()
    part = (
        Part.objects.filter(group_id=group_id, number=text).first()
        or Part.objects.filter(group_id=group_id, oem_number=text).first()
        or Part.objects.filter(group_id=group_id, aliases__number=text).first()
    )
    if part is None:
        raise ValidationFailed("part_unknown", _("Unknown part number “%(n)s”.") % {"n": number}, field)
    return part


# ---- the ledger core -------------------------------------------------------------------------------------------
def lock_stock_item(store: Any, part: Part) -> StockItem:
    """The StockItem row for (store, part), created if missing, locked for this transaction."""
    if part.group_id != store.group_id:
        raise ValidationFailed("part_unknown", _("Unknown part number “%(n)s”.") % {"n": part.number}, "part")
    try:
        with transaction.atomic():
            StockItem.objects.get_or_create(store=store, part=part)
    except IntegrityError:
        pass  # created concurrently by someone else: fine
    return StockItem.objects.select_for_update().select_related("part").get(store=store, part=part)


def record_movement(
    *,
    item: StockItem,
    kind: str,
    quantity: Decimal,
    actor: Any,
    unit_cost: Decimal | None = None,
    reason: str = "",
    batch: Batch | None = None,
    repair_job: Any = None,
    po_line: Any = None,
    transfer: Any = None,
    at: dt.datetime | None = None,
) -> StockMovement:
    """Write one ledger row and the running balance. The caller holds ``item``'s lock (lock_stock_item)."""
    new_on_hand = item.on_hand + quantity
    if new_on_hand < 0:
        raise ValidationFailed(
            "insufficient_stock",
            _("Only %(have)s of %(part)s on hand at this store.") % {"have": _fmt(item.on_hand), "part": item.part.number},
            "quantity",
        )
    if quantity < 0 and new_on_hand < item.reserved and kind not in (MovementKind.ADJUSTMENT, MovementKind.STOCKTAKE):
        available = item.on_hand - item.reserved
        raise ValidationFailed(
            "insufficient_available",
            _("Only %(n)s of %(part)s available: the rest is reserved.") % {"n": _fmt(max(available, ZERO)), "part": item.part.number},
            "quantity",
        )
    if quantity > 0 and unit_cost is not None and kind in (MovementKind.RECEIPT, MovementKind.TRANSFER_IN):
        # moving average cost: (old stock × old average + received × its cost) / new stock
        base = max(item.on_hand, ZERO)
        item.avg_cost = ((base * item.avg_cost + quantity * unit_cost) / (base + quantity)).quantize(COST_PLACES, ROUND_HALF_UP)
    if quantity > 0 and unit_cost is None and not item.avg_cost and item.on_hand <= 0:
        # stock that appears without a purchase cost (found in a stock-take, ...) before any receipt: valued at the
        # part's standard cost, not at 0 (which would drag down the average of every later receipt)
        item.avg_cost = Decimal(item.part.cost_price).quantize(COST_PLACES, ROUND_HALF_UP)
    cost = unit_cost if (unit_cost is not None and quantity > 0) else item.avg_cost
    order = getattr(repair_job, "order", None)
    movement = StockMovement.objects.create(
        store_id=item.store_id, part_id=item.part_id, stock_item=item, kind=kind, quantity=quantity, unit_cost=cost,
        balance_after=new_on_hand, at=at or timezone.now(), actor=actor if getattr(actor, "pk", None) else None,
        reason=reason[:300], batch=batch, repair_job=repair_job, po_line=po_line, transfer=transfer,
        vehicle_id=getattr(order, "vehicle_id", None), customer_id=getattr(order, "customer_id", None),
    )
    item.on_hand = new_on_hand
    item.last_movement_at = movement.at
    item.save(update_fields=["on_hand", "avg_cost", "last_movement_at"])
    return movement


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


# ---- receipts, issues, returns -----------------------------------------------------------------------------------
def _batch_for_receipt(part: Part, data: dict[str, Any], quantity: Decimal) -> Batch | None:
    if part.tracking == Tracking.NONE:
        return None
    number = str(data.get("batch_number") or "").strip()
    if not number:
        raise ValidationFailed("batch_required", _("This part is tracked: enter the batch or serial number."), "batch_number")
    if part.tracking == Tracking.SERIAL and quantity != 1:
        raise ValidationFailed("serial_quantity", _("Serial-numbered parts are received one per serial number."), "quantity")
    production = data.get("production_date")
    warranty_until = data.get("warranty_until")
    if warranty_until is None and part.warranty_months and production:
        warranty_until = _add_months(production, part.warranty_months)
    batch, created = Batch.objects.get_or_create(
        part=part, number=number,
        defaults={"supplier": data.get("supplier"), "origin": str(data.get("origin") or "")[:60],
                  "production_date": production, "warranty_until": warranty_until},
    )
    if not created and part.tracking == Tracking.SERIAL:
        raise Conflict("serial_exists", _("Serial number %(n)s was already received.") % {"n": number}, "batch_number")
    return batch


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    return dt.date(year, month, 28)


def stock_receive(
    *, actor: Any, store: Any, part: Part, quantity: Any, unit_cost: Any, po_line: Any = None, reason: str = "", **batch: Any
) -> StockMovement:
    """Goods in (from a supplier, possibly against a purchase-order line). Updates the moving-average cost."""
    require(actor, "parts.add_stockmovement")
    require_store(actor, store.pk)
    problems = Problems()  # the quantity and the cost named together
    qty = problems.check(parse_quantity, quantity, part)
    cost = problems.check(parse_money, unit_cost, "unit_cost")
    problems.raise_if_any()
    with transaction.atomic():
        item = lock_stock_item(store, part)
        found = _batch_for_receipt(part, batch, qty)
        movement = record_movement(
            item=item, kind=MovementKind.RECEIPT, quantity=qty, actor=actor, unit_cost=cost, reason=reason, batch=found,
            po_line=po_line,
        )
    return movement


def _job_reference(job: Any) -> str:
    return f"job:{job.pk}"


def stock_issue(*, actor: Any, store: Any, part: Part, quantity: Any, job: Any, batch: Batch | None = None) -> StockMovement:
    """Issue parts to a repair-order job: consumes the job's reservation first, then needs free stock."""
    require(actor, "parts.add_stockmovement")
    require_store(actor, store.pk)
    qty = parse_quantity(quantity, part)
    if job.order.store_id != store.pk:
        raise ValidationFailed("job_other_store", _("This job belongs to another store."), "job")
    if part.tracking != Tracking.NONE and batch is None:
        raise ValidationFailed("batch_required", _("This part is tracked: choose the batch or serial number."), "batch")
    if batch is not None and batch.part_id != part.pk:
        raise ValidationFailed("batch_unknown", _("This batch is not of this part."), "batch")
    with transaction.atomic():
        item = lock_stock_item(store, part)
        _consume_reservation(item, _job_reference(job), qty)
        if batch is not None:
            left = batch_on_hand(batch, store)
            if left < qty:
                raise ValidationFailed(
                    "insufficient_batch", _("Only %(n)s left of batch %(b)s.") % {"n": _fmt(left), "b": batch.number}, "batch"
                )
        movement = record_movement(
            item=item, kind=MovementKind.ISSUE, quantity=-qty, actor=actor, batch=batch, repair_job=job,
            reason=coded(gettext_noop("Issued to %(order)s / %(job)s"), order=job.order.number, job=in_both(job_title, job)),
        )
    return movement


def stock_return(*, actor: Any, store: Any, part: Part, quantity: Any, job: Any, batch: Batch | None = None, reason: str = "") -> StockMovement:
    """Unused parts come back from a job; never more than the job still holds, and not once the job's order is
    invoiced (the invoice bills the parts still on the car at that moment: after it, a credit note corrects the
    invoice and a stock adjustment takes the part back)."""
    from django.db.models import Sum

    require(actor, "parts.add_stockmovement")
    require_store(actor, store.pk)
    qty = parse_quantity(quantity, part)
    with transaction.atomic():
        _refuse_when_invoiced(job)
        item = lock_stock_item(store, part)
        held = -(
            StockMovement.objects.filter(stock_item=item, repair_job=job, kind__in=[MovementKind.ISSUE, MovementKind.RETURN])
            .aggregate(total=Sum("quantity"))["total"] or ZERO
        )
        if qty > held:
            raise ValidationFailed(
                "return_exceeds_issued", _("The job holds only %(n)s of this part.") % {"n": _fmt(max(held, ZERO))}, "quantity"
            )
        return record_movement(
            item=item, kind=MovementKind.RETURN, quantity=qty, actor=actor, batch=batch, repair_job=job, reason=reason
        )


def counter_issue_to_job(*, actor: Any, store: Any, part: Any, quantity: Any, job: Any, batch: Any) -> Any:
    """The counter issues to a job under the workshop's rule (only to a job the customer authorized, and never beyond
    what they authorized), exactly as the technician's job page does."""
    from aftersales.workshop.floor_services import job_part_issue

    if job.order.store_id != store.pk:
        raise ValidationFailed("job_other_store", _("This job belongs to another store."), "job")
    return job_part_issue(actor=actor, job=job, part=part, quantity=quantity, batch=batch)


def counter_return_from_job(*, actor: Any, store: Any, part: Any, quantity: Any, job: Any, batch: Any, reason: str) -> Any:
    """Back to stock from a job at the counter: the workshop's return (never more than the job holds, not once
    invoiced, the billed quantity audited)."""
    from aftersales.workshop.floor_services import job_part_return

    if job.order.store_id != store.pk:
        raise ValidationFailed("job_other_store", _("This job belongs to another store."), "job")
    return job_part_return(actor=actor, job=job, part=part, quantity=quantity, batch=batch, reason=reason)


def _refuse_when_invoiced(job: Any) -> None:
    """Lock the job's order (as invoicing does, so a return and the invoice never cross) and refuse once invoiced."""
    from aftersales.workshop.models import RepairOrder

    from .invoiced import order_invoiced  # billing's answer (issue 19)

    list(RepairOrder.objects.select_for_update().filter(pk=job.order_id).values_list("pk", flat=True))
    if order_invoiced(job.order_id):
        raise Conflict(
            "order_invoiced",
            _("This repair order is already invoiced, so the part was billed: correct the invoice with a credit note "
              "and put the part back into stock with a stock adjustment."),
            "quantity",
        )


def batch_on_hand(batch: Batch, store: Any) -> Decimal:
    from django.db.models import Sum

    return StockMovement.objects.filter(batch=batch, store=store).aggregate(total=Sum("quantity"))["total"] or ZERO


# ---- adjustments -----------------------------------------------------------------------------------------------
def stock_adjust(*, actor: Any, store: Any, part: Part, quantity: Any, reason: str) -> StockMovement | AdjustmentRequest:
    """Correct the stock (damage, loss, found). Above the value threshold it waits for a manager's approval."""
    require(actor, "parts.add_stockmovement")
    require_store(actor, store.pk)
    qty = parse_quantity(quantity, part, allow_negative=True)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationFailed("reason_required", _("Say why the stock is adjusted."), "reason")
    threshold = Decimal(str(settings.PARTS_ADJUSTMENT_APPROVAL_VALUE))
    with transaction.atomic():
        item = lock_stock_item(store, part)
        value = abs(qty) * (item.avg_cost or part.cost_price)
        if value > threshold and not actor.has_perm("parts.approve_adjustment"):
            request = AdjustmentRequest.objects.create(
                store=store, part=part, quantity=qty, reason=reason[:300], requested_by=actor
            )
            audit.record(actor=actor, obj=request, action="stock.adjustment_requested", store_id=store.pk,
                         changes={"quantity": [None, str(qty)]}, reason=reason)
            return request
        movement = record_movement(item=item, kind=MovementKind.ADJUSTMENT, quantity=qty, actor=actor, reason=reason)
        audit.record(actor=actor, obj=movement, action="stock.adjusted", store_id=store.pk,
                     changes={"on_hand": [str(item.on_hand - qty), str(item.on_hand)]}, reason=reason)
        return movement


def adjustment_decide(*, actor: Any, request: AdjustmentRequest, approve: bool, reason: str = "") -> AdjustmentRequest:
    require(actor, "parts.approve_adjustment")
    require_store(actor, request.store_id)
    with transaction.atomic():
        locked = AdjustmentRequest.objects.select_for_update().select_related("store", "part").get(pk=request.pk)
        target = AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REJECTED
        move(locked, to=target, actor=actor, transitions=ADJUSTMENT_TRANSITIONS, event_model=PartsEvent,
             event_fk="adjustment", reason=reason, labels=AdjustmentStatus)
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        if approve:
            item = lock_stock_item(locked.store, locked.part)
            locked.movement = record_movement(
                item=item, kind=MovementKind.ADJUSTMENT, quantity=locked.quantity, actor=actor,
                reason=coded(gettext_noop("%(reason)s (approved)"), reason=locked.reason),
            )
        locked.save(update_fields=["decided_by", "decided_at", "movement"])
        audit.record(actor=actor, obj=locked, action="stock.adjustment_" + target, store_id=locked.store_id, reason=reason)
    return locked


# ---- reservations ------------------------------------------------------------------------------------------------
def reserve(
    *,
    actor: Any,
    store: Any,
    part: Part,
    quantity: Any,
    source: str,
    reference: str,
    expires_at: dt.datetime | None = None,
) -> Reservation:
    """Hold stock for a booked appointment or an authorized job. Idempotent per (part, reference)."""
    qty = parse_quantity(quantity, part)
    if source not in ReservationSource.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": source}, "source")
    with transaction.atomic():
        item = lock_stock_item(store, part)
        existing = Reservation.objects.filter(stock_item=item, reference=reference, status=ReservationStatus.ACTIVE).first()
        if existing is not None:
            return existing
        available = item.on_hand - item.reserved
        if qty > available:
            raise ValidationFailed(
                "insufficient_available",
                _("Only %(n)s of %(part)s available to reserve.") % {"n": _fmt(max(available, ZERO)), "part": part.number},
                "quantity", available=str(max(available, ZERO)),
            )
        reservation = Reservation.objects.create(
            store=store, part=part, stock_item=item, quantity=qty, source=source, reference=reference[:60],
            expires_at=expires_at, created_by=actor if getattr(actor, "pk", None) else None,
        )
        item.reserved += qty
        item.save(update_fields=["reserved"])
    return reservation


def _consume_reservation(item: StockItem, reference: str, qty: Decimal) -> None:
    """On issue: the job's reservation shrinks by what is issued (closed when fully used). Caller holds the lock."""
    reservation = Reservation.objects.filter(stock_item=item, reference=reference, status=ReservationStatus.ACTIVE).first()
    if reservation is None:
        return
    used = min(reservation.quantity, qty)
    item.reserved -= used
    item.save(update_fields=["reserved"])
    if used >= reservation.quantity:
        reservation.status = ReservationStatus.CONSUMED
        reservation.closed_at = timezone.now()
        reservation.save(update_fields=["status", "closed_at"])
    else:
        reservation.quantity -= used
        reservation.save(update_fields=["quantity"])


def release(*, reservation: Reservation, status: str = ReservationStatus.RELEASED) -> Reservation:
    """Give reserved stock back (cancelled or rescheduled booking, declined job, expiry). Idempotent."""
    with transaction.atomic():
        item = StockItem.objects.select_for_update().get(pk=reservation.stock_item_id)
        locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if locked.status != ReservationStatus.ACTIVE:
            return locked
        item.reserved -= locked.quantity
        item.save(update_fields=["reserved"])
        locked.status = status
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
    return locked


def release_for_reference(*, reference: str) -> int:
    """Release every active reservation of an appointment or job (e.g. ``appointment:42``)."""
    count = 0
    for reservation in Reservation.objects.filter(reference=reference, status=ReservationStatus.ACTIVE):
        release(reservation=reservation)
        count += 1
    return count


def expire_reservations(now: dt.datetime | None = None) -> int:
    """The sweep: reservations past their expiry give their stock back."""
    now = now or timezone.now()
    count = 0
    for reservation in Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lt=now)[:5000]:
        release(reservation=reservation, status=ReservationStatus.EXPIRED)
        count += 1
    return count


# ---- the owner app's accessories shop ----------------------------------------------------------------------------
ONLINE_TEXT_MAX = 1000


def part_online_set(*, actor: Any, part: Part, data: dict[str, Any], photo: bytes | None = None,
                    remove_photo: bool = False) -> Part:
    """The parts manager offers a part in the owner app's shop (or stops): the flag, the online price (needed while
    offered), the owner-facing description in both languages and a photo (upright, without EXIF). Every bad field at
    once; nothing written when one is bad."""
    from django.core.files.base import ContentFile

    from aftersales.common.uploads import check_image

    require(actor, "parts.change_part")
    problems = Problems()
    sold = str(data.get("sold_online", "")).lower() in ("1", "true", "on", "yes")
    price = None
    raw_price = str(data.get("online_price", "") or "").strip()
    if raw_price:
        with problems.field():
            price = parse_money(raw_price, "online_price")
            if price <= 0:
                raise ValidationFailed("price_not_positive", _("The online price must be more than zero."), "online_price")
    elif sold:
        problems.add("required", _("Give the online price of an item sold in the app."), "online_price")
    texts = {}
    for lang in ("zh", "en"):
        key = f"online_description_{lang}"
        text = str(data.get(key, "") or "").strip()
        if len(text) > ONLINE_TEXT_MAX:
            problems.add("too_long", _("At most %(n)s characters.") % {"n": ONLINE_TEXT_MAX}, key)
        texts[key] = text
    if sold and not part.is_active:
        problems.add("part_inactive", _("An inactive part cannot be sold in the app."), "sold_online")
    image = None
    if photo:
        with problems.field():
            image = check_image(photo, field="online_photo")
    problems.raise_if_any()
    with transaction.atomic():
        locked = Part.objects.select_for_update().get(pk=part.pk)
        before = {"sold_online": locked.sold_online, "online_price": str(locked.online_price or "")}
        locked.sold_online, locked.online_price = sold, price
        locked.online_description_zh, locked.online_description_en = texts["online_description_zh"], texts["online_description_en"]
        if image is not None:
            import hashlib

            digest = hashlib.sha256(image.content).hexdigest()[:16]
            locked.online_photo.save(f"{digest}.{image.extension}", ContentFile(image.content), save=False)
        elif remove_photo and locked.online_photo:
            locked.online_photo.delete(save=False)
            locked.online_photo = ""
        locked.save()
        audit.record(actor=actor, obj=locked, action="part.online_set",
                     changes={"sold_online": [before["sold_online"], sold],
                              "online_price": [before["online_price"], str(price or "")]})
    return locked


def shop_reference(order_id: int) -> str:
    return f"shop:{order_id}"


def stock_sell(*, actor: Any, store: Any, part: Part, quantity: Any, reference: str, customer_id: int | None,
               number: str) -> StockMovement:
    """Hand sold items over the counter (an owner-app order): its reservation is consumed, the stock leaves with a
    SALE row of the ledger naming the order. Needs the order's reservation or free stock (never negative)."""
    require(actor, "parts.add_stockmovement")
    require_store(actor, store.pk)
    qty = parse_quantity(quantity, part)
    with transaction.atomic():
        item = lock_stock_item(store, part)
        _consume_reservation(item, reference, qty)
        movement = record_movement(
            item=item, kind=MovementKind.SALE, quantity=-qty, actor=actor,
            reason=coded(gettext_noop("Sold with app order %(n)s"), n=number),
        )
        if customer_id:
            StockMovement.objects.filter(pk=movement.pk).update(customer_id=customer_id)
    return movement
