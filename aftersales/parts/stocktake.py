"""Stock-take (盘点): start (snapshot the on-hand of the scoped stock items), count, post or cancel.

Posting writes one STOCKTAKE ledger row per counted line whose count differs from the snapshot, for the difference
counted − snapshot. Movements booked while the count runs (an issue to a job, a receipt) stay in the on-hand: the
difference is added to the current quantity, not written over it. A difference that would take the on-hand below
zero is refused, naming the line, and nothing is written. Uncounted lines are left alone. When the summed value of
the differences is above PARTS_ADJUSTMENT_APPROVAL_VALUE, only a holder of ``parts.approve_adjustment`` may post.
One stock-take at a time per store (open or counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.scoping import get_or_404, restrict_to_stores
from aftersales.common.transitions import move

from .choices import STOCKTAKE_TRANSITIONS, Category, MovementKind, StockTakeStatus
from .models import Part, PartsEvent, StockItem, StockTake, StockTakeLine
from .services import parse_quantity, record_movement

ZERO = Decimal("0")
ACTIVE_STATES = (StockTakeStatus.OPEN, StockTakeStatus.COUNTED)
SHEET_ORDER = ("stock_item__bin_location", "stock_item__part__number", "id")


# ---- selectors -------------------------------------------------------------------------------------------------
def stocktakes_for(user: Any, store: Any = None) -> QuerySet[StockTake]:
    qs = restrict_to_stores(StockTake.objects.all(), user).select_related("store", "started_by", "posted_by")
    if store is not None:
        qs = qs.filter(store_id=store.pk)
    return qs


def stocktake_get(user: Any, pk: int) -> StockTake:
    return get_or_404(stocktakes_for(user), pk=pk)


def sheet_lines(stock_take: StockTake) -> QuerySet[StockTakeLine]:
    """The count sheet in walking order (bin, then part number); ``lines[n]`` in errors is the n-th row (from 1)."""
    return stock_take.lines.select_related("stock_item", "stock_item__part").order_by(*SHEET_ORDER)


def line_cost(item: StockItem) -> Decimal:
    return Decimal(item.avg_cost or item.part.cost_price or 0)


@dataclass
class SheetRow:
    n: int
    line: StockTakeLine
    item: StockItem
    part: Part
    moved_since: Decimal  # on hand now − snapshot: what was booked while counting
    difference: Decimal | None
    value: Decimal | None


@dataclass
class Sheet:
    rows: list[SheetRow]
    counted: int
    differences: int
    value: Decimal  # summed |difference| × cost
    net_value: Decimal  # signed


def sheet(stock_take: StockTake) -> Sheet:
    rows = []
    counted = differences = 0
    value = net = ZERO
    for n, line in enumerate(sheet_lines(stock_take), start=1):
        item = line.stock_item
        diff = line.difference
        row_value = None
        if diff is not None:
            counted += 1
            row_value = (diff * line_cost(item)).quantize(Decimal("0.01"))
            if diff:
                differences += 1
                value += abs(row_value)
                net += row_value
        rows.append(SheetRow(n=n, line=line, item=item, part=item.part, moved_since=item.on_hand - line.system_qty,
                             difference=diff, value=row_value))
    return Sheet(rows=rows, counted=counted, differences=differences, value=value, net_value=net)


# ---- input -------------------------------------------------------------------------------------------------------
def parse_count(value: Any, part: Part, field: str) -> Decimal | None:
    """A counted quantity: blank = not counted; zero allowed; otherwise like any quantity of ``part``."""
    if value is None or str(value).strip() == "":
        return None
    try:
        qty = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("quantity_format", _("Enter a quantity such as 2 or 1.5."), field) from exc
    if qty.is_finite() and qty == 0:
        return ZERO
    if qty.is_finite() and qty < 0:
        raise ValidationFailed("count_negative", _("A counted quantity cannot be negative."), field)
    return parse_quantity(qty, part, field)


def _clean_scope(category: Any, bin_prefix: Any) -> tuple[str, str]:
    category = str(category or "").strip()
    if category and category not in Category.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": category}, "category")
    prefix = "".join(str(bin_prefix or "").split()).upper()
    if len(prefix) > 20:
        raise ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": 20}, "bin_prefix")
    return category, prefix


def _lock(stock_take: StockTake) -> StockTake:
    return StockTake.objects.select_for_update().select_related("store").get(pk=stock_take.pk)


def _move(locked: StockTake, to: str, actor: Any, reason: str = "", at: Any = None) -> None:
    move(locked, to=to, actor=actor, transitions=STOCKTAKE_TRANSITIONS, event_model=PartsEvent, event_fk="stocktake",
         reason=reason[:300], labels=StockTakeStatus, at=at)


def _open_conflict(existing: StockTake) -> Conflict:
    return Conflict(
        "stocktake_open",
        _("Stock-take #%(n)s is still open at this store: post or cancel it before starting another.") % {"n": existing.pk},
        "store", existing_id=existing.pk,
    )


# ---- services ----------------------------------------------------------------------------------------------------
def stocktake_start(*, actor: Any, store: Any, category: Any = "", bin_prefix: Any = "", note: str = "") -> StockTake:
    """Open a stock-take: one line per stock item of the store (in the category / bins given), with its on-hand now."""
    require(actor, "parts.add_stocktake")
    require_store(actor, store.pk)
    category, prefix = _clean_scope(category, bin_prefix)
    note = " ".join(str(note or "").split())[:300]
    from aftersales.stores.models import Store

    now = timezone.now()
    try:
        with transaction.atomic():
            Store.objects.select_for_update().get(pk=store.pk)  # one start at a time per store
            existing = StockTake.objects.filter(store_id=store.pk, status__in=ACTIVE_STATES).first()
            if existing is not None:
                raise _open_conflict(existing)
            items = StockItem.objects.filter(store_id=store.pk, part__is_active=True)
            if category:
                items = items.filter(part__category=category)
            if prefix:
                items = items.filter(bin_location__istartswith=prefix)
            snapshot = list(items.order_by("id").values_list("id", "on_hand"))
            if not snapshot:
                raise ValidationFailed(
                    "nothing_to_count", _("No stock items at this store match: nothing to count."),
                    "bin_prefix" if prefix else ("category" if category else "store"),
                )
            take = StockTake.objects.create(
                store_id=store.pk, category=category, bin_prefix=prefix, note=note, started_by=actor, started_at=now
            )
            StockTakeLine.objects.bulk_create(
                [StockTakeLine(stock_take=take, stock_item_id=item_id, system_qty=qty) for item_id, qty in snapshot],
                batch_size=2000,
            )
            PartsEvent.objects.create(stocktake=take, from_state="", to_state=StockTakeStatus.OPEN, actor=actor, at=now,
                                      reason=note)
            audit.record(actor=actor, obj=take, action="parts.stocktake_started", store_id=store.pk,
                         changes={"lines": [None, len(snapshot)], "category": [None, category], "bin_prefix": [None, prefix]})
    except IntegrityError:  # the partial unique index: started concurrently
        existing = StockTake.objects.filter(store_id=store.pk, status__in=ACTIVE_STATES).first()
        if existing is not None:
            raise _open_conflict(existing) from None
        raise
    return take


def stocktake_record_counts(
    *, actor: Any, stock_take: StockTake, lines: list[dict[str, Any]], finish: bool = False
) -> StockTake:
    """Save counts: ``lines=[{"line": id, "counted_qty": "3"}]`` (blank = not counted). All or nothing; an error
    names ``lines[n].counted_qty`` (n from 1, the position in ``lines``). ``finish`` marks the count as done."""
    require(actor, "parts.add_stocktake")
    require_store(actor, stock_take.store_id)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(stock_take)
        if locked.status not in ACTIVE_STATES:
            raise ValidationFailed(
                "stocktake_closed",
                _("This stock-take is “%(s)s”: counts can no longer be changed.") % {"s": locked.get_status_display()},
                "status",
            )
        own = {ln.pk: ln for ln in StockTakeLine.objects.filter(stock_take=locked).select_related("stock_item__part")}
        changed: list[StockTakeLine] = []
        seen: set[int] = set()
        for n, data in enumerate(lines, start=1):
            where = f"lines[{n}]"
            try:
                line = own.get(int(data.get("line")))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                line = None
            if line is None or line.pk in seen:
                raise ValidationFailed("line_unknown", _("This line is not on the stock-take."), f"{where}.line")
            seen.add(line.pk)
            qty = parse_count(data.get("counted_qty"), line.stock_item.part, f"{where}.counted_qty")
            if qty != line.counted_qty:
                line.counted_qty = qty
                line.counted_by = actor if qty is not None else None
                line.counted_at = now if qty is not None else None
                changed.append(line)
        if changed:
            StockTakeLine.objects.bulk_update(changed, ["counted_qty", "counted_by", "counted_at"])
            audit.record(actor=actor, obj=locked, action="parts.stocktake_counted", store_id=locked.store_id,
                         changes={"lines_changed": [None, len(changed)]})
        if finish and locked.status == StockTakeStatus.OPEN:
            if not StockTakeLine.objects.filter(stock_take=locked, counted_qty__isnull=False).exists():
                raise ValidationFailed("nothing_counted", _("Count at least one line before finishing."), "lines")
            _move(locked, StockTakeStatus.COUNTED, actor, at=now)
    return locked


def stocktake_post(*, actor: Any, stock_take: StockTake, reason: str = "") -> StockTake:
    """Book the differences: one STOCKTAKE movement of (counted − snapshot) per counted line that differs."""
    require(actor, "parts.change_stocktake")
    require_store(actor, stock_take.store_id)
    threshold = Decimal(str(settings.PARTS_ADJUSTMENT_APPROVAL_VALUE))
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(stock_take)
        if locked.status != StockTakeStatus.COUNTED:
            raise ValidationFailed(
                "stocktake_not_counted",
                _("Only a counted stock-take can be posted (this one is “%(s)s”).") % {"s": locked.get_status_display()},
                "status",
            )
        ordered = list(StockTakeLine.objects.filter(stock_take=locked).order_by(*SHEET_ORDER).values_list("id", flat=True))
        position = {pk: n for n, pk in enumerate(ordered, start=1)}
        todo = [
            ln for ln in StockTakeLine.objects.filter(stock_take=locked, counted_qty__isnull=False).order_by("stock_item_id")
            if ln.counted_qty != ln.system_qty
        ]
        # lock the stock items in id order (the same order as every other multi-item writer: no deadlock)
        items = {
            it.pk: it for it in StockItem.objects.select_for_update().select_related("part")
            .filter(pk__in=[ln.stock_item_id for ln in todo]).order_by("pk")
        }
        value = ZERO
        for ln in todo:
            item = items[ln.stock_item_id]
            diff = ln.counted_qty - ln.system_qty  # type: ignore[operator]
            if item.on_hand + diff < 0:
                raise ValidationFailed(
                    "stocktake_negative",
                    _("%(part)s: %(c)s counted, but %(m)s went out since the count started and only %(have)s are on "
                      "hand: posting would leave less than zero. Recount this line.") % {
                        "part": item.part.number, "c": _fmt(ln.counted_qty), "m": _fmt(ln.system_qty - item.on_hand),
                        "have": _fmt(item.on_hand)},
                    f"lines[{position[ln.pk]}].counted_qty",
                )
            value += abs(diff) * line_cost(item)
        if value > threshold and not actor.has_perm("parts.approve_adjustment"):
            raise Forbidden(
                "approval_required",
                _("The differences are worth %(v)s CNY, above the %(t)s CNY limit: a manager must post this stock-take.")
                % {"v": f"{value:.2f}", "t": f"{threshold:.2f}"},
                None,
            )
        label = coded(gettext_noop("Stock-take #%(n)s"), n=locked.pk)
        for ln in todo:
            item = items[ln.stock_item_id]
            before = item.on_hand
            ln.movement = record_movement(
                item=item, kind=MovementKind.STOCKTAKE, quantity=ln.counted_qty - ln.system_qty, actor=actor,  # type: ignore[operator]
                reason=coded(gettext_noop("Stock-take #%(n)s (counted %(q)s)"), n=locked.pk, q=_fmt(ln.counted_qty)), at=now,
            )
            audit.record(actor=actor, obj=ln.movement, action="stock.stocktake_difference", store_id=locked.store_id,
                         changes={"on_hand": [str(before), str(item.on_hand)]}, reason=label)
        if todo:
            StockTakeLine.objects.bulk_update(todo, ["movement"])
        locked.posted_by = actor
        locked.posted_at = now
        locked.save(update_fields=["posted_by", "posted_at"])
        _move(locked, StockTakeStatus.POSTED, actor, reason, at=now)
        audit.record(actor=actor, obj=locked, action="parts.stocktake_posted", store_id=locked.store_id, reason=reason,
                     changes={"differences": [None, len(todo)], "value": [None, f"{value:.2f}"]})
    return locked


def stocktake_cancel(*, actor: Any, stock_take: StockTake, reason: str = "") -> StockTake:
    require(actor, "parts.change_stocktake")
    require_store(actor, stock_take.store_id)
    reason = " ".join(str(reason or "").split())[:300]
    with transaction.atomic():
        locked = _lock(stock_take)
        _move(locked, StockTakeStatus.CANCELLED, actor, reason)
        audit.record(actor=actor, obj=locked, action="parts.stocktake_cancelled", store_id=locked.store_id, reason=reason)
    return locked


def _fmt(value: Any) -> str:
    value = Decimal(value)
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"
