"""Daily facts per advisor, technician, staff member and service type (issue 18): what the scorecards sum.

* :func:`write_days` recomputes given store-days with the scorecard's own functions (``scorecards.day_facts``: the
  same queries the raw scorecard runs, over one day) and replaces their rows in :class:`StaffDailyFact`, plus one
  marker row per store-day. Idempotent; two concurrent recomputes of one day leave one set of equal rows (the
  insert skips a row the other has just written).
* :func:`period_sums` is the scorecard's read: the facts of the period's past days summed in one grouped query, plus
  today's figures from the raw tables; ``None`` (read the raw tables) when a store-day of the period is not computed.
* Event-driven refresh: one batch handler subscribed to the domain events (``apps.py``, :func:`on_changes`: once
  per transaction with all its events) only **marks** the store-days the change can move (:class:`DirtyDay`, one
  row per store and day however many events, written with one ``INSERT … ON CONFLICT``); the Celery task
  ``aftersales.analytics.refresh_dirty`` (every minute) recomputes each marked store-day once, both the KPI
  rollups (``rollups.rollup_days``) and these facts, then the period rows of every period containing one of those
  days (``rollups.refresh_periods``: day, week, month, quarter, year; each period once per run, with the group's
  row), and clears the marks it has taken in. A day marked again while it was being recomputed stays marked.
* :func:`reconcile` (called by the nightly ``rollups.reconcile``) recomputes the last weeks from the raw tables,
  reports every figure that differed, and writes the recomputed ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from .kpis import ZERO, Scope
from .periods import Period

log = logging.getLogger(__name__)

USER_DIMENSIONS = ("advisor", "technician", "staff")
MARKER = "day"  # the marker row's dimension: the store-day is computed
PLACES = Decimal("0.000000000001")  # the column's 12 decimal places
SIX = Decimal("0.000001")

Sums = dict[tuple[str, str], dict[Any, tuple[Decimal, Decimal]]]


def _stores(ids: Iterable[int] | None = None) -> list[Any]:
    from aftersales.stores.models import Store

    qs = Store.objects.order_by("pk")
    return list(qs if ids is None else qs.filter(pk__in=list(ids)))


def _today(stores: list[Any], now: dt.datetime) -> dt.date:
    zone = stores[0].zone if stores else dt.UTC
    return now.astimezone(zone).date()


def compute_day(stores: list[Any], day: dt.date, now: dt.datetime) -> list[Any]:
    """The unsaved fact rows of ``day`` for ``stores`` (one scope of them all: a handful of grouped queries)."""
    from . import scorecards
    from .models import StaffDailyFact

    scope = Scope(stores, Period("day", day), now)
    rows = [StaffDailyFact(store_id=s.pk, day=day, dimension=MARKER, key="", code="", computed_at=now) for s in stores]
    for (dimension, code), pairs in scorecards.day_facts(scope).items():
        for (store_id, member), (n, d) in pairs.items():
            rows.append(StaffDailyFact(store_id=store_id, day=day, dimension=dimension, key=str(member), code=code,
                                       numerator=n.quantize(PLACES), denominator=d.quantize(PLACES), computed_at=now))
    return rows


def _write_facts(stores: list[Any], day: dt.date, now: dt.datetime) -> int:
    from .models import StaffDailyFact

    rows = compute_day(stores, day, now)
    with transaction.atomic():
        StaffDailyFact.objects.filter(store_id__in=[s.pk for s in stores], day=day).delete()
        StaffDailyFact.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(stores)


def write_days(days: Iterable[dt.date], *, now: dt.datetime | None = None, stores: list[Any] | None = None) -> int:
    """Recompute and store the facts of ``days`` (never today or later: those are read raw). Returns store-days."""
    from . import rollups

    return rollups.for_past_days(days, now, stores, _write_facts)


def period_sums(scope: Scope) -> Sums | None:
    """The day-additive scorecard components over the scope's period from the stored facts (past days) and the raw
    tables (today); None when a past store-day has no facts (the caller then reads the raw tables)."""
    from . import scorecards
    from .models import StaffDailyFact

    if not scope.stores:
        return None
    today = _today(scope.stores, scope.now)
    first, past_end = scope.period.start, min(scope.period.end, today)
    if first >= today:
        return None
    ids = [s.pk for s in scope.stores]
    rows = (StaffDailyFact.objects.filter(store_id__in=ids, day__gte=first, day__lt=past_end).order_by()
            .values("dimension", "key", "code")
            .annotate(n=Sum("numerator"), d=Sum("denominator"), c=Count("id")))
    out: Sums = {k: {} for k in scorecards.FACTS}
    marked = 0
    for row in rows:
        if row["dimension"] == MARKER:
            marked = row["c"]
            continue
        member: Any = int(row["key"]) if row["dimension"] in USER_DIMENSIONS else row["key"]
        out.setdefault((row["dimension"], row["code"]), {})[member] = (_dec(row["n"]), _dec(row["d"]))
    if marked != len(ids) * (past_end - first).days:
        return None
    if scope.period.end > today:
        for k, pairs in scorecards.day_facts(scope.with_period(Period("day", today))).items():
            target = out.setdefault(k, {})
            for member, (n, d) in scorecards.by_member(pairs).items():
                a, b = target.get(member, (ZERO, ZERO))
                target[member] = (a + n, b + d)
    return out


def _dec(value: Any) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, float):  # SQLite sums decimals as floats
        return Decimal(repr(value))
    return Decimal(value)


# ---- event-driven refresh --------------------------------------------------------------------------------------
def refresh_dirty(*, now: dt.datetime | None = None) -> int:
    """Recompute every marked store-day once (its KPI rollups and its staff facts), then clear the marks taken in
    (a mark renewed meanwhile stays). One scope per day for all its marked stores. Returns store-days recomputed."""
    from . import rollups
    from .models import DirtyDay

    now = now or timezone.now()
    taken = list(DirtyDay.objects.order_by("day", "store_id").values_list("pk", "store_id", "day", "marked_at"))
    if not taken:
        return 0
    by_day: dict[dt.date, set[int]] = {}
    for _pk, store_id, day, _at in taken:
        by_day.setdefault(day, set()).add(store_id)
    stores = {s.pk: s for s in _stores({st for _p, st, _d, _a in taken})}
    done = 0
    for day, ids in sorted(by_day.items()):
        members = [stores[i] for i in sorted(ids) if i in stores]
        rollups.rollup_days([day], now=now, stores=members)
        done += write_days([day], now=now, stores=members)
    # then the period rows (the day's own, its week, month, quarter and year) containing the recomputed days: each
    # period once for the run, however many of its days were marked
    rollups.refresh_periods({(st, day) for _pk, st, day, _at in taken if st in stores}, now=now)
    clear = Q(pk__in=[])
    for pk, _st, _day, at in taken:
        clear |= Q(pk=pk, marked_at=at)
    DirtyDay.objects.filter(clear).delete()
    return done


def on_changes(batch: list[Any]) -> None:
    """Every event one transaction published that can move a past day (a batch handler, ``apps.py``): OrderMoved,
    OrderDelivered, JobMoved (the order's check-in, delivery and invoice days), InvoicePaid, MoneyReturned (the days of
    the invoice's order), FollowUpAnswered (the answer's day and the order's days), CaseMoved (the due days of the
    case's SLA timers). One read per kind of source (a lane request: one query) and one ``INSERT … ON CONFLICT`` for
    all the store-days marked (none when every day is today: today is read from the raw tables)."""
    from aftersales.feedback.models import FollowUp, SlaTimer
    from aftersales.workshop.models import RepairOrder

    order_ids = {e.order_id for e in batch if getattr(e, "order_id", None)}
    invoice_ids = {e.invoice_id for e in batch if getattr(e, "invoice_id", None)}
    followup_ids = {e.followup_id for e in batch if getattr(e, "followup_id", None)}
    case_ids = {e.case_id for e in batch if getattr(e, "case_id", None)}
    moments: list[tuple[int, str, Any]] = []  # (store, its time zone, moment)
    if order_ids or invoice_ids:
        for store_id, zone, *when in RepairOrder.objects.filter(
                Q(pk__in=sorted(order_ids)) | Q(invoice__pk__in=sorted(invoice_ids))).values_list(
                "store_id", "store__time_zone", "opened_at", "delivered_at", "invoice__issued_at"):
            moments += [(store_id, zone, m) for m in when]
    if followup_ids:
        moments += FollowUp.objects.filter(pk__in=sorted(followup_ids)).values_list(
            "store_id", "store__time_zone", "answered_at")
    if case_ids:
        moments += SlaTimer.objects.filter(case_id__in=sorted(case_ids)).values_list(
            "case__store_id", "case__store__time_zone", "due_at")
    _mark_moments(moments)


def _mark_moments(moments: Iterable[tuple[int, str, Any]], *, now: dt.datetime | None = None) -> int:
    """Mark the store-days of (store, time zone, moment) before each store's today, in one statement."""
    import zoneinfo

    from .models import DirtyDay

    now = now or timezone.now()
    days: set[tuple[int, dt.date]] = set()
    zones: dict[str, Any] = {}
    for store_id, zone_name, moment in moments:
        if moment is None:
            continue
        zone = zones.get(zone_name) or zones.setdefault(zone_name, zoneinfo.ZoneInfo(zone_name))
        day = moment.astimezone(zone).date() if isinstance(moment, dt.datetime) else moment
        if day < now.astimezone(zone).date():
            days.add((store_id, day))
    if days:
        DirtyDay.objects.bulk_create([DirtyDay(store_id=s, day=d, marked_at=now) for s, d in sorted(days)],
                                     update_conflicts=True, unique_fields=["store", "day"], update_fields=["marked_at"])
    return len(days)


# ---- nightly reconcile -----------------------------------------------------------------------------------------
def _key(row: Any) -> tuple[int, str, str, str]:
    return (row.store_id, row.dimension, row.key, row.code)


def reconcile(stores: list[Any], first: dt.date, last: dt.date, now: dt.datetime, differences: list[dict[str, Any]]) -> int:
    """Recompute ``first``..``last`` from the raw tables, append each fact that differed from the stored one (to 6
    places) to ``differences``, and store the recomputed facts. Returns the store-days without facts."""
    from .models import StaffDailyFact

    missing = 0
    ids = [s.pk for s in stores]
    day = first
    while day <= last and stores:
        fresh = {_key(r): (r.numerator, r.denominator) for r in compute_day(stores, day, now)}
        stored = {_key(r): (Decimal(r.numerator), Decimal(r.denominator))
                  for r in StaffDailyFact.objects.filter(store_id__in=ids, day=day)}
        for s in stores:
            if (s.pk, MARKER, "", "") not in stored:
                missing += 1
        computed = {k[0] for k in stored if k[1] == MARKER}
        for k in sorted(set(fresh) | set(stored)):
            if k[0] not in computed:
                continue
            was, raw = stored.get(k), fresh.get(k)
            if was is None or raw is None or any(a.quantize(SIX) != b.quantize(SIX) for a, b in zip(was, raw, strict=True)):
                differences.append({"store": k[0], "day": day.isoformat(), "dimension": k[1], "key": k[2], "code": k[3],
                                    "stored": None if was is None else [str(x) for x in was],
                                    "raw": None if raw is None else [str(x) for x in raw]})
        write_days([day], now=now, stores=stores)
        day += dt.timedelta(days=1)
    return missing
