"""Reorder, purchase requisitions, purchase orders, receipts against them, and suppliers (常用配件自动申购).

The nightly reorder sweep is set-based (a handful of queries for any number of stock items): it finds every stock
item whose position (available + still to come on open purchase orders + open requisitions) is below its minimum
and creates one open requisition per item, topping the position up to the maximum. Receipts go through the ledger
(services.stock_receive), so the moving-average cost and on-hand stay in one place.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, Exists, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.errors import Conflict, DomainError, NotFound, Problems, ValidationFailed
from aftersales.common.money import parse_money
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.scoping import get_or_404, restrict_to_stores, visible_store_ids
from aftersales.common.transitions import move

from .choices import PO_TRANSITIONS, PurchaseOrderStatus, RequisitionStatus
from .models import Part, PartsEvent, PurchaseOrder, PurchaseOrderLine, PurchaseRequisition, StockItem, Supplier
from .services import parse_quantity, part_by_number, stock_receive

ZERO = Decimal("0")
OPEN_PO_STATES = (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIAL)
_QTY = DecimalField(max_digits=14, decimal_places=2)


# ---- positions and the reorder sweep -------------------------------------------------------------------------
def _incoming_subquery() -> Subquery:
    """Still to come for the outer stock item: ordered − received on purchase orders not cancelled or received."""
    lines = (
        PurchaseOrderLine.objects.filter(
            order__store_id=OuterRef("store_id"), part_id=OuterRef("part_id"), order__status__in=OPEN_PO_STATES
        )
        .order_by()
        .values("part_id")
        .annotate(total=Sum(F("quantity") - F("received")))
        .values("total")
    )
    return Subquery(lines, output_field=_QTY)


def _requisitioned_subquery() -> Subquery:
    reqs = (
        PurchaseRequisition.objects.filter(
            store_id=OuterRef("store_id"), part_id=OuterRef("part_id"), status=RequisitionStatus.OPEN
        )
        .order_by()
        .values("part_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Subquery(reqs, output_field=_QTY)


def with_positions(qs: QuerySet[StockItem]) -> QuerySet[StockItem]:
    """Annotate stock items with ``available``, ``incoming``, ``requisitioned`` and ``position`` (their sum)."""
    zero = Value(ZERO, output_field=_QTY)
    return qs.annotate(
        available_qty=ExpressionWrapper(F("on_hand") - F("reserved"), output_field=_QTY),
        incoming=Coalesce(_incoming_subquery(), zero),
        requisitioned=Coalesce(_requisitioned_subquery(), zero),
    ).annotate(position=ExpressionWrapper(F("available_qty") + F("incoming") + F("requisitioned"), output_field=_QTY))


def below_minimum(qs: QuerySet[StockItem]) -> QuerySet[StockItem]:
    """Stock items whose available quantity is under the minimum (the alert list), with their positions.

    Incoming stock only raises the position, so ``available < min`` is a cheap pre-filter that the database
    applies before any subquery runs.
    """
    return with_positions(_under_minimum(qs))


def _under_minimum(qs: QuerySet[StockItem]) -> QuerySet[StockItem]:
    return qs.filter(min_qty__gt=0, part__is_active=True).filter(on_hand__lt=F("min_qty") + F("reserved"))


def reorder_sweep(store: Any = None, now: dt.datetime | None = None) -> dict[str, int]:
    """Create one open, automatic requisition per stock item whose position is below its minimum.

    Idempotent: an item with an open requisition is skipped (its quantity counts in the position; the partial
    unique index ``one_open_requisition_per_part`` is the final guard, conflicts are ignored).
    """
    now = now or timezone.now()
    qs = StockItem.objects.all()
    if store is not None:
        qs = qs.filter(store_id=getattr(store, "pk", store))
    below = _under_minimum(qs).count()
    candidates = below_minimum(qs)
    open_req = PurchaseRequisition.objects.filter(
        store_id=OuterRef("store_id"), part_id=OuterRef("part_id"), status=RequisitionStatus.OPEN
    )
    rows = (
        candidates.filter(position__lt=F("min_qty"))  # type: ignore[misc]  # an annotation
        .filter(~Exists(open_req))
        .order_by()
        .values_list("store_id", "part_id", "min_qty", "max_qty", "position")
    )
    created = 0
    batch: list[PurchaseRequisition] = []
    for store_id, part_id, min_qty, max_qty, position in rows.iterator(chunk_size=5000):
        quantity = max(max_qty - position, min_qty - position)
        if quantity <= 0:
            continue
        batch.append(
            PurchaseRequisition(
                store_id=store_id, part_id=part_id, quantity=quantity, status=RequisitionStatus.OPEN,
                is_automatic=True, created_at=now,
            )
        )
        if len(batch) >= 5000:
            PurchaseRequisition.objects.bulk_create(batch, ignore_conflicts=True)
            created += len(batch)
            batch = []
    if batch:
        PurchaseRequisition.objects.bulk_create(batch, ignore_conflicts=True)
        created += len(batch)
    return {"below_minimum": below, "requisitions_created": created}


def reorder_run_now(*, actor: Any, store: Any) -> dict[str, int]:
    """The "run now" button: the same sweep, for one store, by a parts clerk or manager."""
    require(actor, "parts.add_purchaserequisition")
    require_store(actor, store.pk)
    result = reorder_sweep(store=store)
    audit.record(actor=actor, obj=store, action="parts.reorder_sweep", store_id=store.pk,
                 changes={"requisitions_created": [None, result["requisitions_created"]]})
    return result


def requisition_cancel(*, actor: Any, requisition: PurchaseRequisition, reason: str = "") -> PurchaseRequisition:
    require(actor, "parts.change_purchaserequisition")
    require_store(actor, requisition.store_id)
    with transaction.atomic():
        locked = PurchaseRequisition.objects.select_for_update().get(pk=requisition.pk)
        if locked.status != RequisitionStatus.OPEN:
            raise ValidationFailed("requisition_not_open", _("Only open requisitions can be cancelled."), "status")
        locked.status = RequisitionStatus.CANCELLED
        locked.save(update_fields=["status"])
        audit.record(actor=actor, obj=locked, action="parts.requisition_cancelled", store_id=locked.store_id, reason=reason)
    return locked


def stock_minimums_set(*, actor: Any, changes: list[tuple[int, Decimal, Decimal]], reason: str = "",
                       maxima: dict[int, tuple[Decimal, Decimal]] | None = None) -> list[StockItem]:
    """Set the reorder minimum of stock items (the level the reorder sweep uses): ``changes`` are ``(stock item id,
    the minimum the caller saw, the new minimum)``. All or nothing: an item the actor cannot see is a 404, an item
    whose minimum changed since the caller read it is a conflict (stale), a negative minimum is refused; nothing is
    written then. ``maxima`` (stock item id → (the maximum the caller saw, the new maximum)) sets the order-up-to
    level too, a conflict when it changed since; without one the maximum is raised to the new minimum where it was
    below (the database keeps max ≥ min). Each change is audited (``parts.min_level_set``)."""
    maxima = maxima or {}
    require(actor, "parts.change_stockitem")
    if not changes:
        raise ValidationFailed("nothing_selected", _("Select at least one row."), "ids")
    visible = set(visible_store_ids(actor))
    with transaction.atomic():
        items = {i.pk: i for i in StockItem.objects.select_for_update(of=("self",)).select_related("part")
                 .filter(pk__in=[c[0] for c in changes]).order_by("pk")}
        for item_id, seen, new in changes:
            item = items.get(item_id)
            if item is None or item.store_id not in visible:
                raise NotFound("not_found", _("Not found, or not visible to you."), "ids")
            if new < 0:
                raise ValidationFailed("min_negative", _("The minimum cannot be negative."), "min_qty")
            if item.min_qty != seen:
                raise Conflict("min_changed", _("The minimum of %(part)s was changed to %(now)s since this suggestion was "
                                                 "made: refresh the page.") % {"part": item.part, "now": _fmt_qty(item.min_qty)},
                               "ids")
            if item_id in maxima and item.max_qty != maxima[item_id][0]:
                raise Conflict("max_changed", _("The maximum of %(part)s was changed to %(now)s since this suggestion was "
                                                 "made: refresh the page.") % {"part": item.part, "now": _fmt_qty(item.max_qty)},
                               "ids")
        out = []
        for item_id, _seen, new in changes:
            item = items[item_id]
            diff: dict[str, list[Any]] = {"min_qty": [str(item.min_qty), str(new)]}
            item.min_qty = new
            fields = ["min_qty"]
            top = max(maxima[item_id][1], new) if item_id in maxima else max(item.max_qty, new)
            if item.max_qty != top:
                diff["max_qty"] = [str(item.max_qty), str(top)]
                item.max_qty = top
                fields.append("max_qty")
            item.save(update_fields=fields)
            audit.record(actor=actor, obj=item, action="parts.min_level_set", store_id=item.store_id, changes=diff,
                         reason=reason)
            out.append(item)
    return out


def _fmt_qty(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else str(value)


# ---- selectors -------------------------------------------------------------------------------------------------
def requisitions_for(user: Any, store: Any = None, status: str | None = RequisitionStatus.OPEN) -> QuerySet[PurchaseRequisition]:
    qs = restrict_to_stores(PurchaseRequisition.objects.all(), user).select_related("part", "part__default_supplier", "store")
    if store is not None:
        qs = qs.filter(store_id=store.pk)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("part__number")


def requisition_get(user: Any, pk: int) -> PurchaseRequisition:
    return get_or_404(restrict_to_stores(PurchaseRequisition.objects.all(), user), pk=pk)


def items_below_minimum(user: Any, store: Any = None) -> QuerySet[StockItem]:
    qs = restrict_to_stores(StockItem.objects.all(), user)
    if store is not None:
        qs = qs.filter(store_id=store.pk)
    return below_minimum(qs).select_related("part", "store").order_by("store_id", "part__number")


def purchase_orders_for(user: Any, store: Any = None, status: str | None = None) -> QuerySet[PurchaseOrder]:
    qs = restrict_to_stores(PurchaseOrder.objects.all(), user).select_related("supplier", "store")
    if store is not None:
        qs = qs.filter(store_id=store.pk)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def purchase_order_get(user: Any, pk: int) -> PurchaseOrder:
    return get_or_404(restrict_to_stores(PurchaseOrder.objects.select_related("supplier", "store"), user), pk=pk)


def suppliers_for(user: Any, active_only: bool = False) -> QuerySet[Supplier]:
    qs = Supplier.objects.all()
    if not user.is_superuser:
        qs = qs.filter(group_id=user.dealer_group_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("name")


def supplier_get(user: Any, pk: int) -> Supplier:
    return get_or_404(suppliers_for(user), pk=pk)


# ---- suppliers -------------------------------------------------------------------------------------------------
SUPPLIER_FIELDS = ("name", "contact", "phone", "email", "lead_time_days", "is_active")


def _clean_supplier(data: dict[str, Any]) -> dict[str, Any]:
    """The supplier's fields given in ``data``; every bad one named at once."""
    problems = Problems()
    out: dict[str, Any] = {}
    if "name" in data:
        name = " ".join(str(data["name"] or "").split())
        if not name:
            problems.add("required", _("Enter the supplier's name."), "name")
        out["name"] = name[:120]
    for key, size in (("contact", 60), ("phone", 30)):
        if key in data:
            out[key] = " ".join(str(data[key] or "").split())[:size]
    if "email" in data:
        email = str(data["email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problems.add("email_invalid", _("Enter a valid e-mail address."), "email")
        out["email"] = email
    if "lead_time_days" in data:
        try:
            days = int(str(data["lead_time_days"]).strip())
        except (TypeError, ValueError):
            problems.add("lead_time_invalid", _("Enter the lead time in whole days."), "lead_time_days")
        else:
            if not 0 <= days <= 365:
                problems.add("lead_time_invalid", _("The lead time is between 0 and 365 days."), "lead_time_days")
            out["lead_time_days"] = days
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    problems.raise_if_any()
    return out


def _save_supplier(supplier: Supplier, fields: list[str] | None = None) -> None:
    clash = Supplier.objects.filter(group_id=supplier.group_id, name=supplier.name).exclude(pk=supplier.pk).exists()
    if clash:
        raise Conflict("supplier_exists", _("A supplier with this name already exists."), "name")
    try:
        with transaction.atomic():
            supplier.save(update_fields=fields)
    except IntegrityError as exc:
        raise Conflict("supplier_exists", _("A supplier with this name already exists."), "name") from exc


def supplier_create(*, actor: Any, name: str, **data: Any) -> Supplier:
    require(actor, "parts.add_supplier")
    if actor.dealer_group_id is None:
        raise ValidationFailed("group_required", _("You do not belong to a dealer group."), None)
    clean = _clean_supplier({"name": name, **{k: v for k, v in data.items() if k in SUPPLIER_FIELDS}})
    with transaction.atomic():
        supplier = Supplier(group_id=actor.dealer_group_id, **clean)
        _save_supplier(supplier)
        audit.record(actor=actor, obj=supplier, action="parts.supplier_created",
                     changes={k: [None, audit.plain(v)] for k, v in clean.items()})
    return supplier


def supplier_update(*, actor: Any, supplier: Supplier, **data: Any) -> Supplier:
    require(actor, "parts.change_supplier")
    if not actor.is_superuser and supplier.group_id != actor.dealer_group_id:
        raise ValidationFailed("supplier_unknown", _("Unknown supplier."), "supplier")
    clean = _clean_supplier({k: v for k, v in data.items() if k in SUPPLIER_FIELDS})
    with transaction.atomic():
        locked = Supplier.objects.select_for_update().get(pk=supplier.pk)
        before = audit.snapshot(locked, clean.keys())
        for key, value in clean.items():
            setattr(locked, key, value)
        changes = audit.diff(before, audit.snapshot(locked, clean.keys()))
        if changes:
            _save_supplier(locked, list(changes))
            audit.record(actor=actor, obj=locked, action="parts.supplier_updated", changes=changes)
    return locked


# ---- purchase orders -------------------------------------------------------------------------------------------
def next_po_number(store: Any, when: dt.datetime) -> str:
    """PO<store code><yyyymmdd><nnn> in the store's local date. The caller holds the store's row lock."""
    local_day = timezone.localtime(when, store.zone).strftime("%Y%m%d")
    prefix = f"PO{store.code.upper()}{local_day}"
    last = (
        PurchaseOrder.objects.filter(store_id=store.pk, number__startswith=prefix)
        .order_by("-number").values_list("number", flat=True).first()
    )
    seq = int(last[len(prefix):] or 0) + 1 if last and last[len(prefix):].isdigit() else 1
    return f"{prefix}{seq:03d}"


def _lock_store(store: Any) -> Any:
    from aftersales.stores.models import Store

    return Store.objects.select_for_update().get(pk=store.pk)


def _new_order(*, actor: Any, store: Any, supplier: Supplier, now: dt.datetime, expected_on: dt.date | None) -> PurchaseOrder:
    order = PurchaseOrder.objects.create(
        store_id=store.pk, supplier=supplier, number=next_po_number(store, now), created_at=now, created_by=actor,
        expected_on=expected_on,
    )
    PartsEvent.objects.create(purchase_order=order, from_state="", to_state=PurchaseOrderStatus.DRAFT, actor=actor, at=now)
    return order


def _check_supplier(supplier: Any, store: Any, field: str = "supplier") -> Supplier:
    if not isinstance(supplier, Supplier) or supplier.group_id != store.group_id:
        raise ValidationFailed("supplier_unknown", _("Choose a supplier of this dealer group."), field)
    if not supplier.is_active:
        raise ValidationFailed("supplier_inactive", _("Supplier %(s)s is no longer active.") % {"s": supplier.name}, field)
    return supplier


def _resolve_part(value: Any, store: Any, field: str) -> Part:
    if isinstance(value, Part):
        if value.group_id != store.group_id:
            raise ValidationFailed("part_unknown", _("Unknown part number “%(n)s”.") % {"n": value.number}, field)
        return value
    if isinstance(value, int):
        part = Part.objects.filter(group_id=store.group_id, pk=value).first()
        if part is None:
            raise ValidationFailed("part_unknown", _("Unknown part number “%(n)s”.") % {"n": value}, field)
        return part
    return part_by_number(store.group_id, str(value or ""), field)


def purchase_order_create(
    *, actor: Any, store: Any, supplier: Any, lines: list[dict[str, Any]], expected_on: dt.date | None = None
) -> PurchaseOrder:
    """A draft purchase order with its lines. ``part`` may be a Part, its id, or a part/OEM/alias number."""
    require(actor, "parts.add_purchaseorder")
    require_store(actor, store.pk)
    supplier = _check_supplier(supplier, store)
    if not lines:
        raise ValidationFailed("lines_required", _("A purchase order needs at least one line."), "lines")
    rows: list[tuple[Part, Decimal, Decimal]] = []
    seen: set[int] = set()
    for n, line in enumerate(lines, start=1):
        where = f"lines[{n}]"
        part = _resolve_part(line.get("part"), store, f"{where}.part")
        if part.pk in seen:
            raise ValidationFailed("duplicate_part", _("%(part)s is already on this order.") % {"part": part.number}, f"{where}.part")
        seen.add(part.pk)
        qty = parse_quantity(line.get("quantity"), part, f"{where}.quantity")
        raw_cost = line.get("unit_cost")
        cost = parse_money(part.cost_price if raw_cost in (None, "") else raw_cost, f"{where}.unit_cost")
        rows.append((part, qty, cost))
    now = timezone.now()
    with transaction.atomic():
        locked_store = _lock_store(store)
        order = _new_order(actor=actor, store=locked_store, supplier=supplier, now=now, expected_on=expected_on)
        PurchaseOrderLine.objects.bulk_create(
            [PurchaseOrderLine(order=order, part=part, quantity=qty, unit_cost=cost) for part, qty, cost in rows]
        )
        audit.record(actor=actor, obj=order, action="parts.purchase_order_created", store_id=store.pk,
                     changes={"lines": [None, len(rows)], "supplier": [None, supplier.pk]})
    return order


def purchase_order_create_from_requisitions(
    *, actor: Any, store: Any, requisition_ids: list[int], supplier: Any = None
) -> list[PurchaseOrder]:
    """Turn open requisitions into draft purchase orders, one per supplier (the part's default, or ``supplier``).

    Lines are at the part's standard cost; each requisition becomes ``ordered`` and points at its line.
    """
    require(actor, "parts.add_purchaseorder")
    require(actor, "parts.change_purchaserequisition")
    require_store(actor, store.pk)
    ids = sorted({int(i) for i in requisition_ids})
    if not ids:
        raise ValidationFailed("requisitions_required", _("Choose at least one requisition."), "requisition_ids")
    if supplier is not None:
        supplier = _check_supplier(supplier, store)
    now = timezone.now()
    with transaction.atomic():
        locked_store = _lock_store(store)
        reqs = list(
            PurchaseRequisition.objects.select_for_update()
            .filter(pk__in=ids, store_id=store.pk, status=RequisitionStatus.OPEN)
            .order_by("id")
        )
        if len(reqs) != len(ids):
            raise ValidationFailed(
                "requisition_not_open", _("Some requisitions are no longer open: reload the list."), "requisition_ids"
            )
        parts = Part.objects.select_related("default_supplier").in_bulk([r.part_id for r in reqs])
        groups: dict[int, list[PurchaseRequisition]] = defaultdict(list)
        suppliers: dict[int, Supplier] = {}
        for req in reqs:
            part = parts[req.part_id]
            chosen = supplier or part.default_supplier
            if chosen is None:
                raise ValidationFailed(
                    "supplier_required",
                    _("%(part)s has no default supplier: choose a supplier.") % {"part": part.number}, "supplier",
                )
            chosen = _check_supplier(chosen, store)
            suppliers[chosen.pk] = chosen
            groups[chosen.pk].append(req)
        orders = []
        for supplier_id in sorted(groups):
            chosen = suppliers[supplier_id]
            order = _new_order(actor=actor, store=locked_store, supplier=chosen, now=now, expected_on=None)
            for req in groups[supplier_id]:
                part = parts[req.part_id]
                line = PurchaseOrderLine.objects.create(order=order, part=part, quantity=req.quantity, unit_cost=part.cost_price)
                req.status = RequisitionStatus.ORDERED
                req.po_line = line
            PurchaseRequisition.objects.bulk_update(groups[supplier_id], ["status", "po_line"])
            audit.record(actor=actor, obj=order, action="parts.purchase_order_created", store_id=store.pk,
                         changes={"lines": [None, len(groups[supplier_id])], "supplier": [None, supplier_id]},
                         reason=coded(gettext_noop("From requisitions")))
            orders.append(order)
    return orders


def _lock_order(order: PurchaseOrder) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update().select_related("supplier", "store").get(pk=order.pk)


def purchase_order_send(*, actor: Any, order: PurchaseOrder) -> PurchaseOrder:
    """Draft → sent: the purchase order's PDF goes to the supplier by e-mail through the outbox (the message, with
    its delivery status, is the record of the sending; the e-mail attaches ``po_document.po_pdf`` when it leaves).
    The expected date follows the supplier's lead time unless already set. A supplier without an e-mail address is
    refused with the reason (nothing changes): enter the address on the supplier first."""
    from aftersales.messaging.services import message_enqueue

    from .po_document import MESSAGE_KIND, po_total

    require(actor, "parts.change_purchaseorder")
    require_store(actor, order.store_id)
    with transaction.atomic():
        locked = _lock_order(order)
        supplier = locked.supplier
        problems = Problems()
        if not supplier.email:
            problems.add("supplier_email_missing",
                         _("%(s)s has no e-mail address: enter it on the supplier, then send the order.") % {"s": supplier.name},
                         "supplier")
        lines = list(locked.lines.all())
        if not lines:
            problems.add("po_empty", _("The purchase order has no lines."), "lines")
        problems.raise_if_any()
        move(locked, to=PurchaseOrderStatus.SENT, actor=actor, transitions=PO_TRANSITIONS, event_model=PartsEvent,
             event_fk="purchase_order", labels=PurchaseOrderStatus)
        if locked.expected_on is None:
            today = timezone.localdate(timezone=locked.store.zone)
            locked.expected_on = today + dt.timedelta(days=supplier.lead_time_days)
            locked.save(update_fields=["expected_on"])
        store = locked.store
        message = message_enqueue(
            kind=MESSAGE_KIND, store=store, address=supplier.email, dedup_key=f"{MESSAGE_KIND}:{locked.pk}",
            variables={
                "customer_name": supplier.contact or supplier.name, "greeting": supplier.contact or supplier.name,
                "store_name": store.name, "store_phone": store.phone or "", "supplier_name": supplier.name,
                "number": locked.number, "lines": str(len(lines)), "total": f"{po_total(locked):,.2f}",
                "expected_on": locked.expected_on.isoformat(), "purchase_order_id": str(locked.pk),
            },
        )
        audit.record(actor=actor, obj=locked, action="parts.purchase_order_sent", store_id=locked.store_id,
                     changes={"sent_to": [None, supplier.email], "message": [None, message.pk]})
    return locked


def purchase_order_mail(order: PurchaseOrder) -> Any:
    """The e-mail that took the order to its supplier (status, recipient, when sent), or None."""
    from aftersales.messaging.models import Message

    from .po_document import MESSAGE_KIND

    return Message.objects.filter(dedup_key=f"{MESSAGE_KIND}:{order.pk}").first()


def purchase_order_cancel(*, actor: Any, order: PurchaseOrder, reason: str = "") -> PurchaseOrder:
    """Draft or sent → cancelled; its requisitions are cancelled too (the next sweep re-creates what is needed)."""
    require(actor, "parts.change_purchaseorder")
    require_store(actor, order.store_id)
    with transaction.atomic():
        locked = _lock_order(order)
        move(locked, to=PurchaseOrderStatus.CANCELLED, actor=actor, transitions=PO_TRANSITIONS, event_model=PartsEvent,
             event_fk="purchase_order", reason=reason[:300], labels=PurchaseOrderStatus)
        PurchaseRequisition.objects.filter(po_line__order=locked, status=RequisitionStatus.ORDERED).update(
            status=RequisitionStatus.CANCELLED
        )
        audit.record(actor=actor, obj=locked, action="parts.purchase_order_cancelled", store_id=locked.store_id, reason=reason)
    return locked


def _as_date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed("date_format", _("Enter a date such as 2024-05-31."), field) from exc


def purchase_order_receive(*, actor: Any, order: PurchaseOrder, lines: list[dict[str, Any]]) -> PurchaseOrder:
    """Goods in against a sent order: ``lines=[{line_id, quantity, unit_cost?, batch_number?, origin?, production_date?}]``.

    All lines or none: an over-receipt (or any other refusal) names the line's field and writes nothing.
    Partially received → ``partial``; every line complete → ``received``.
    """
    require(actor, "parts.change_purchaseorder")
    require(actor, "parts.add_stockmovement")
    require_store(actor, order.store_id)
    if not lines:
        raise ValidationFailed("lines_required", _("Enter the quantity received on at least one line."), "lines")
    with transaction.atomic():
        locked = _lock_order(order)
        if locked.status not in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIAL):
            raise ValidationFailed(
                "order_not_receivable",
                _("Goods can only be received on a sent order (this one is “%(s)s”).") % {"s": locked.get_status_display()},
                "status",
            )
        order_lines = {ln.pk: ln for ln in PurchaseOrderLine.objects.select_for_update().filter(order=locked).select_related("part")}
        planned: list[tuple[int, PurchaseOrderLine, Decimal, Decimal, dict[str, Any]]] = []
        adding: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for n, data in enumerate(lines, start=1):
            where = f"lines[{n}]"
            try:
                line = order_lines.get(int(data.get("line_id")))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                line = None
            if line is None:
                raise ValidationFailed("line_unknown", _("This line is not on the order."), f"{where}.line_id")
            qty = parse_quantity(data.get("quantity"), line.part, f"{where}.quantity")
            adding[line.pk] += qty
            if line.received + adding[line.pk] > line.quantity:
                left = line.quantity - line.received
                raise ValidationFailed(
                    "over_receipt",
                    _("%(part)s: only %(n)s still to receive on this order.") % {"part": line.part.number, "n": _fmt(left)},
                    f"{where}.quantity", outstanding=str(left),
                )
            raw_cost = data.get("unit_cost")
            cost = parse_money(line.unit_cost if raw_cost in (None, "") else raw_cost, f"{where}.unit_cost")
            batch = {
                "batch_number": str(data.get("batch_number") or "").strip(),
                "origin": str(data.get("origin") or "").strip(),
                "production_date": _as_date(data.get("production_date"), f"{where}.production_date"),
                "warranty_until": _as_date(data.get("warranty_until"), f"{where}.warranty_until"),
                "supplier": locked.supplier,
            }
            planned.append((n, line, qty, cost, batch))
        for n, line, qty, cost, batch in planned:
            try:
                stock_receive(
                    actor=actor, store=locked.store, part=line.part, quantity=qty, unit_cost=cost, po_line=line,
                    reason=coded(gettext_noop("Purchase order %(n)s"), n=locked.number), **batch,
                )
            except DomainError as exc:
                exc.field = f"lines[{n}].{exc.field or 'quantity'}"
                raise
            line.received += qty
        PurchaseOrderLine.objects.bulk_update(list(order_lines.values()), ["received"])
        complete = all(ln.received >= ln.quantity for ln in order_lines.values())
        target = PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTIAL
        move(locked, to=target, actor=actor, transitions=PO_TRANSITIONS, event_model=PartsEvent,
             event_fk="purchase_order", labels=PurchaseOrderStatus)
        audit.record(actor=actor, obj=locked, action="parts.purchase_order_received", store_id=locked.store_id,
                     changes={"lines": [None, len(planned)], "status": [None, target]})
    return locked


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def open_order_lines(order: PurchaseOrder) -> QuerySet[PurchaseOrderLine]:
    return order.lines.select_related("part").annotate(
        outstanding=ExpressionWrapper(F("quantity") - F("received"), output_field=_QTY)
    ).order_by("id")


def order_lines_outstanding(order: PurchaseOrder) -> bool:
    return order.lines.filter(received__lt=F("quantity")).exists()

