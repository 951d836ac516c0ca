"""Unit shifts: is a unit on duty at an instant? Pure logic over the store's local time and its business calendar.

A shift belongs to the day it starts: a night shift 22:00–06:00 "on Fridays" covers Friday 22:00 to Saturday 06:00,
so at Saturday 02:00 the question is about Friday (yesterday). The business calendar (``stores.calendar``) decides
for the shifts that run on the store's business days, or on its weekends and holidays (a make-up workday is a
business day; a public holiday on a Monday is not). A unit with no shift at all is on duty round the clock (the
manual on/off-duty switch still applies)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.utils import timezone

from .choices import ShiftDays

WEEK_MINUTES = 7 * 1440


def runs_on(shift: Any, day: dt.date, business: Callable[[dt.date], bool]) -> bool:
    """Does the shift start on this local date?"""
    if shift.days == ShiftDays.WEEKDAYS:
        return day.weekday() in (shift.weekdays or [])
    if shift.days == ShiftDays.BUSINESS:
        return business(day)
    return not business(day)


def covers(shift: Any, local: dt.datetime, business: Callable[[dt.date], bool]) -> bool:
    """Is ``local`` (the store's local time) inside this shift?"""
    t = local.time().replace(tzinfo=None)
    today = local.date()
    if shift.ends > shift.starts:  # within one day
        return shift.starts <= t < shift.ends and runs_on(shift, today, business)
    # past midnight: the evening part belongs to today's shift, the early-morning part to yesterday's
    if t >= shift.starts:
        return runs_on(shift, today, business)
    if t < shift.ends:
        return runs_on(shift, today - dt.timedelta(days=1), business)
    return False


def shift_end(shift: Any, local: dt.datetime) -> dt.datetime:
    """When the shift covering ``local`` ends (local time)."""
    end = local.replace(hour=shift.ends.hour, minute=shift.ends.minute, second=0, microsecond=0)
    return end if end > local else end + dt.timedelta(days=1)


def business_days(store: Any) -> Callable[[dt.date], bool]:
    """The store's business calendar, memoised per date (each date asked of the database once)."""
    from aftersales.stores.calendar import is_business_day

    memo: dict[dt.date, bool] = {}

    def business(day: dt.date) -> bool:
        if day not in memo:
            memo[day] = is_business_day(store, day)
        return memo[day]

    return business


def current_shifts(store: Any, units: Iterable[Any], *, now: dt.datetime | None = None,
                   business: Callable[[dt.date], bool] | None = None) -> dict[int, Any]:
    """For each unit: the shift it is on now (a UnitShift), ``None`` when it has shifts but none now, or the string
    ``"always"`` when it has no shift at all (round the clock). Units should have their shifts prefetched."""
    local = timezone.localtime(now or timezone.now(), store.zone)
    business = business or business_days(store)
    result: dict[int, Any] = {}
    for unit in units:
        shifts = list(unit.shifts.all())
        if not shifts:
            result[unit.pk] = "always"
            continue
        result[unit.pk] = next((s for s in shifts if covers(s, local, business)), None)
    return result


def _windows(shift: Any) -> list[tuple[int, int]]:
    """The minutes of the week the shift may cover (business-calendar shifts: any day, the calendar decides)."""
    days = shift.weekdays if shift.days == ShiftDays.WEEKDAYS else range(7)
    start = shift.starts.hour * 60 + shift.starts.minute
    end = shift.ends.hour * 60 + shift.ends.minute
    length = end - start if end > start else end + 1440 - start
    out = []
    for d in days:
        lo = d * 1440 + start
        hi = lo + length
        if hi <= WEEK_MINUTES:
            out.append((lo, hi))
        else:  # Sunday night into Monday
            out += [(lo, WEEK_MINUTES), (0, hi - WEEK_MINUTES)]
    return out


def overlap(a: Any, b: Any) -> bool:
    """Could the two shifts ever run at the same time? (Business-day and weekend/holiday shifts never meet on the
    same starting day; across midnight they can.)"""
    if {a.days, b.days} == {ShiftDays.BUSINESS, ShiftDays.NON_BUSINESS}:
        # they start on different days, but a night shift of one may run into the next day's other
        a_night, b_night = a.ends <= a.starts, b.ends <= b.starts
        return (a_night and _minutes(a.ends) > _minutes(b.starts)) or (b_night and _minutes(b.ends) > _minutes(a.starts))
    return any(lo1 < hi2 and lo2 < hi1 for lo1, hi1 in _windows(a) for lo2, hi2 in _windows(b))


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute
