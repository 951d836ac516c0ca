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
from collections.abc import Iterable
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
        figures = BY_CODE[code].compute(scope)
        for s in stores:
            n, d = figures.get(s.pk, (ZERO, ZERO))
            out[s.pk][code] = [str(n), str(d)]
    return out


def rollup_days(days: Iterable[dt.date], *, now: dt.datetime | None = None, stores: list[Any] | None = None) -> int:
    """Recompute and store the rollups of ``days`` (never today or later: those are read raw). Returns rows written."""
    from .models import DailyRollup

    now = now or timezone.now()
    stores = stores if stores is not None else _stores()
    if not stores:
        return 0
    today = _today(stores, now)
    written = 0
    for day in sorted(set(days)):
        if day >= today:
            continue
        figures = compute_day(stores, day, now)
        with transaction.atomic():
            for s in stores:
                DailyRollup.objects.update_or_create(store=s, day=day, defaults={"values": figures[s.pk], "computed_at": now})
                written += 1
    return written


def rollup_recent(*, now: dt.datetime | None = None, days: int = RECENT_DAYS) -> int:
    now = now or timezone.now()
    stores = _stores()
    if not stores:
        return 0
    today = _today(stores, now)
    return rollup_days([today - dt.timedelta(days=i) for i in range(1, days + 1)], now=now, stores=stores)


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
    run = RollupReconcile.objects.create(started_at=now, first_day=first, last_day=last, checked=checked, missing=missing,
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
        return kpi.compute(scope.with_period(period))
    past_end = min(period.end, today)
    if not reader.covers(period.start, past_end):
        return kpi.compute(scope.with_period(period))
    figures = reader.figures(code, period.start, past_end)
    if period.end > today:
        figures = add(figures, kpi.compute(scope.with_period(Period("day", today))))
    return figures
