"""Reads for parts and stock, always scoped to the acting user (ARCHITECTURE habit 3).

The catalogue belongs to the dealer group: every member of the group sees its parts, and the group-wide
availability of a part (for transfer decisions) is not sensitive. Stock items, movements, reservations and
adjustment requests belong to a store: outside the user's stores they are 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Sum

from aftersales.common.scoping import get_or_404, restrict_to_stores, visible_store_ids

from .choices import AdjustmentStatus, ReservationStatus
from .models import AdjustmentRequest, Batch, Part, PartAlias, Reservation, StockItem, StockMovement

SEARCH_LIMIT = 20
ZERO = Decimal("0")
_CJK = re.compile(r"[\u3400-\u9fff]")


# ---- the catalogue -----------------------------------------------------------------------------------------------
def parts_visible_to(user: Any) -> QuerySet[Part]:
    if not getattr(user, "is_authenticated", False):
        return Part.objects.none()
    if user.is_superuser and user.dealer_group_id is None:
        return Part.objects.all()
    return Part.objects.filter(group_id=user.dealer_group_id)


def part_get(user: Any, part_id: int) -> Part:
    return get_or_404(parts_visible_to(user).select_related("default_supplier").prefetch_related("aliases"), pk=part_id)


def _like(prefix_only: bool, column: str, text: str) -> Q:
    return Q(**{f"{column}__startswith" if prefix_only else f"{column}__contains": text})


def search_part_ids(user: Any, q: str, limit: int = SEARCH_LIMIT, *, include_inactive: bool = False) -> list[int]:
    """Part ids matching one search box: part number, OEM number, an interchangeable number, or the name in
    either language (Chinese: substring; English: case-insensitive).

    Every branch is a separate query served by a pg_trgm index on PostgreSQL (migration 0002): a substring from
    three characters, a prefix for one or two (a shorter substring would scan the table) — except Chinese names,
    always a substring (two characters are a word). No ORDER BY on these
    id queries: with one, PostgreSQL walks the primary key instead of the index (bench/README.md). The best
    matches come first: exact numbers, then number prefixes, then the rest in number order.
    """
    text = " ".join(str(q or "").split())
    if not text:
        return []
    short = len(text) < 3
    scoped = parts_visible_to(user).order_by()
    if not include_inactive:
        scoped = scoped.filter(is_active=True)
    ids: list[int] = []
    if _CJK.search(text):
        # Chinese: always a substring. Two characters are a whole word (刹车, 机油, 电池, 滤芯, 轮胎) and sit in the
        # middle of a name (丰田前刹车片); a prefix would find nothing. Below three characters pg_trgm cannot serve
        # it, so the scan is bounded by ``limit`` (a catalogue's names, not its movements).
        ids += scoped.filter(name_zh__contains=text).values_list("id", flat=True)[:limit]
    else:
        upper = text.upper()
        ids += scoped.filter(_like(short, "number", upper)).values_list("id", flat=True)[:limit]
        ids += scoped.filter(_like(short, "oem_number", upper)).values_list("id", flat=True)[:limit]
        aliases = PartAlias.objects.filter(_like(short, "number", upper), part__in=scoped).order_by()
        ids += aliases.values_list("part_id", flat=True)[:limit]
        name_q = Q(name_en__istartswith=text) if short else Q(name_en__icontains=text)
        ids += scoped.filter(name_q).values_list("id", flat=True)[:limit]
    return list(dict.fromkeys(ids))[: limit * 2]


@dataclass
class PartRow:
    """A search hit: the part and its stock at the user's stores."""

    part: Part
    stock: list[StockItem] = field(default_factory=list)
    matched_alias: str = ""

    @property
    def on_hand(self) -> Decimal:
        return sum((s.on_hand for s in self.stock), ZERO)

    @property
    def reserved(self) -> Decimal:
        return sum((s.reserved for s in self.stock), ZERO)

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved

    @property
    def bins(self) -> str:
        return ", ".join(sorted({s.bin_location for s in self.stock if s.bin_location}))


def _rank(part: Part, upper: str) -> tuple[int, str]:
    numbers = [part.number, part.oem_number, *(a.number for a in part.aliases.all())]
    if upper in numbers:
        return (0, part.number)
    if any(n.startswith(upper) for n in numbers if n):
        return (1, part.number)
    return (2, part.number)


def part_search(user: Any, q: str, limit: int = SEARCH_LIMIT, *, include_inactive: bool = False) -> list[PartRow]:
    """The parts search box: matching parts with aliases and stock (on hand, reserved, available, bin) at the
    user's stores, in a fixed number of queries whatever the number of hits."""
    ids = search_part_ids(user, q, limit, include_inactive=include_inactive)
    if not ids:
        return []
    stores = visible_store_ids(user)
    stock = StockItem.objects.filter(store_id__in=stores).select_related("store").order_by("store__name", "store_id")
    parts = list(
        Part.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("stock_items", queryset=stock, to_attr="my_stock"),
            Prefetch("aliases", queryset=PartAlias.objects.order_by("brand", "number")),
        )
    )
    upper = " ".join(q.split()).upper()
    parts.sort(key=lambda p: _rank(p, upper))
    rows = []
    for part in parts[:limit]:
        alias = next((str(a) for a in part.aliases.all() if upper and upper in a.number), "")
        rows.append(PartRow(part=part, stock=list(part.my_stock), matched_alias=alias))  # type: ignore[attr-defined]
    return rows


def part_list(user: Any, *, q: str = "", category: str = "", include_inactive: bool = False) -> QuerySet[Part]:
    """The catalogue, filtered (for paginated lists and the API), in part-number order."""
    qs = parts_visible_to(user)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if q:
        qs = qs.filter(pk__in=search_part_ids(user, q, limit=250, include_inactive=include_inactive))
    if category:
        qs = qs.filter(category=category)
    return qs.prefetch_related("aliases").order_by("number")


# ---- stock -------------------------------------------------------------------------------------------------------
@dataclass
class StoreAvailability:
    store: Any
    item: StockItem | None

    @property
    def on_hand(self) -> Decimal:
        return self.item.on_hand if self.item else ZERO

    @property
    def reserved(self) -> Decimal:
        return self.item.reserved if self.item else ZERO

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved

    @property
    def bin_location(self) -> str:
        return self.item.bin_location if self.item else ""


@dataclass
class PartStock:
    part: Part
    mine: list[StoreAvailability]  # the user's stores, each one (zero where nothing was ever stocked)
    elsewhere: list[StoreAvailability]  # the group's other stores with stock available (transfer candidates)

    @property
    def available_here(self) -> Decimal:
        return sum((s.available for s in self.mine), ZERO)


def stock_for_part(user: Any, part: Part) -> PartStock:
    """A part's stock at each of the user's stores, and what the group's other stores have available. Two queries."""
    from aftersales.stores.models import Store

    mine_ids = set(visible_store_ids(user))
    items = {i.store_id: i for i in StockItem.objects.filter(part=part, store__group_id=part.group_id).select_related("store")}
    stores = list(Store.objects.filter(pk__in=mine_ids).order_by("name", "id"))
    mine = [StoreAvailability(store=s, item=items.get(s.pk)) for s in stores]
    elsewhere = sorted(
        (StoreAvailability(store=i.store, item=i) for sid, i in items.items() if sid not in mine_ids and i.available > 0),
        key=lambda a: (-a.available, a.store.name),
    )
    return PartStock(part=part, mine=mine, elsewhere=elsewhere)


def stock_items_visible_to(user: Any) -> QuerySet[StockItem]:
    return restrict_to_stores(StockItem.objects.all(), user)


def stock_item_get(user: Any, item_id: int) -> StockItem:
    return get_or_404(stock_items_visible_to(user).select_related("store", "part"), pk=item_id)


def movements_visible_to(user: Any) -> QuerySet[StockMovement]:
    return restrict_to_stores(StockMovement.objects.all(), user)


def movements_for_item(user: Any, item: StockItem) -> QuerySet[StockMovement]:
    """The ledger of one stock item, newest first (paginate it)."""
    qs = movements_visible_to(user).filter(stock_item=item)
    return qs.select_related("actor", "batch", "repair_job__order").order_by("-at", "-id")


def movements_for_part(user: Any, part: Part) -> QuerySet[StockMovement]:
    qs = movements_visible_to(user).filter(part=part)
    return qs.select_related("store", "actor", "batch", "repair_job__order").order_by("-at", "-id")


def movement_get(user: Any, movement_id: int) -> StockMovement:
    qs = movements_visible_to(user).select_related("store", "part", "actor", "batch", "repair_job__order", "stock_item")
    return get_or_404(qs, pk=movement_id)


def batches_for_part(user: Any, part: Part) -> list[Batch]:
    """The part's batches / serials that moved at the user's stores, with what is left there (``left``)."""
    stores = visible_store_ids(user)
    return list(
        Batch.objects.filter(part=part, movements__store_id__in=stores)
        .annotate(left=Sum("movements__quantity", filter=Q(movements__store_id__in=stores)))
        .select_related("supplier")
        .order_by("-received_at", "-id")
    )


# ---- reservations and adjustments --------------------------------------------------------------------------------
def reservations_visible_to(user: Any, *, status: str | None = ReservationStatus.ACTIVE) -> QuerySet[Reservation]:
    qs = restrict_to_stores(Reservation.objects.all(), user).select_related("store", "part", "created_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def reservation_get(user: Any, reservation_id: int) -> Reservation:
    return get_or_404(restrict_to_stores(Reservation.objects.select_related("store", "part"), user), pk=reservation_id)


def adjustments_visible_to(user: Any, *, status: str | None = AdjustmentStatus.PENDING) -> QuerySet[AdjustmentRequest]:
    qs = restrict_to_stores(AdjustmentRequest.objects.all(), user).select_related("store", "part", "requested_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")


def adjustment_get(user: Any, request_id: int) -> AdjustmentRequest:
    return get_or_404(adjustments_visible_to(user, status=None), pk=request_id)


# ---- jobs parts are issued to ----------------------------------------------------------------------------------
def open_jobs(user: Any, store_ids: list[int] | None = None, limit: int = 200, *, authorized_only: bool = False) -> list[Any]:
    """Jobs of the open repair orders at the user's stores (newest orders first), to issue parts to (with
    ``authorized_only``: only the jobs the customer authorized, the ones parts may be issued to)."""
    from aftersales.workshop.choices import IN_SHOP_STATES, PARTS_JOB_STATES
    from aftersales.workshop.models import RepairJob
    from aftersales.workshop.selectors import orders_visible_to

    orders = orders_visible_to(user).filter(status__in=IN_SHOP_STATES)
    if store_ids is not None:
        orders = orders.filter(store_id__in=store_ids)
    jobs = RepairJob.objects.filter(order__in=orders.values("id"))
    if authorized_only:
        jobs = jobs.filter(status__in=PARTS_JOB_STATES)
    return list(
        jobs
        .select_related("order__vehicle", "order__store")
        .order_by("-order__opened_at", "order_id", "seq", "id")[:limit]
    )


def job_get(user: Any, job_id: int) -> Any:
    from aftersales.workshop.models import RepairJob

    return get_or_404(restrict_to_stores(RepairJob.objects.select_related("order"), user, "order__store_id"), pk=job_id)
