"""Unit shifts (issue 20): on duty by the store's local time and business calendar, across midnight; dispatch
suggests only units on shift; the shift editor refuses bad input naming every field, and overlaps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.rescue import selectors, services
from aftersales.rescue.choices import ShiftDays
from aftersales.rescue.models import RescueCase, UnitShift
from aftersales.rescue.shifts import covers, overlap

from .conftest import CAR

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _next(weekday: int, hh: int, mm: int = 0) -> dt.datetime:
    """The next local date (Asia/Shanghai) with this weekday, at hh:mm, computed inside the test (any clock)."""
    today = timezone.localdate()
    day = today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7)
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=SHANGHAI)


def _night(r, unit, weekdays=(4,), crew=None):
    # a night shift 22:00–06:00 starting on Fridays
    return services.shift_save(actor=r.world.manager, unit=unit, days=ShiftDays.WEEKDAYS, weekdays=list(weekdays),
                               starts="22:00", ends="06:00", crew=crew or [])


def test_a_night_shift_runs_past_midnight_and_belongs_to_the_day_it_starts(rescue):
    shift = _night(rescue, rescue.van)
    never = lambda _d: True  # noqa: E731 - the calendar is not asked for a weekdays shift
    fri, sat = _next(4, 0), _next(5, 0)
    assert not covers(shift, fri.replace(hour=21, minute=59), never)
    assert covers(shift, fri.replace(hour=22), never)
    assert covers(shift, fri.replace(hour=23, minute=59), never)
    assert covers(shift, sat.replace(hour=0), never)  # Saturday 00:00 is still Friday's shift
    assert covers(shift, sat.replace(hour=5, minute=59), never)
    assert not covers(shift, sat.replace(hour=6), never)
    assert not covers(shift, sat.replace(hour=23), never)  # Saturday evening: no shift starts on Saturday
    assert not covers(shift, fri.replace(hour=3), never)  # Friday 03:00 would be Thursday's shift


def test_sunday_night_runs_into_monday(rescue):
    shift = _night(rescue, rescue.van, weekdays=(6,))
    assert covers(shift, _next(0, 2), lambda _d: True)
    assert not covers(shift, _next(0, 23), lambda _d: True)


def test_business_day_shifts_follow_the_store_calendar(rescue, world):
    from aftersales.stores.models import Holiday, HolidayKind

    day_shift = services.shift_save(actor=world.manager, unit=rescue.van, days=ShiftDays.BUSINESS, starts="08:00", ends="20:00")
    standby = services.shift_save(actor=world.manager, unit=rescue.tow, days=ShiftDays.NON_BUSINESS, starts="20:00", ends="08:00")
    monday, saturday = _next(0, 10), _next(5, 10)
    Holiday.objects.create(store=world.a, date=monday.date(), kind=HolidayKind.CLOSED, name="节")
    Holiday.objects.create(store=world.a, date=saturday.date(), kind=HolidayKind.WORKDAY, name="调休")
    on = {u.pk: u.on_shift for u in selectors.units_of(world.manager, world.a, now=monday)}
    assert on[rescue.van.pk] is None  # a public holiday on a Monday: the business-day shift does not run
    on = {u.pk: u.on_shift for u in selectors.units_of(world.manager, world.a, now=saturday)}
    assert on[rescue.van.pk] == day_shift  # a make-up Saturday is a business day
    # the holiday's standby runs from Monday 20:00 into Tuesday 08:00 (the day it starts is the holiday)
    on = {u.pk: u.on_shift for u in selectors.units_of(world.manager, world.a, now=monday + dt.timedelta(hours=17))}
    assert on[rescue.tow.pk] == standby
    on = {u.pk: u.on_shift for u in selectors.units_of(world.manager, world.a, now=saturday + dt.timedelta(hours=12))}
    assert on[rescue.tow.pk] is None  # the make-up Saturday's night is a business day's: no standby


def test_dispatch_suggests_only_units_on_shift_across_midnight(rescue, clock):
    r = rescue
    _night(r, r.tow)
    sat_2am = _next(5, 2)
    clock(sat_2am.isoformat())
    case = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=CAR[0], lng=CAR[1])
    assert [u.pk for u, _m, _km in selectors.suggest_units(r.dispatcher, case)] == [r.tow.pk]
    assert [(c.pk, u.pk) for c, u, _m in selectors.assignment_plan(r.dispatcher, r.store)] == [(case.pk, r.tow.pk)]
    clock((sat_2am + dt.timedelta(hours=5)).isoformat())  # Saturday 07:00: the night shift is over
    assert selectors.suggest_units(r.dispatcher, case) == []
    assert selectors.assignment_plan(r.dispatcher, r.store) == []
    with pytest.raises(Conflict) as exc:
        services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    assert exc.value.code == "unit_off_shift"
    assert RescueCase.objects.get(pk=case.pk).unit_id is None
    board = {u.pk: u.on_shift for u in selectors.units_of(r.dispatcher, r.store)}
    assert board[r.tow.pk] is None and board[r.van.pk] == "always"  # the van has no shifts: round the clock


def test_the_shift_crew_works_the_job_dispatched_on_their_shift(rescue, clock):
    r = rescue
    night_crew = r.crew2
    shift = _night(r, r.tow, crew=[night_crew])
    clock(_next(4, 23).isoformat())
    case = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=CAR[0], lng=CAR[1], vehicle=r.vehicle)
    case = services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    assert case.shift_id == shift.pk
    assert selectors.crew_first_name(RescueCase.objects.select_related("unit", "shift").get(pk=case.pk)) == "强"
    assert [c.pk for c in selectors.crew_jobs(night_crew)] == [case.pk]
    services.case_crew_accept(actor=night_crew, case=case)
    other = services.case_create(actor=r.dispatcher, store=r.store, incident="battery", lat=CAR[0], lng=CAR[1])
    with pytest.raises(Forbidden):
        services.case_crew_accept(actor=night_crew, case=other)


def test_the_shift_editor_names_every_bad_field_and_refuses_overlaps(rescue, world):
    r = rescue
    with pytest.raises(ValidationFailed) as exc:
        services.shift_save(actor=world.manager, unit=r.van, days="fortnightly", weekdays=["9"], starts="25:99", ends="")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"days", "weekdays", "starts", "ends"}
    with pytest.raises(ValidationFailed) as exc:
        services.shift_save(actor=world.manager, unit=r.van, days=ShiftDays.WEEKDAYS, weekdays=[], starts="08:00", ends="08:00")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"weekdays", "ends"}
    from aftersales.common.tests.factories import make_staff

    outsider = make_staff("technician", world.b)
    with pytest.raises(ValidationFailed) as exc:
        services.shift_save(actor=world.manager, unit=r.van, days=ShiftDays.BUSINESS, starts="08:00", ends="20:00", crew=[outsider])
    assert exc.value.field == "crew"
    assert not UnitShift.objects.exists()
    _night(r, r.van, crew=[r.crew2])
    with pytest.raises(ValidationFailed) as exc:  # Saturday 05:00–09:00 meets Friday's night shift
        services.shift_save(actor=world.manager, unit=r.van, days=ShiftDays.WEEKDAYS, weekdays=[5], starts="05:00", ends="09:00")
    assert exc.value.code == "shift_overlap"
    with pytest.raises(ValidationFailed) as exc:  # the same crew member cannot be on two units at once
        services.shift_save(actor=world.manager, unit=r.tow, days=ShiftDays.WEEKDAYS, weekdays=[4], starts="23:00", ends="01:00",
                            crew=[r.crew2])
    assert exc.value.code == "crew_double_booked"
    services.shift_save(actor=world.manager, unit=r.van, days=ShiftDays.WEEKDAYS, weekdays=[5], starts="06:00", ends="14:00")
    assert UnitShift.objects.filter(unit=r.van).count() == 2
    with pytest.raises(Forbidden):
        services.shift_save(actor=world.advisor, unit=r.van, days=ShiftDays.BUSINESS, starts="08:00", ends="20:00")


def test_overlap_between_business_and_holiday_shifts_only_across_midnight():
    a = UnitShift(days=ShiftDays.BUSINESS, starts=dt.time(8), ends=dt.time(20))
    b = UnitShift(days=ShiftDays.NON_BUSINESS, starts=dt.time(8), ends=dt.time(20))
    night = UnitShift(days=ShiftDays.NON_BUSINESS, starts=dt.time(20), ends=dt.time(9))
    assert not overlap(a, b)
    assert overlap(a, night)  # a holiday night runs into the next business morning
    assert not overlap(a, UnitShift(days=ShiftDays.NON_BUSINESS, starts=dt.time(20), ends=dt.time(8)))


def test_shift_editor_page_and_another_stores_shift_is_404(rescue, world, client):
    r = rescue
    client.force_login(world.manager)
    url = f"/rescue/units/?store={world.a.pk}"
    response = client.post(url, {"form": "shift", "unit": r.van.pk, "days": "weekdays", "starts": "7:61", "ends": ""})
    assert response.status_code == 422
    body = response.content.decode()
    assert "HH:MM" in body and "Pick at least one weekday." in body
    response = client.post(url, {"form": "shift", "unit": r.van.pk, "days": "weekdays", "weekdays": ["4"],
                                 "starts": "22:00", "ends": "06:00", "shift_crew": [r.crew2.pk]})
    assert response.status_code == 302
    shift = UnitShift.objects.get(unit=r.van)
    assert shift.overnight and list(shift.crew.all()) == [r.crew2]
    page = client.get(url).content.decode()
    assert "22:00–06:00" in page
    other = services.shift_save(actor=world.manager_b, unit=r.tow_b, days=ShiftDays.BUSINESS, starts="08:00", ends="20:00")
    assert client.post(url, {"form": "shift_delete", "shift": other.pk}).status_code == 404
    assert client.post(url, {"form": "shift", "unit": r.tow_b.pk, "days": "business", "starts": "01:00", "ends": "02:00"}).status_code == 404
    assert client.post(url, {"form": "shift_delete", "shift": shift.pk}).status_code == 302
    assert not UnitShift.objects.filter(unit=r.van).exists()
