import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.appointments.availability import free_slots, free_slots_window
from aftersales.appointments.models import Appointment, Bay, TechnicianShift
from aftersales.common.tests.factories import make_staff
from aftersales.stores.calendar import opening_periods
from aftersales.stores.models import Holiday, HolidayKind

from .conftest import hhmm, local, setup_store

pytestmark = pytest.mark.django_db

MONDAY_SLOTS = [f"{h:02d}:{m:02d}" for h in range(8, 12) for m in (0, 15, 30, 45) if (8, 30) <= (h, m) <= (11, 0)] + [
    f"{h:02d}:{m:02d}" for h in range(13, 17) for m in (0, 15, 30, 45) if (h, m) <= (16, 30)
]


def busy(shop, day, start, end, *, bay=None, tech=None, advisor=None, status="booked"):
    return Appointment.objects.create(
        store=shop.store, customer=shop.customer, vehicle=shop.vehicle, service_type=shop.maintenance,
        advisor=advisor or shop.world.advisor, technician=tech or shop.techs[0], bay=bay or shop.bays[0],
        start=local(day, start), end=local(day, end), status=status,
    )


def test_regular_day_whole_duration_inside_one_period(shop):
    slots = free_slots(shop.store, shop.monday, shop.maintenance)
    assert hhmm(slots) == MONDAY_SLOTS  # 11:15 would run past 12:00; nothing spans the lunch break
    assert all(s.tzinfo is not None and s.utcoffset() == dt.timedelta(0) for s in slots)


def test_step_and_evening_and_weekend_slots(shop):
    wednesday = shop.monday + dt.timedelta(days=2)
    assert hhmm(free_slots(shop.store, wednesday, shop.maintenance, step_minutes=60))[-3:] == ["18:00", "19:00", "20:00"]
    saturday = shop.monday + dt.timedelta(days=5)
    assert hhmm(free_slots(shop.store, saturday, shop.maintenance, step_minutes=60)) == ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00"]
    sunday = shop.monday + dt.timedelta(days=6)
    assert free_slots(shop.store, sunday, shop.maintenance) == []


def test_holiday_closed_and_make_up_workday(shop):
    Holiday.objects.create(store=shop.store, date=shop.monday, name="国庆", kind=HolidayKind.CLOSED)
    assert free_slots(shop.store, shop.monday, shop.maintenance) == []
    sunday = shop.monday + dt.timedelta(days=6)
    Holiday.objects.create(store=shop.store, date=sunday, name="调休", kind=HolidayKind.WORKDAY)
    # a make-up Sunday follows Monday's hours, and so do the technicians' shifts
    assert hhmm(free_slots(shop.store, sunday, shop.maintenance)) == MONDAY_SLOTS
    assert [(p.opens, p.closes) for p in opening_periods(shop.store, sunday)] == [(dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 0), dt.time(17, 30))]


def test_skill_required(shop):
    assert free_slots(shop.store, shop.monday, shop.body) == []  # nobody does bodywork
    panel_beater = make_staff("technician", shop.store, skills=["body"])
    TechnicianShift.objects.create(user=panel_beater, store=shop.store, weekday=0, start=dt.time(13, 0), end=dt.time(17, 0))
    assert hhmm(free_slots(shop.store, shop.monday, shop.body, step_minutes=60)) == ["13:00", "14:00", "15:00"]


def test_technician_only_within_shift(shop):
    TechnicianShift.objects.filter(user=shop.techs[0], weekday=0).update(start=dt.time(10, 0), end=dt.time(14, 30))
    assert hhmm(free_slots(shop.store, shop.monday, shop.maintenance, step_minutes=60)) == ["10:30", "13:00"]  # steps run from the period start (08:30)


def test_existing_bookings_block_bay_technician_and_advisor(shop):
    busy(shop, shop.monday, "09:00", "10:00")
    slots = hhmm(free_slots(shop.store, shop.monday, shop.maintenance))
    assert "08:30" not in slots and "09:00" not in slots and "09:45" not in slots and "10:00" in slots
    busy(shop, shop.monday, "10:00", "11:00", status="cancelled")  # cancelled and no-show hold nothing
    busy(shop, shop.monday, "10:00", "11:00", status="no_show")
    assert "10:00" in hhmm(free_slots(shop.store, shop.monday, shop.maintenance))


def test_a_second_bay_and_technician_add_capacity(world):
    setup = setup_store(world.a, techs=2, bays=2)
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    customer = CustomerFactory(home_store=world.a)
    vehicle = VehicleFactory(owner=customer)
    from .conftest import next_monday

    monday = next_monday()
    second_advisor = make_staff("service_advisor", world.a)
    Appointment.objects.create(
        store=world.a, customer=customer, vehicle=vehicle, service_type=setup.maintenance, advisor=world.advisor,
        technician=setup.techs[0], bay=setup.bays[0], start=local(monday, "09:00"), end=local(monday, "10:00"),
    )
    assert "09:00" in hhmm(free_slots(world.a, monday, setup.maintenance))
    # the one busy advisor: asked for by name, 09:00 is gone; any advisor: the second one is free
    assert "09:00" not in hhmm(free_slots(world.a, monday, setup.maintenance, advisor=world.advisor))
    assert "09:00" in hhmm(free_slots(world.a, monday, setup.maintenance, advisor=second_advisor))
    Bay.objects.filter(pk=setup.bays[1].pk).update(is_active=False)
    assert "09:00" not in hhmm(free_slots(world.a, monday, setup.maintenance))


def test_priority_lane_is_kept_for_priority_customers(world):
    setup = setup_store(world.a, techs=2, bays=1, priority_bays=1)
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    from .conftest import next_monday

    monday = next_monday()
    make_staff("service_advisor", world.a)
    customer = CustomerFactory(home_store=world.a)
    Appointment.objects.create(
        store=world.a, customer=customer, vehicle=VehicleFactory(owner=customer), service_type=setup.maintenance,
        advisor=world.advisor, technician=setup.techs[0], bay=setup.bays[0], start=local(monday, "09:00"),
        end=local(monday, "10:00"),
    )
    assert "09:00" not in hhmm(free_slots(world.a, monday, setup.maintenance))  # only the priority bay is free
    assert "09:00" in hhmm(free_slots(world.a, monday, setup.maintenance, priority=True))


def test_past_times_are_not_offered(shop, settings):
    from django.utils import timezone

    today = timezone.localtime(timezone.now(), shop.store.zone).date()
    for slot in free_slots(shop.store, today, shop.maintenance):
        assert slot >= timezone.now()


def test_a_30_day_window_costs_a_fixed_number_of_queries(shop):
    for i in range(10):
        busy(shop, shop.monday + dt.timedelta(days=i % 5), "09:00", "10:00")
    with CaptureQueriesContext(connection) as ctx:
        window = free_slots_window(shop.store, shop.monday, 30, shop.maintenance)
    assert len(ctx.captured_queries) <= 7
    assert len(window) == 30 and hhmm(window[shop.monday + dt.timedelta(days=7)]) == MONDAY_SLOTS
