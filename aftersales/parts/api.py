"""Parts API under /api/parts: catalogue, stock, the ledger (receive, issue, return, adjust), reservations.

Errors are ``{code, message, field}`` with a 4xx status; a refused request writes nothing (the services are atomic).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require, require_store
from aftersales.common.scoping import default_store, visible_store_ids

from . import catalogue, selectors, services
from .models import AdjustmentRequest, Batch, PriceListItem, StockItem

router = Router(tags=["parts"])


# ---- schemas ---------------------------------------------------------------------------------------------------------
class AliasIO(Schema):
    number: str
    brand: str = ""
    is_oem: bool = False


class StockRowOut(Schema):
    store_id: int
    store_name: str
    stock_item_id: int | None
    bin_location: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


def _row(availability: selectors.StoreAvailability) -> dict[str, Any]:
    item = availability.item
    return {
        "store_id": availability.store.pk, "store_name": availability.store.name, "stock_item_id": item.pk if item else None,
        "bin_location": availability.bin_location, "on_hand": availability.on_hand, "reserved": availability.reserved,
        "available": availability.available,
    }


class PartOut(Schema):
    id: int
    number: str
    oem_number: str
    name_zh: str
    name_en: str
    category: str
    unit: str
    is_oem: bool
    sale_price: Decimal
    tax_rate: Decimal
    warranty_months: int | None
    warranty_km: int | None
    tracking: str
    is_active: bool
    aliases: list[AliasIO]
    available_here: Decimal | None = None

    @staticmethod
    def resolve_aliases(obj: Any) -> list[Any]:
        if isinstance(obj, dict):
            return obj["aliases"]
        return list(obj.aliases.all())

    @staticmethod
    def resolve_available_here(obj: Any) -> Decimal | None:
        if isinstance(obj, dict):
            return obj.get("available_here")
        stock = getattr(obj, "my_stock", None)
        return None if stock is None else sum((s.on_hand - s.reserved for s in stock), Decimal("0"))


class PartDetailOut(PartOut):
    cost_price: Decimal | None
    prices: dict[str, Decimal]
    stock: list[StockRowOut] | None
    elsewhere: list[StockRowOut] | None


class PartIn(Schema):
    number: str
    name_zh: str
    oem_number: str = ""
    name_en: str = ""
    category: str = "other"
    unit: str = "piece"
    is_oem: bool = True
    cost_price: Decimal = Decimal("0")
    sale_price: Decimal = Decimal("0")
    tax_rate: Decimal = Decimal("0.13")
    warranty_months: int | None = None
    warranty_km: int | None = None
    tracking: str = "none"
    is_active: bool = True
    aliases: list[AliasIO] = []
    prices: dict[str, Decimal | None] = {}


class PartPatch(Schema):
    number: str | None = None
    name_zh: str | None = None
    oem_number: str | None = None
    name_en: str | None = None
    category: str | None = None
    unit: str | None = None
    is_oem: bool | None = None
    cost_price: Decimal | None = None
    sale_price: Decimal | None = None
    tax_rate: Decimal | None = None
    warranty_months: int | None = None
    warranty_km: int | None = None
    tracking: str | None = None
    is_active: bool | None = None
    aliases: list[AliasIO] | None = None
    prices: dict[str, Decimal | None] | None = None
    reason: str = ""


class PartStockOut(Schema):
    part_id: int
    stock: list[StockRowOut]
    elsewhere: list[StockRowOut]


class MovementOut(Schema):
    id: int
    store_id: int
    part_id: int
    stock_item_id: int
    kind: str
    quantity: Decimal
    balance_after: Decimal
    unit_cost: Decimal
    at: dt.datetime
    actor_id: int | None
    reason: str
    batch_id: int | None
    repair_job_id: int | None


class AdjustmentOut(Schema):
    id: int
    store_id: int
    part_id: int
    quantity: Decimal
    reason: str
    status: str
    requested_by_id: int | None
    requested_at: dt.datetime
    decided_by_id: int | None
    decided_at: dt.datetime | None
    movement_id: int | None


class ReceiveIn(Schema):
    quantity: Decimal
    unit_cost: Decimal
    store_id: int | None = None
    reason: str = ""
    batch_number: str = ""
    origin: str = ""
    production_date: dt.date | None = None
    warranty_until: dt.date | None = None


class IssueIn(Schema):
    job_id: int
    quantity: Decimal
    store_id: int | None = None
    batch_id: int | None = None


class ReturnIn(IssueIn):
    reason: str = ""


class AdjustIn(Schema):
    quantity: Decimal
    reason: str
    store_id: int | None = None


class AdjustResultOut(Schema):
    applied: bool
    movement: MovementOut | None = None
    request: AdjustmentOut | None = None


class DecideIn(Schema):
    approve: bool
    reason: str = ""


class ReservationIn(Schema):
    part_id: int
    quantity: Decimal
    reference: str
    store_id: int | None = None
    source: str = "manual"
    expires_at: dt.datetime | None = None


class ReservationOut(Schema):
    id: int
    store_id: int
    part_id: int
    stock_item_id: int
    quantity: Decimal
    source: str
    reference: str
    status: str
    expires_at: dt.datetime | None
    created_at: dt.datetime
    closed_at: dt.datetime | None


# ---- helpers -----------------------------------------------------------------------------------------------------------
def _my_stock(user: Any) -> Prefetch:
    return Prefetch("stock_items", queryset=StockItem.objects.filter(store_id__in=visible_store_ids(user)), to_attr="my_stock")


def _detail(user: Any, part_id: int) -> dict[str, Any]:
    part = selectors.part_get(user, part_id)
    out: dict[str, Any] = {name: getattr(part, name) for name in PartOut.model_fields if name not in ("aliases", "available_here")}
    out["aliases"] = list(part.aliases.all())
    out["cost_price"] = part.cost_price if user.has_perm("parts.view_stockmovement") else None
    out["prices"] = dict(PriceListItem.objects.filter(part=part).values_list("price_list__code", "price"))
    out["stock"] = out["elsewhere"] = None
    out["available_here"] = None
    if user.has_perm("parts.view_stockitem"):
        stock = selectors.stock_for_part(user, part)
        out["stock"] = [_row(a) for a in stock.mine]
        out["elsewhere"] = [_row(a) for a in stock.elsewhere]
        out["available_here"] = stock.available_here
    return out


def _store(user: Any, store_id: int | None) -> Any:
    store = default_store(user, store_id)
    require_store(user, store.pk)
    return store


def _batch(part: Any, batch_id: int | None) -> Batch | None:
    if batch_id is None:
        return None
    batch = Batch.objects.filter(part=part, pk=batch_id).first()
    if batch is None:
        raise ValidationFailed("batch_unknown", _("This batch is not of this part."), "batch_id")
    return batch


# ---- catalogue ---------------------------------------------------------------------------------------------------------
@router.get("/", response={200: list[PartOut], **ERRORS})
@paginate(PageNumberPagination, page_size=25)
def list_parts(request: Any, q: str = "", category: str = "", include_inactive: bool = False) -> Any:
    """The catalogue; ``q`` searches part number, OEM number, interchangeable numbers and names (中文 / English)."""
    user = request_user(request)
    require(user, "parts.view_part")
    qs = selectors.part_list(user, q=q, category=category, include_inactive=include_inactive)
    if user.has_perm("parts.view_stockitem"):
        qs = qs.prefetch_related(_my_stock(user))
    return qs


@router.post("/", response={201: PartDetailOut, **ERRORS})
def create_part(request: Any, payload: PartIn) -> Any:
    user = request_user(request)
    data = payload.dict()
    data["aliases"] = [dict(a) for a in data["aliases"]]
    part = catalogue.part_create(actor=user, group=user.dealer_group, **data)
    return Status(201, _detail(user, part.pk))


@router.get("/reservations", response={200: list[ReservationOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_reservations(request: Any, status: str = "active", part_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "parts.view_reservation")
    qs = selectors.reservations_visible_to(user, status=status or None)
    return qs.filter(part_id=part_id) if part_id else qs


@router.post("/reservations", response={201: ReservationOut, **ERRORS})
def create_reservation(request: Any, payload: ReservationIn) -> Any:
    """Hold stock (idempotent per part and reference, e.g. ``appointment:42``)."""
    user = request_user(request)
    require(user, "parts.add_stockmovement")
    store = _store(user, payload.store_id)
    part = selectors.part_get(user, payload.part_id)
    reservation = services.reserve(
        actor=user, store=store, part=part, quantity=payload.quantity, source=payload.source,
        reference=payload.reference, expires_at=payload.expires_at,
    )
    return Status(201, reservation)


@router.post("/reservations/{reservation_id}/release", response={200: ReservationOut, **ERRORS})
def release_reservation(request: Any, reservation_id: int) -> Any:
    user = request_user(request)
    require(user, "parts.add_stockmovement")
    reservation = selectors.reservation_get(user, reservation_id)
    return services.release(reservation=reservation)


@router.get("/adjustments", response={200: list[AdjustmentOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_adjustments(request: Any, status: str = "pending") -> Any:
    user = request_user(request)
    require(user, "parts.view_adjustmentrequest")
    return selectors.adjustments_visible_to(user, status=status or None)


@router.post("/adjustments/{adjustment_id}/decide", response={200: AdjustmentOut, **ERRORS})
def decide_adjustment(request: Any, adjustment_id: int, payload: DecideIn) -> Any:
    user = request_user(request)
    require(user, "parts.approve_adjustment")
    adjustment = selectors.adjustment_get(user, adjustment_id)
    return services.adjustment_decide(actor=user, request=adjustment, approve=payload.approve, reason=payload.reason)


@router.get("/stock-items/{item_id}/movements", response={200: list[MovementOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def stock_item_movements(request: Any, item_id: int) -> Any:
    user = request_user(request)
    require(user, "parts.view_stockmovement")
    item = selectors.stock_item_get(user, item_id)
    return selectors.movements_for_item(user, item)


@router.get("/movements/{movement_id}", response={200: MovementOut, **ERRORS})
def get_movement(request: Any, movement_id: int) -> Any:
    user = request_user(request)
    require(user, "parts.view_stockmovement")
    return selectors.movement_get(user, movement_id)


@router.get("/{part_id}", response={200: PartDetailOut, **ERRORS})
def get_part(request: Any, part_id: int) -> Any:
    user = request_user(request)
    require(user, "parts.view_part")
    return _detail(user, part_id)


@router.patch("/{part_id}", response={200: PartDetailOut, **ERRORS})
def update_part(request: Any, part_id: int, payload: PartPatch) -> Any:
    user = request_user(request)
    require(user, "parts.change_part")
    part = selectors.part_get(user, part_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    if data.get("aliases") is not None:
        data["aliases"] = [dict(a) for a in data["aliases"]]
    catalogue.part_update(actor=user, part=part, reason=reason, **data)
    return _detail(user, part_id)


@router.get("/{part_id}/stock", response={200: PartStockOut, **ERRORS})
def part_stock(request: Any, part_id: int) -> Any:
    """The part at each of your stores, and what the group's other stores have available (for a transfer)."""
    user = request_user(request)
    require(user, "parts.view_stockitem")
    stock = selectors.stock_for_part(user, selectors.part_get(user, part_id))
    return {"part_id": part_id, "stock": [_row(a) for a in stock.mine], "elsewhere": [_row(a) for a in stock.elsewhere]}


@router.get("/{part_id}/movements", response={200: list[MovementOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def part_movements(request: Any, part_id: int) -> Any:
    user = request_user(request)
    require(user, "parts.view_stockmovement")
    return selectors.movements_for_part(user, selectors.part_get(user, part_id))


# ---- the ledger ----------------------------------------------------------------------------------------------------------
@router.post("/{part_id}/receive", response={201: MovementOut, **ERRORS})
def receive(request: Any, part_id: int, payload: ReceiveIn) -> Any:
    user = request_user(request)
    require(user, "parts.add_stockmovement")
    part = selectors.part_get(user, part_id)
    data = payload.dict()
    store = _store(user, data.pop("store_id"))
    return Status(201, services.stock_receive(actor=user, store=store, part=part, **data))


@router.post("/{part_id}/issue", response={201: MovementOut, **ERRORS})
def issue(request: Any, part_id: int, payload: IssueIn) -> Any:
    user = request_user(request)
    require(user, "parts.add_stockmovement")
    part = selectors.part_get(user, part_id)
    store = _store(user, payload.store_id)
    job = selectors.job_get(user, payload.job_id)
    movement = services.counter_issue_to_job(
        actor=user, store=store, part=part, quantity=payload.quantity, job=job, batch=_batch(part, payload.batch_id)
    )
    return Status(201, movement)


@router.post("/{part_id}/return", response={201: MovementOut, **ERRORS})
def return_from_job(request: Any, part_id: int, payload: ReturnIn) -> Any:
    user = request_user(request)
    require(user, "parts.add_stockmovement")
    part = selectors.part_get(user, part_id)
    store = _store(user, payload.store_id)
    job = selectors.job_get(user, payload.job_id)
    movement = services.counter_return_from_job(
        actor=user, store=store, part=part, quantity=payload.quantity, job=job, batch=_batch(part, payload.batch_id),
        reason=payload.reason,
    )
    return Status(201, movement)


@router.post("/{part_id}/adjust", response={201: AdjustResultOut, 202: AdjustResultOut, **ERRORS})
def adjust(request: Any, part_id: int, payload: AdjustIn) -> Any:
    """Correct the stock; above the approval value it becomes a request for a manager (202)."""
    user = request_user(request)
    require(user, "parts.add_stockmovement")
    part = selectors.part_get(user, part_id)
    store = _store(user, payload.store_id)
    result = services.stock_adjust(actor=user, store=store, part=part, quantity=payload.quantity, reason=payload.reason)
    if isinstance(result, AdjustmentRequest):
        return Status(202, {"applied": False, "request": result})
    return Status(201, {"applied": True, "movement": result})
