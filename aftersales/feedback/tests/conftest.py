"""A store open Monday–Friday 09:00–18:00 (Asia/Shanghai), a customer with a car, delivered repair orders."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.stores.models import OpeningPeriod
from aftersales.workshop.services import repair_order_record_visit

CST = dt.timezone(dt.timedelta(hours=8))
JOBS = [{"title": "保养", "job_type": "maintenance", "lines": [{"kind": "labour", "description": "工时", "unit_price": "200.00"}]}]


def local(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=CST).astimezone(dt.UTC)


def next_weekday(weekday: int, weeks: int = 1) -> dt.date:
    """A date ``weeks`` ahead on the given weekday (0 = Monday), safely in the future."""
    today = timezone.localdate()
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks)


def office_hours(store) -> None:
    for weekday in range(5):
        OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(9, 0), closes=dt.time(18, 0))


def deliver(world, vehicle, *, delivered_at=None, advisor=None, store=None):
    store = store or world.a
    advisor = advisor or (world.advisor if store == world.a else world.advisor_b)
    delivered_at = delivered_at or timezone.now() - dt.timedelta(hours=1)
    return repair_order_record_visit(
        actor=advisor, store=store, customer=vehicle.owner, vehicle=vehicle, opened_at=delivered_at - dt.timedelta(hours=3),
        jobs=JOBS, advisor=advisor, delivered_at=delivered_at,
    )


@pytest.fixture
def loop(world):
    office_hours(world.a)
    office_hours(world.b)
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr", preferred_channel="sms")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345")
    caller = CustomerFactory(home_store=world.a, name="李娜", title="ms", preferred_channel="phone")
    caller_car = VehicleFactory(owner=caller, plate="粤B54321")
    return SimpleNamespace(world=world, store=world.a, customer=customer, vehicle=vehicle, caller=caller, caller_car=caller_car,
                           agent=world.staff["call_centre_agent"])


def answer_all(score: int, **override) -> dict:
    scores = dict.fromkeys(("attitude", "quality", "waiting", "price", "recommend"), score)
    scores.update(override)
    return scores
