"""Traceability (batch recall, parts fitted to a vehicle) and valuation (stock value, turnover, slow movers).

Selectors: they take the acting user and read only the stores that user may see (a group admin sees all).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import NotFound, ValidationFailed
from aftersales.common.scoping import visible_store_ids

from .choices import MovementKind
from .models import Batch, Part, StockItem, StockMovement
from .services import _add_months

ZERO = Decimal("0")
CENT = Decimal("0.01")
_VALUE = DecimalField(max_digits=20, decimal_places=4)


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def _store_ids(user: Any, store: Any = None) -> list[int]:
    ids = visible_store_ids(user)
    if store is None:
        return ids
    if store.pk not in ids:
        raise NotFound("not_found", _("Not found, or not visible to you."), "store")
    return [store.pk]


# ---- traceability ------------------------------------------------------------------------------------------------
@dataclass
class RecallHit:
    """One job that got parts of the recalled batch (net of returns)."""

    job: Any
    order: Any
    vehicle: Any
    customer: Any
    store: Any
    issued_at: dt.datetime
    quantity: Decimal


def recall_lookup(user: Any, part: Part, batch_number: str) -> list[RecallHit]:
    """Every vehicle that got parts of ``batch_number`` (issue movements net of returns), in the user's stores."""
    number = str(batch_number or "").strip()
    if not number:
        raise ValidationFailed("required", _("Enter the batch or serial number."), "batch_number")
    if not user.is_superuser and part.group_id != user.dealer_group_id:
        raise ValidationFailed("part_unknown", _("Unknown part number “%(n)s”.") % {"n": part.number}, "part")
    batch = Batch.objects.filter(part=part, number=number).first()
    if batch is None:
        raise ValidationFailed(
            "batch_unknown", _("No batch “%(b)s” was received for %(part)s.") % {"b": number, "part": part.number}, "batch_number"
        )
    movements = (
        StockMovement.objects.filter(
            batch=batch, kind__in=[MovementKind.ISSUE, MovementKind.RETURN], store_id__in=visible_store_ids(user),
            repair_job__isnull=False,
        )
        .select_related("repair_job", "repair_job__order", "vehicle", "customer", "store")
        .order_by("at", "id")
    )
    hits: dict[int, RecallHit] = {}
    for m in movements:
        hit = hits.get(m.repair_job_id)  # type: ignore[arg-type]
        if hit is None:
            job = m.repair_job
            hit = hits[m.repair_job_id] = RecallHit(  # type: ignore[index]
                job=job, order=job.order if job else None, vehicle=m.vehicle, customer=m.customer, store=m.store,
                issued_at=m.at, quantity=ZERO,
            )
        hit.quantity -= m.quantity  # issues are negative, returns positive
    return [h for h in hits.values() if h.quantity > 0]


@dataclass
class FittedPart:
    part: Part
    batch: Batch | None
    job: Any
    order: Any
    issued_at: dt.datetime
    quantity: Decimal
    origin: str = ""
    production_date: dt.date | None = None
    warranty_until: dt.date | None = None
    warranty_until_km: int | None = None

    @property
    def under_warranty(self) -> bool | None:
        if self.warranty_until is None:
            return None
        return self.warranty_until >= timezone.localdate()


def fitted_parts(vehicle: Any) -> list[FittedPart]:
    """Parts issued to the vehicle's jobs (net of returns), with batch, origin, production date and warranty.

    The caller has already checked the vehicle is visible (the customer 360 / vehicle view).
    """
    return fitted_parts_by_vehicle([vehicle.pk]).get(vehicle.pk, [])


def fitted_parts_by_vehicle(vehicle_ids: list[int]) -> dict[int, list[FittedPart]]:
    """``fitted_parts`` for several vehicles in one query (the customer 360 page shows every car's parts)."""
    movements = (
        StockMovement.objects.filter(vehicle_id__in=vehicle_ids, kind__in=[MovementKind.ISSUE, MovementKind.RETURN])
        .select_related("part", "batch", "repair_job", "repair_job__order", "store")
        .order_by("at", "id")
    )
    rows: dict[tuple[Any, Any, int, Any], FittedPart] = {}
    for m in movements:
        key = (m.vehicle_id, m.repair_job_id, m.part_id, m.batch_id)
        row = rows.get(key)
        if row is None:
            job = m.repair_job
            order = job.order if job else None
            row = rows[key] = FittedPart(
                part=m.part, batch=m.batch, job=job, order=order, issued_at=m.at, quantity=ZERO,
            )
            batch = m.batch
            if batch is not None:
                row.origin, row.production_date, row.warranty_until = batch.origin, batch.production_date, batch.warranty_until
            if row.warranty_until is None and m.part.warranty_months:
                issued_on = timezone.localtime(m.at, m.store.zone).date()
                row.warranty_until = _add_months(issued_on, m.part.warranty_months)
            if m.part.warranty_km and order is not None and order.mileage_in is not None:
                row.warranty_until_km = order.mileage_in + m.part.warranty_km
        row.quantity -= m.quantity
    out: dict[int, list[FittedPart]] = {}
    for (vehicle_id, *_rest), row in sorted(rows.items(), key=lambda kv: kv[1].issued_at, reverse=True):
        if row.quantity > 0:
            out.setdefault(vehicle_id, []).append(row)
    return out


# ---- valuation ---------------------------------------------------------------------------------------------------
@dataclass
class StoreValue:
    store: Any
    items: int
    value: Decimal


@dataclass
class StockValue:
    rows: list[StoreValue] = field(default_factory=list)
    total: Decimal = ZERO
    items: int = 0


def _value_expr() -> ExpressionWrapper:
    return ExpressionWrapper(F("on_hand") * F("avg_cost"), output_field=_VALUE)


def stock_value(user: Any, store: Any = None) -> StockValue:
    """On hand × moving-average cost, per store and in total (the stores the user may see, or one of them)."""
    from aftersales.stores.models import Store

    ids = _store_ids(user, store)
    per_store = (
        StockItem.objects.filter(store_id__in=ids, on_hand__gt=0)
        .order_by()
        .values("store_id")
        .annotate(value=Sum(_value_expr()), items=Count("id"))
    )
    stores = Store.objects.in_bulk(ids)
    result = StockValue()
    for row in per_store:
        value = _money(row["value"])
        result.rows.append(StoreValue(store=stores.get(row["store_id"]), items=row["items"], value=value))
        result.total += value
        result.items += row["items"]
    result.rows.sort(key=lambda r: r.store.code if r.store else "")
    return result


@dataclass
class Turnover:
    days: int
    issued_cost: Decimal
    opening_value: Decimal
    closing_value: Decimal
    average_value: Decimal
    turns: Decimal | None
    days_of_stock: Decimal | None


def turnover(user: Any, store: Any = None, days: int = 365, now: dt.datetime | None = None) -> Turnover:
    """Issued cost over the period / average stock value (opening and closing, at moving-average cost).

    The opening value is the closing value minus the value of the period's movements (each movement carries its
    cost: receipts their price, issues and transfers out the average at the time).
    """
    ids = _store_ids(user, store)
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    closing = _money(
        StockItem.objects.filter(store_id__in=ids).aggregate(v=Sum(_value_expr()))["v"]
    )
    moved = StockMovement.objects.filter(store_id__in=ids, at__gte=since, at__lte=now)
    amount = ExpressionWrapper(F("quantity") * F("unit_cost"), output_field=_VALUE)
    change = _money(moved.aggregate(v=Sum(amount))["v"])
    issued = -_money(moved.filter(kind__in=[MovementKind.ISSUE, MovementKind.RETURN]).aggregate(v=Sum(amount))["v"])
    opening = max(closing - change, ZERO)
    average = _money((opening + closing) / 2)
    turns = (issued / average).quantize(CENT, ROUND_HALF_UP) if average > 0 else None
    days_of_stock = (Decimal(days) / turns).quantize(Decimal("1"), ROUND_HALF_UP) if turns else None
    return Turnover(days=days, issued_cost=issued, opening_value=opening, closing_value=closing, average_value=average,
                    turns=turns, days_of_stock=days_of_stock)


def slow_movers(user: Any, store: Any = None, days: int = 180, now: dt.datetime | None = None) -> QuerySet[StockItem]:
    """Stock on hand with no issue to a job in the last ``days`` days, most capital tied up first.

    Annotated with ``value`` (on hand × average cost) and ``last_issue_at`` (None: never issued).
    """
    ids = _store_ids(user, store)
    since = (now or timezone.now()) - dt.timedelta(days=days)
    issues = StockMovement.objects.filter(stock_item_id=OuterRef("pk"), kind=MovementKind.ISSUE)
    return (
        StockItem.objects.filter(store_id__in=ids, on_hand__gt=0)
        .filter(~Exists(issues.filter(at__gte=since)))
        .annotate(
            value=_value_expr(),
            last_issue_at=Subquery(issues.order_by("-at").values("at")[:1]),
        )
        .select_related("part", "store")
        .order_by("-value", "part__number")
    )
