"""The store's business calendar: which local dates are business days, for business-day SLAs."""

from __future__ import annotations

import datetime as dt

from .models import Holiday, HolidayKind, OpeningPeriod, Store


def _business(day: dt.date, override: str | None) -> bool:
    return override == HolidayKind.WORKDAY if override is not None else day.weekday() < 5


def is_business_day(store: Store, day: dt.date) -> bool:
    return _business(day, Holiday.objects.filter(store=store, date=day).values_list("kind", flat=True).first())


def add_business_days(store: Store, start: dt.date, days: int) -> dt.date:
    """The local date ``days`` business days after ``start``."""
    overrides = dict(
        Holiday.objects.filter(store=store, date__gt=start, date__lte=start + dt.timedelta(days=days * 3 + 30))
        .values_list("date", "kind")
    )
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if _business(current, overrides.get(current)):
            remaining -= 1
    return current


def opening_periods(store: Store, day: dt.date) -> list[OpeningPeriod]:
    kind = Holiday.objects.filter(store=store, date=day).values_list("kind", flat=True).first()
    if kind == HolidayKind.CLOSED:
        return []
    weekday = day.weekday()
    if kind == HolidayKind.WORKDAY and weekday >= 5:
        weekday = 0  # a make-up workday follows Monday's hours
    return list(OpeningPeriod.objects.filter(store=store, weekday=weekday).order_by("opens"))
