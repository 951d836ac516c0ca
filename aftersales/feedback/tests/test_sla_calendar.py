"""One business calendar per store for every SLA (SPEC §9 product rule): complaint contact 24 h of the clock,
moved to the next opening when it falls while the store is closed; suggestions 3 of the store's working days
(its weekends too when it opens then); acknowledgement and recovery in opening time."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from aftersales.common.tests.factories import StoreFactory
from aftersales.feedback.choices import TimerUnit
from aftersales.feedback.services import sla_due
from aftersales.stores.models import Holiday, OpeningPeriod

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: str, time: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=SH)


def store_open(days: range) -> object:
    store = StoreFactory()
    for weekday in days:
        OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(8, 30), closes=dt.time(18, 0))
    return store


def test_contact_at_a_store_open_at_weekends_is_24_hours_of_the_clock():
    store = store_open(range(7))
    _warn, due = sla_due(store, at("2026-11-20", "15:00"), 24, TimerUnit.CLOCK_HOURS)  # a Friday
    assert due == at("2026-11-21", "15:00")  # Saturday 15:00, not Monday 15:00 (the old 72 h)


def test_contact_falling_while_closed_moves_to_the_next_opening():
    store = store_open(range(5))
    _w, due = sla_due(store, at("2026-11-20", "15:00"), 24, TimerUnit.CLOCK_HOURS)  # Friday → Saturday, closed
    assert due == at("2026-11-23", "08:30")
    _w, due = sla_due(store, at("2026-11-17", "19:00"), 24, TimerUnit.CLOCK_HOURS)  # Tuesday after closing
    assert due == at("2026-11-19", "08:30")  # Wednesday 19:00 is closed: Thursday's opening
    Holiday.objects.create(store=store, date=dt.date(2026, 11, 18), kind="closed", name="holiday")
    _w, due = sla_due(store, at("2026-11-17", "10:00"), 24, TimerUnit.CLOCK_HOURS)
    assert due == at("2026-11-19", "08:30")


def test_suggestion_counts_the_days_the_store_opens():
    weekend_store = store_open(range(7))
    _w, due = sla_due(weekend_store, at("2026-11-20", "11:00"), 3, TimerUnit.BUSINESS_DAYS)  # Friday
    assert due == at("2026-11-23", "11:00")  # Saturday, Sunday, Monday
    weekday_store = store_open(range(5))
    _w, due = sla_due(weekday_store, at("2026-11-20", "11:00"), 3, TimerUnit.BUSINESS_DAYS)
    assert due == at("2026-11-25", "11:00")  # Monday, Tuesday, Wednesday
    Holiday.objects.create(store=weekday_store, date=dt.date(2026, 11, 22), kind="workday", name="make-up workday")  # a Sunday
    _w, due = sla_due(weekday_store, at("2026-11-20", "11:00"), 3, TimerUnit.BUSINESS_DAYS)
    assert due == at("2026-11-24", "11:00")  # the make-up Sunday counts


def test_acknowledgement_runs_in_opening_time():
    store = store_open(range(5))
    _w, due = sla_due(store, at("2026-11-20", "17:00"), 2, TimerUnit.BUSINESS_HOURS)
    assert due == at("2026-11-23", "09:30")


def test_a_complaint_contact_timer_is_planned_in_clock_hours():
    from aftersales.feedback.choices import CaseKind, TimerKind
    from aftersales.feedback.models import FeedbackSettings
    from aftersales.feedback.services import _timer_plan

    plan = _timer_plan(CaseKind.COMPLAINT, FeedbackSettings())
    assert (TimerKind.CONTACT, 24, TimerUnit.CLOCK_HOURS) in plan
