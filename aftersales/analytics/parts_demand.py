"""Parts demand per part and store for the next 12 weeks, and the suggested reorder minimum it gives (issue 18).

Demand is the parts going out of a store's stock per local day: issues to jobs and sales to customers, less returns
from jobs (the ledger, ``parts.StockMovement``). Each part's daily series is forecast exactly as the workshop demand
(:func:`forecast.forecast_series`: seasonal naive as the baseline, Holt-Winters with the Chinese calendar's holidays
and make-up days where the history is long enough and it beats the baseline on the last 28 days held out).

The suggested minimum, for a protection period ``P = L + R`` days (``L`` the lead time, ``R`` = 1 the review period
of the nightly reorder sweep)::

    demand over P  = the forecast demand of the next P days (from tomorrow)
    σ (per day)    = 1.25 × the back-test MAE of the method used (the normal errors' σ from their MAE);
                     without a back-test (under 5 weeks of history) the standard deviation of the daily history
    safety stock   = z × σ × √P                          (z = PARTS_SAFETY_Z, 1.65: a 95 % cycle service level)
    suggested min  = ⌈demand over P + safety stock⌉       (whole units): the reorder point
    demand over R  = the forecast demand of the R days after P (the review cycle the next order must last)
    suggested max  = suggested min + ⌈demand over R⌉      (the order-up-to level the sweep orders up to)

The lead time is the stock item's own, else the part's default supplier's, else ``PARTS_DEFAULT_LEAD_TIME_DAYS``.

Computed nightly (``aftersales.analytics.parts_demand`` at 02:40 Asia/Shanghai, or ``aftersales parts-demand``), one
row per stock item with demand (``MinLevelSuggestion``): the open rows of the store are superseded. A parts clerk or
manager (``parts.change_stockitem``) accepts rows: the stock item's minimum and maximum are written through
``parts.purchasing.stock_minimums_set`` (audited), all or nothing, refused when the suggestion is no longer open or
the minimum or maximum changed since it was computed.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import forecast

HISTORY_DAYS = 2 * 364
WEEKS = 12
REVIEW_DAYS = 1  # the reorder sweep runs every night
SIGMA_PER_MAE = 1.25
MAX_ACCEPT = 1000


def safety_z() -> float:
    return float(getattr(settings, "PARTS_SAFETY_Z", 1.65))


def default_lead_time() -> int:
    return int(getattr(settings, "PARTS_DEFAULT_LEAD_TIME_DAYS", 7))


@dataclass
class Suggestion:
    weekly: list[float]
    lead_demand: Decimal
    safety_stock: Decimal
    suggested_min: Decimal
    sigma: float
    review_demand: Decimal = Decimal("0.00")
    suggested_max: Decimal = Decimal("0.00")


def _q(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def suggest(result: forecast.SeriesForecast, history: Sequence[float], lead_days: int, z: float | None = None) -> Suggestion:
    """The pure formula (module docstring) on a forecast whose ``values`` start tomorrow."""
    z = safety_z() if z is None else z
    period = lead_days + REVIEW_DAYS
    values = result.values
    weekly = [sum(values[w * 7:(w + 1) * 7]) for w in range(WEEKS)]
    lead = sum(values[:period])
    review = sum(values[period:period + REVIEW_DAYS])
    used = result.model if result.method == "ets" else result.baseline
    if used is not None and used.mae is not None:
        sigma = SIGMA_PER_MAE * used.mae
    else:
        sigma = statistics.pstdev(history) if len(history) > 1 else 0.0
    safety = z * sigma * math.sqrt(period)
    if not any(v > 0 for v in history):
        return Suggestion(weekly, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 0.0)
    total = math.ceil(round(lead + safety, 6))
    up_to = total + math.ceil(round(review, 6))
    return Suggestion(weekly, _q(lead), _q(safety), Decimal(total).quantize(Decimal("0.01")), sigma,
                      _q(review), Decimal(up_to).quantize(Decimal("0.01")))


def lead_time(item: Any) -> tuple[int, str]:
    """The stock item's lead time, else its part's default supplier's, else the setting."""
    if item.lead_time_days is not None:
        return int(item.lead_time_days), "item"
    supplier = getattr(item.part, "default_supplier", None)
    if supplier is not None:
        return int(supplier.lead_time_days), "supplier"
    return default_lead_time(), "default"


LEAD_SOURCES = {"item": gettext_noop("this store's item"), "supplier": gettext_noop("the supplier's"),
                "default": gettext_noop("the default")}


def store_issue_history(store: Any, first: dt.date, last: dt.date) -> dict[int, dict[dt.date, float]]:
    """{part id: {local day: units out}}: issues and sales less returns, one grouped query."""
    from django.db.models import Sum
    from django.db.models.functions import TruncDate

    from aftersales.parts.choices import MovementKind
    from aftersales.parts.models import StockMovement

    zone = store.zone
    a = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    b = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    rows = (StockMovement.objects.filter(store=store, at__gte=a, at__lt=b,
                                         kind__in=(MovementKind.ISSUE, MovementKind.SALE, MovementKind.RETURN))
            .annotate(day=TruncDate("at", tzinfo=zone)).order_by().values("part_id", "day").annotate(q=Sum("quantity")))
    out: dict[int, dict[dt.date, float]] = {}
    for row in rows:
        out.setdefault(row["part_id"], {})[row["day"]] = -float(row["q"] or 0)
    return out


def compute_store(store: Any, now: dt.datetime | None = None) -> int:
    """Recompute the suggestions of one store (the open ones superseded); returns the number written."""
    from aftersales.parts.models import StockItem

    from .models import MinLevelSuggestion

    now = now or timezone.now()
    today = now.astimezone(store.zone).date()
    last = today - dt.timedelta(days=1)
    raw = store_issue_history(store, today - dt.timedelta(days=HISTORY_DAYS), last)
    seen = [d for series in raw.values() for d in series]
    start = min(seen) if seen else last
    days = [start + dt.timedelta(days=i) for i in range((last - start).days + 1)]
    items = (StockItem.objects.filter(store=store, part_id__in=list(raw), part__is_active=True)
             .select_related("part", "part__default_supplier").order_by("part__number"))
    rows = []
    for item in items:
        series = raw[item.part_id]
        history = [max(series.get(d, 0.0), 0.0) for d in days]
        if not any(v > 0 for v in history):
            continue
        lead_days, source = lead_time(item)
        horizon = max(WEEKS * 7, lead_days + 2 * REVIEW_DAYS)
        future = [today + dt.timedelta(days=i + 1) for i in range(horizon)]
        result = forecast.forecast_series(days, history, future)
        s = suggest(result, history, lead_days)
        rows.append(MinLevelSuggestion(
            store=store, part_id=item.part_id, stock_item=item, computed_on=today,
            weekly=[round(v, 2) for v in s.weekly], method=result.method,
            model_mae=result.model.mae if result.model else None, model_mape=result.model.mape if result.model else None,
            baseline_mae=result.baseline.mae if result.baseline else None,
            baseline_mape=result.baseline.mape if result.baseline else None,
            history_days=result.history_days, lead_time_days=lead_days, lead_time_source=source,
            lead_demand=s.lead_demand, safety_stock=s.safety_stock, suggested_min=s.suggested_min,
            current_min=item.min_qty, review_demand=s.review_demand, suggested_max=s.suggested_max,
            current_max=item.max_qty,
        ))
    with transaction.atomic():
        MinLevelSuggestion.objects.filter(store=store, status=MinLevelSuggestion.Status.OPEN).update(
            status=MinLevelSuggestion.Status.SUPERSEDED)
        MinLevelSuggestion.objects.bulk_create(rows)
    return len(rows)


def compute_all(now: dt.datetime | None = None) -> dict[str, int]:
    from aftersales.stores.models import Store

    written = {}
    for store in Store.objects.filter(is_active=True).order_by("pk"):
        written[store.code] = compute_store(store, now)
    return written


# ---- reading and accepting ------------------------------------------------------------------------------------
def suggestions_for(*, user: Any, store: Any, changed_only: bool = True) -> list[Any]:
    """The open suggestions of a store the user works at (``parts.view_purchaserequisition``: the reorder screen's
    readers), the ones differing from the current minimum first (by how much stock they add or free)."""
    from aftersales.common.permissions import require, require_store

    from .models import MinLevelSuggestion

    require(user, "parts.view_purchaserequisition")
    require_store(user, store.pk)
    rows: list[Any] = list(MinLevelSuggestion.objects.filter(store=store, status=MinLevelSuggestion.Status.OPEN)
                .select_related("part", "stock_item").order_by("part__number"))
    for r in rows:
        r.live_min = r.stock_item.min_qty
        r.live_max = r.stock_item.max_qty
        r.stale = r.live_min != r.current_min or (r.current_max is not None and r.live_max != r.current_max)
        r.delta = r.suggested_min - r.live_min
        r.lead_source_label = _(LEAD_SOURCES.get(r.lead_time_source, r.lead_time_source))
        r.total = round(sum(r.weekly), 1)
    if changed_only:
        rows = [r for r in rows if r.delta != 0]
    rows.sort(key=lambda r: (-abs(r.delta), r.part.number))
    return rows


def suggestions_accept(*, actor: Any, ids: Sequence[int], now: dt.datetime | None = None) -> list[Any]:
    """Accept open suggestions: each stock item's minimum and order-up-to maximum become the suggested ones (all or
    nothing). A suggestion of a store the actor does not work at is a 404; one no longer open, or whose item's
    minimum or maximum changed since, a 409."""
    from aftersales.common.errors import Conflict, NotFound, ValidationFailed
    from aftersales.common.permissions import require
    from aftersales.common.readtime import coded
    from aftersales.common.scoping import visible_store_ids
    from aftersales.parts.purchasing import stock_minimums_set

    from .models import MinLevelSuggestion

    require(actor, "parts.change_stockitem")
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        raise ValidationFailed("nothing_selected", _("Select at least one row."), "ids")
    if len(wanted) > MAX_ACCEPT:
        raise ValidationFailed("too_many", _("At most %(n)s rows at once.") % {"n": MAX_ACCEPT}, "ids")
    with transaction.atomic():
        found = {s.pk: s for s in MinLevelSuggestion.objects.select_for_update(of=("self",)).select_related("part")
                 .filter(pk__in=wanted, store_id__in=visible_store_ids(actor)).order_by("pk")}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound("not_found", _("Not found, or not visible to you."), "ids", missing=missing)
        for pk in wanted:
            s = found[pk]
            if s.status != MinLevelSuggestion.Status.OPEN:
                raise Conflict("suggestion_stale", _("The suggestion for %(part)s is no longer current (accepted or "
                                                     "recomputed): refresh the page.") % {"part": s.part}, "ids")
        stock_minimums_set(
            actor=actor, changes=[(found[pk].stock_item_id, found[pk].current_min, found[pk].suggested_min) for pk in wanted],
            maxima={found[pk].stock_item_id: (found[pk].current_max, found[pk].suggested_max) for pk in wanted
                    if found[pk].suggested_max is not None and found[pk].current_max is not None},
            reason=coded(gettext_noop("Suggested minimum from the demand forecast of %(day)s"),
                         day=found[wanted[0]].computed_on.isoformat()),
        )
        at = now or timezone.now()
        MinLevelSuggestion.objects.filter(pk__in=wanted).update(status=MinLevelSuggestion.Status.ACCEPTED,
                                                                decided_by=actor, decided_at=at)
    return [found[pk] for pk in wanted]
