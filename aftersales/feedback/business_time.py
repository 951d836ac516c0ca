"""Business-time arithmetic on the store's calendar (aftersales.stores.calendar): opening periods per weekday,
public holidays (closed) and make-up workdays (open with Monday's hours).

SLA clocks only run while the store is open: 2 business hours asked at 17:00 on a Friday before a holiday
Monday fall due on Tuesday morning. Business days are the days the store opens (weekends too where it opens then).
Complaint contact runs 24 h of the clock and moves to the next opening when it falls while the store is closed.
A store with no opening hours at all is treated as always open (business days then are Monday–Friday).
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


def next_open(store: Any, moment: dt.datetime) -> dt.datetime:
    """``moment`` if the store is open then, else the next opening (a store without opening hours is always open)."""
    return add_business_seconds(store, moment, 0)


def add_business_days(store: Any, start: dt.datetime, days: int) -> dt.datetime:
    """The same local time ``days`` of the store's working days later: days it opens (its weekends included when it
    opens then; a holiday closed, a make-up workday open). A store without opening hours counts Monday–Friday."""
    local = start.astimezone(store.zone)
    if not _has_hours(store):
        target = calendar.add_business_days(store, local.date(), days)
    else:
        target, remaining = local.date(), days
        for _i in range(MAX_DAYS):
            if remaining <= 0:
                break
            target += dt.timedelta(days=1)
            if calendar.opening_periods(store, target):
                remaining -= 1
    return dt.datetime.combine(target, local.timetz().replace(tzinfo=None), tzinfo=store.zone).astimezone(dt.UTC)
