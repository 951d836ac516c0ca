"""Business-time arithmetic on the store's calendar (aftersales.stores.calendar): opening periods per weekday,
public holidays (closed) and make-up workdays (open with Monday's hours).

SLA clocks only run while the store is open: 2 business hours asked at 17:00 on a Friday before a holiday
Monday fall due on Tuesday morning. A store with no opening hours at all is treated as always open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aftersales.stores import calendar
from aftersales.stores.models import OpeningPeriod

MAX_DAYS = 400


def _has_hours(store: Any) -> bool:
    cached = getattr(store, "_feedback_has_hours", None)
    if cached is None:
        cached = OpeningPeriod.objects.filter(store=store).exists()
        store._feedback_has_hours = cached
    return bool(cached)


def periods(store: Any, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The store's open periods on a local date, as aware datetimes."""
    zone = store.zone
    return [
        (dt.datetime.combine(day, p.opens, tzinfo=zone), dt.datetime.combine(day, p.closes, tzinfo=zone))
        for p in calendar.opening_periods(store, day)
    ]


def add_business_seconds(store: Any, start: dt.datetime, seconds: float) -> dt.datetime:
    """The moment ``seconds`` of opening time after ``start``."""
    if not _has_hours(store):
        return start + dt.timedelta(seconds=seconds)
    remaining = dt.timedelta(seconds=max(0.0, seconds))
    day = start.astimezone(store.zone).date()
    for _i in range(MAX_DAYS):
        for opens, closes in periods(store, day):
            if closes <= start:
                continue
            begin = max(start, opens)
            if remaining <= closes - begin:
                return (begin + remaining).astimezone(dt.UTC)
            remaining -= closes - begin
        day += dt.timedelta(days=1)
    return start + remaining


def business_seconds_between(store: Any, a: dt.datetime, b: dt.datetime) -> float:
    """Opening time between two moments (0 if ``b`` is not after ``a``)."""
    if b <= a:
        return 0.0
    if not _has_hours(store):
        return (b - a).total_seconds()
    total = 0.0
    day = a.astimezone(store.zone).date()
    last = b.astimezone(store.zone).date()
    while day <= last:
        for opens, closes in periods(store, day):
            lo, hi = max(a, opens), min(b, closes)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += dt.timedelta(days=1)
    return total


def add_business_days(store: Any, start: dt.datetime, days: int) -> dt.datetime:
    """The same local time ``days`` business days later (a make-up workday counts, a holiday does not)."""
    local = start.astimezone(store.zone)
    target = calendar.add_business_days(store, local.date(), days)
    return dt.datetime.combine(target, local.timetz().replace(tzinfo=None), tzinfo=store.zone).astimezone(dt.UTC)
