"""Daily KPI rollups (issue 18): for every store and local day, the numerator and denominator of each KPI that adds
up over days. The dashboard sums them for the days before today and computes only today (and the KPIs that do not
add up over days: repurchase, churn, win-back, first-service conversion, profit share, stock figures, productivity,
first-time fix and accuracy, which later events change) from the raw tables.

* :func:`rollup_days` recomputes the given days for every store (one scope of all stores per day, so each KPI is a
  handful of grouped queries per day whatever the number of stores) and upserts one row per store and day:
  idempotent, safe to run twice or concurrently (the unique constraint and ``update_or_create`` in a transaction).
* ``aftersales.analytics.rollup_recent`` (Celery beat, hourly) refreshes the last :data:`RECENT_DAYS` days up to
  yesterday, so late changes (a follow-up answered, a clock-on after check-in) are taken in within the hour.
* ``aftersales.analytics.reconcile`` (nightly) recomputes the last :data:`RECONCILE_DAYS` days from the raw tables,
  records every figure that differed from its rollup (a :class:`RollupReconcile` row, shown on the cockpit) and
  writes the recomputed figures.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from .kpis import BY_CODE, Figures, Scope
from .periods import Period

log = logging.getLogger(__name__)

ROLLUP_CODES: tuple[str, ...] = (
    "csat", "csat_attitude", "csat_quality", "csat_waiting", "csat_price", "nps", "waiting", "complaint_rate",
    "progress", "followup_sla", "case_sla", "efficiency", "labour_rate", "hours_per_order", "show_rate",
    "inspection_coverage", "acceptance",
    # rescue and damage assessment (issue 20): sums of minutes and counts per day, additive like the rest
    "rescue_response", "rescue_within_eta", "rescue_acceptance", "assessment_time", "assessment_reduction",
)
RECENT_DAYS = 7
RECONCILE_DAYS = 35
ZERO = Decimal(0)


def _stores() -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.order_by("pk"))


def _today(stores: list[Any], now: dt.datetime) -> dt.date:
    zone = stores[0].zone if stores else dt.UTC
    return now.astimezone(zone).date()


def compute_day(stores: list[Any], day: dt.date, now: dt.datetime) -> dict[int, dict[str, list[str]]]:
    """Every rollup figure of ``day`` for each store, straight from the raw tables."""
    scope = Scope(stores, Period("day", day), now)
    out: dict[int, dict[str, list[str]]] = {s.pk: {} for s in stores}
    for code in ROLLUP_CODES:
        figures = BY_CODE[code].compute_raw(scope)
        for s in stores:
            n, d = figures.get(s.pk, (ZERO, ZERO))
            out[s.pk][code] = [str(n), str(d)]
    return out


def for_past_days(days: Iterable[dt.date], now: dt.datetime | None, stores: list[Any] | None,
                  write: Callable[[list[Any], dt.date, dt.datetime], int]) -> int:
    """The driver of every per-day rebuild: ``write(stores, day, now)`` for each distinct day of ``days`` before
    today (today is always read from the raw tables), in date order, with all stores (default: every store) in one
    call per day. Returns the sum of what ``write`` returned."""
    now = now or timezone.now()
    stores = stores if stores is not None else _stores()
    if not stores:
        return 0
    today = _today(stores, now)
    return sum(write(stores, day, now) for day in sorted(set(days)) if day < today)


def _write_rollups(stores: list[Any], day: dt.date, now: dt.datetime) -> int:
    from .models import DailyRollup

    figures = compute_day(stores, day, now)
    with transaction.atomic():
        for s in stores:
            DailyRollup.objects.update_or_create(store=s, day=day, defaults={"values": figures[s.pk], "computed_at": now})
    return len(stores)


def rollup_days(days: Iterable[dt.date], *, now: dt.datetime | None = None, stores: list[Any] | None = None) -> int:
    """Recompute and store the rollups of ``days`` (never today or later: those are read raw). Returns rows written."""
    return for_past_days(days, now, stores, _write_rollups)


def rollup_recent(*, now: dt.datetime | None = None, days: int = RECENT_DAYS) -> int:
    now = now or timezone.now()
    stores = _stores()
    if not stores:
        return 0
    today = _today(stores, now)
    recent = [today - dt.timedelta(days=i) for i in range(0, days + 1)]
    written = rollup_days(recent, now=now, stores=stores)
    from . import facts

    facts.write_days(recent, now=now, stores=stores)  # the staff facts of the same days (events mark them sooner)
    rollup_periods(periods_of(recent), now=now, stores=stores)
    return written


def reconcile(*, now: dt.datetime | None = None, days: int = RECONCILE_DAYS) -> Any:
    """Recompute the last ``days`` days from the raw tables, record each difference from the stored rollups, then
    store the recomputed figures. Returns the :class:`RollupReconcile` row."""
    from .models import DailyRollup, RollupReconcile

    now = now or timezone.now()
    stores = _stores()
    today = _today(stores, now) if stores else now.date()
    first, last = today - dt.timedelta(days=days), today - dt.timedelta(days=1)
    stored = {(r.store_id, r.day): r.values for r in DailyRollup.objects.filter(day__gte=first, day__lte=last)}
    differences: list[dict[str, Any]] = []
    checked = missing = 0
    day = first
    while day <= last and stores:
        fresh = compute_day(stores, day, now)
        with transaction.atomic():
            for s in stores:
                checked += 1
                old = stored.get((s.pk, day))
                if old is None:
                    missing += 1
                else:
                    for code, pair in fresh[s.pk].items():
                        was = old.get(code)
                        if was is None or Decimal(was[0]) != Decimal(pair[0]) or Decimal(was[1]) != Decimal(pair[1]):
                            differences.append({"store": s.pk, "day": day.isoformat(), "code": code, "stored": was, "raw": pair})
                DailyRollup.objects.update_or_create(store=s, day=day, defaults={"values": fresh[s.pk], "computed_at": now})
        day += dt.timedelta(days=1)
    # then the period rows of those days (and today's periods), each figure that changed reported beside the days'
    if stores:
        rollup_periods(periods_of([first + dt.timedelta(days=i) for i in range((today - first).days + 1)]), now=now,
                       stores=stores, differences=differences)
    # the staff and service-type facts of the same days (each difference names its dimension and member)
    from . import facts

    facts_missing = facts.reconcile(stores, first, last, now, differences)
    run = RollupReconcile.objects.create(started_at=now, first_day=first, last_day=last, checked=checked, missing=missing,
                                         facts_missing=facts_missing,
                                         differences=differences)
    if differences:
        log.warning("rollup reconcile %s–%s: %d figures differed from the raw tables", first, last, len(differences))
    return run


# ---- reading ---------------------------------------------------------------------------------------------------
class RollupReader:
    """The rollups of a scope's stores over a range of days, loaded in one query, summed per period."""

    def __init__(self, stores: list[Any], first: dt.date, last: dt.date) -> None:
        from .models import DailyRollup

        self.stores = stores
        self.rows: dict[tuple[int, dt.date], dict[str, list[str]]] = {
            (store_id, day): values
            for store_id, day, values in DailyRollup.objects.filter(
                store_id__in=[s.pk for s in stores], day__gte=first, day__lte=last).values_list("store_id", "day", "values")
        }

    def covers(self, first: dt.date, end: dt.date) -> bool:
        """Whether every store has a rollup for every day of ``[first, end)``."""
        day = first
        while day < end:
            if any((s.pk, day) not in self.rows for s in self.stores):
                return False
            day += dt.timedelta(days=1)
        return True

    def figures(self, code: str, first: dt.date, end: dt.date) -> Figures:
        out: Figures = {}
        for s in self.stores:
            n = d = ZERO
            day = first
            while day < end:
                pair = self.rows[(s.pk, day)].get(code)
                if pair:
                    n += Decimal(pair[0])
                    d += Decimal(pair[1])
                day += dt.timedelta(days=1)
            out[s.pk] = (n, d)
        out[None] = (sum((v[0] for v in out.values()), ZERO), sum((v[1] for v in out.values()), ZERO))
        return out


def add(a: Figures, b: Figures) -> Figures:
    keys = set(a) | set(b)
    return {k: (a.get(k, (ZERO, ZERO))[0] + b.get(k, (ZERO, ZERO))[0], a.get(k, (ZERO, ZERO))[1] + b.get(k, (ZERO, ZERO))[1])
            for k in keys}


def period_figures(code: str, scope: Scope, period: Period, reader: RollupReader | None, today: dt.date) -> Figures:
    """A KPI over ``period``: the rollups of its days before today plus today's raw figure; the raw tables for the
    whole period when a rollup is missing (or the KPI does not add up over days)."""
    kpi = BY_CODE[code]
    if reader is None or code not in ROLLUP_CODES or period.start >= today:
        return kpi.compute(scope.with_period(period))  # (repurchase: from the period rows where they exist)
    past_end = min(period.end, today)
    if not reader.covers(period.start, past_end):
        return kpi.compute(scope.with_period(period))
    figures = reader.figures(code, period.start, past_end)
    if period.end > today:
        figures = add(figures, kpi.compute(scope.with_period(Period("day", today))))
    return figures


# ---- period rollups: every dashboard figure per store and per group, per period -----------------------------------
PERIOD_KINDS = ("day", "week", "month", "quarter", "year")
LIVE_CODES = ("profit_share", "stale_stock")  # composed when read: imported gross profit and the stock now
GP_PARTS = ("gp_revenue", "gp_parts_cost", "gp_labour_hours")
BASELINE = "waiting_baseline"
MEMBERS = "stores"  # the group row: the stores it was computed over
FRESH = dt.timedelta(minutes=15)  # a current period's row older than this is not used (the raw tables are read)


def _by_group(stores: list[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for s in stores:
        out.setdefault(s.group_id, []).append(s)
    return out


def _pair(figures: Figures, key: int | None) -> list[str]:
    n, d = figures.get(key, (ZERO, ZERO))
    return [str(n), str(d)]


class _UnitRate:
    """Settings that make the gross profit's labour cost come out in hours (the rate is applied when read)."""

    labour_cost_per_hour = Decimal(1)
    waiting_baseline = None


def compute_periods(stores: list[Any], periods: list[Period], now: dt.datetime) -> dict[Period, dict[int | None, dict[str, list[str]]]]:
    """The period rows of one group's stores (key ``None``: the group as a whole) for each period: additive KPIs
    from the daily rollups where they cover the past days (today from the raw tables, computed once), the others
    from the raw tables over the period."""
    from . import kpis
    from .kpis import KPIS

    today = _today(stores, now)
    first = min(p.start for p in periods)
    reader = RollupReader(stores, first, today - dt.timedelta(days=1)) if first < today else None
    bare = Scope(stores, periods[0], now, {})
    todays: dict[str, Figures] = {}
    base = kpis.waiting_baseline(bare)
    out: dict[Period, dict[int | None, dict[str, list[str]]]] = {}
    keys: list[int | None] = [*(s.pk for s in stores), None]
    for period in periods:
        scope = bare.with_period(period)
        values: dict[int | None, dict[str, list[str]]] = {k: {} for k in keys}
        for kpi in KPIS:
            if kpi.code in LIVE_CODES:
                continue
            figures = _figures_for(kpi.code, scope, period, reader, today, todays)
            for k in keys:
                values[k][kpi.code] = _pair(figures, k)
        gp = kpis.aftersales_gross_profit(Scope(stores, period, now, {s.pk: _UnitRate() for s in stores}))
        for k in keys:
            row = gp.get(k) or {}
            values[k]["gp_revenue"] = [str(row.get("revenue", ZERO)), "1"]
            values[k]["gp_parts_cost"] = [str(row.get("parts_cost", ZERO)), "1"]
            values[k]["gp_labour_hours"] = [str(row.get("labour_cost", ZERO)), "1"]
            if k is not None:
                values[k][BASELINE] = _pair(base, k) if k in base else []
            else:
                values[k][MEMBERS] = sorted(s.pk for s in stores)  # type: ignore[assignment]
        out[period] = values
    return out


def _figures_for(code: str, scope: Scope, period: Period, reader: RollupReader | None, today: dt.date,
                 todays: dict[str, Figures]) -> Figures:
    kpi = BY_CODE[code]
    if reader is None or code not in ROLLUP_CODES or period.start >= today or not reader.covers(period.start, min(period.end, today)):
        return kpi.compute_raw(scope)  # the period rows are written from the raw tables, never from themselves
    figures = reader.figures(code, period.start, min(period.end, today))
    if period.end > today:
        if code not in todays:
            todays[code] = kpi.compute(scope.with_period(Period("day", today)))
        figures = add(figures, todays[code])
    return figures


def periods_of(days: Iterable[dt.date], kinds: Iterable[str] = PERIOD_KINDS) -> list[Period]:
    """Every period of ``kinds`` that contains one of ``days``."""
    out: set[Period] = set()
    for day in days:
        for kind in kinds:
            out.add(Period.containing(kind, day))
    return sorted(out, key=lambda p: (p.start, PERIOD_KINDS.index(p.kind)))


def rollup_periods(periods: Iterable[Period], *, now: dt.datetime | None = None, stores: list[Any] | None = None,
                   differences: list[dict[str, Any]] | None = None) -> int:
    """Recompute and store the period rows of ``periods`` (never one that starts after today) for every store and
    group; with ``differences`` given, every figure that changed is appended to it. Returns rows written."""
    from .models import PeriodRollup

    now = now or timezone.now()
    stores = stores if stores is not None else _stores()
    if not stores:
        return 0
    today = _today(stores, now)
    wanted = [p for p in periods if p.start <= today]
    written = 0
    for group_id, members in _by_group(stores).items():
        for i in range(0, len(wanted), 40):
            chunk = wanted[i:i + 40]
            computed = compute_periods(members, chunk, now)
            old: dict[tuple[int | None, str, dt.date], dict[str, Any]] = {}
            if differences is not None:
                old = {(r.store_id, r.kind, r.start): r.values for r in PeriodRollup.objects.filter(
                    group_id=group_id, kind__in={p.kind for p in chunk}, start__in={p.start for p in chunk})}
            with transaction.atomic():
                for period, by_key in computed.items():
                    for key, values in by_key.items():
                        if differences is not None:
                            was = old.get((key, period.kind, period.start))
                            for code, pair in values.items():
                                stored = None if was is None else was.get(code)
                                if was is not None and (stored is None or _rounded(stored) != _rounded(pair)):
                                    differences.append({"store": key, "group": group_id, "kind": period.kind, "day": period.start.isoformat(),
                                                        "code": code, "stored": stored, "raw": pair})
                        PeriodRollup.objects.update_or_create(  # type: ignore[misc]
                            store_id=key, group_id=group_id, kind=period.kind, start=period.start,
                            defaults={"values": values, "computed_at": now})
                        written += 1
    return written


def _rounded(pair: list[Any]) -> list[Decimal]:
    """A pair compared to 6 places: a period's sum of days and its raw figure may differ in the 12th digit (ex-VAT
    amounts are divided per line), which is no difference."""
    return [Decimal(x).quantize(Decimal("0.000001")) for x in pair]


def refresh_periods(store_days: Iterable[tuple[int, dt.date]], *, now: dt.datetime | None = None) -> int:
    """The period rows of every period containing one of the ``(store id, day)`` pairs (a changed store-day moves the
    week, month, quarter and year it belongs to, and the day's own row), each period once, computed for every store
    of the store's dealer group: the group's own row counts all of them (distinct customers), so it is recomputed
    over the whole group whichever store changed. Returns rows written."""
    now = now or timezone.now()
    days_of: dict[int, set[dt.date]] = {}
    for store_id, day in store_days:
        days_of.setdefault(store_id, set()).add(day)
    if not days_of:
        return 0
    written = 0
    for _group_id, members in _by_group(_stores()).items():
        days = {d for s in members for d in days_of.get(s.pk, ())}
        if days:
            written += rollup_periods(periods_of(days), now=now, stores=members)
    return written


def rollup_current(*, now: dt.datetime | None = None) -> int:
    """The periods that contain today (each kind), every few minutes: the dashboard's current figures."""
    now = now or timezone.now()
    stores = _stores()
    if not stores:
        return 0
    return rollup_periods(periods_of([_today(stores, now)]), now=now, stores=stores)


class PeriodReader:
    """The period rows the dashboard needs, loaded in one query: per store, and the group's own row when the scope
    is a whole dealer group. A past period's row is used whatever its age (the nightly reconcile keeps it right); a
    current period's only when refreshed within :data:`FRESH`. ``figures`` is None where a row is missing."""

    def __init__(self, scope: Scope, periods: list[Period], today: dt.date) -> None:
        from django.db.models import Q

        from .models import PeriodRollup

        self.scope = scope
        self.today = today
        store_ids = [s.pk for s in scope.stores]
        group_ids = {s.group_id for s in scope.stores}
        # the group's row counts the distinct customers of the whole group: used only when the scope is all of it
        self.group_id: int | None = next(iter(group_ids)) if len(store_ids) > 1 and len(group_ids) == 1 else None
        where = Q(store_id__in=store_ids)
        if self.group_id is not None:
            where |= Q(store__isnull=True, group_id=self.group_id)
        q = PeriodRollup.objects.filter(where, kind=periods[0].kind, start__in=[p.start for p in periods])
        self.rows: dict[tuple[int | None, dt.date], tuple[dict[str, list[str]], dt.datetime]] = {
            (store_id, start): (values, at) for store_id, start, values, at in q.values_list("store_id", "start", "values", "computed_at")}

    def values(self, period: Period) -> dict[int | None, dict[str, list[str]]] | None:
        keys: list[int | None] = [s.pk for s in self.scope.stores]
        if len(self.scope.stores) > 1:
            if self.group_id is None:
                return None
            keys.append(None)
        out: dict[int | None, dict[str, list[str]]] = {}
        for key in keys:
            found = self.rows.get((key, period.start))
            if found is None:
                return None
            values, at = found
            if period.end > self.today and at < self.scope.now - FRESH:
                return None
            if key is None and values.get(MEMBERS) != sorted(keys[:-1]):  # type: ignore[type-var]
                return None  # the group's row was computed over other stores than the scope's
            out[key] = values
        return out


def stored_figures(code: str, scope: Scope) -> Figures | None:
    """``code``'s figures for the scope's period from the period rows (as the dashboard reads them: every store's
    row, the group's own row when the scope is a whole group, a current period's only when fresh); None when the
    period is not rolled up (the caller reads the raw tables)."""
    if not scope.stores:
        return None
    today = _today(scope.stores, scope.now)
    if scope.period.start > today:
        return None
    values = PeriodReader(scope, [scope.period], today).values(scope.period)
    if values is None or any(code not in row for row in values.values()):
        return None
    figures = figures_from(values, code)
    if None not in figures:  # one store: the scope's figure is the store's
        figures[None] = figures[scope.stores[0].pk]
    return figures


def figures_from(values: dict[int | None, dict[str, list[str]]], code: str) -> Figures:
    out: Figures = {}
    for key, row in values.items():
        pair = row.get(code)
        if pair:
            out[key] = (Decimal(pair[0]), Decimal(pair[1]))
    return out
