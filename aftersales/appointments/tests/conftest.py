"""A store with opening hours (day, evening on Wednesday, Saturday), bays, technicians with shifts, service types."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from aftersales.appointments.models import Bay, ServiceType, TechnicianShift
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.stores.models import OpeningPeriod, SlotKind


def next_monday(weeks: int = 1) -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7) + dt.timedelta(weeks=weeks - 1)


def local(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=dt.timezone(dt.timedelta(hours=8))).astimezone(dt.UTC)


def hhmm(values: list[dt.datetime]) -> list[str]:
    return [timezone.localtime(v, dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M") for v in values]


def setup_store(store, *, techs: int = 1, bays: int = 1, priority_bays: int = 0, skills=("maintenance", "engine")):
    for weekday in range(5):
        OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(8, 30), closes=dt.time(12, 0))
        OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(13, 0), closes=dt.time(17, 30))
    OpeningPeriod.objects.create(store=store, weekday=2, opens=dt.time(18, 0), closes=dt.time(21, 0), kind=SlotKind.EVENING)
    OpeningPeriod.objects.create(store=store, weekday=5, opens=dt.time(9, 0), closes=dt.time(15, 0), kind=SlotKind.WEEKEND)
    bay_rows = [Bay.objects.create(store=store, name=f"B{i + 1}") for i in range(bays)]
    bay_rows += [Bay.objects.create(store=store, name=f"P{i + 1}", is_priority=True) for i in range(priority_bays)]
    technicians = []
    for _i in range(techs):
        tech = make_staff("technician", store, skills=list(skills))
        for weekday in range(6):
            TechnicianShift.objects.create(user=tech, store=store, weekday=weekday, start=dt.time(8, 0), end=dt.time(21, 0))
        technicians.append(tech)
    maintenance = ServiceType.objects.create(
        store=store, code="maint", name_zh="保养", name_en="Maintenance", duration_minutes=60, required_skill="maintenance",
        materials_zh="保养手册、行驶证", materials_en="service book, registration",
    )
    body = ServiceType.objects.create(
        store=store, code="body", name_zh="钣金", name_en="Bodywork", kind="repair", duration_minutes=120, required_skill="body",
    )
    return SimpleNamespace(bays=bay_rows, techs=technicians, maintenance=maintenance, body=body)


@pytest.fixture
def shop(world):
    setup = setup_store(world.a)
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345", make="Toyota", model="Camry")
    world.a.directions = "天河路 1 号"
    world.a.save()
    return SimpleNamespace(world=world, store=world.a, customer=customer, vehicle=vehicle, monday=next_monday(), **vars(setup))
