"""Walk-in and booking on the real floor (issue 14, item 3): capacity sees the cars in bays and the technicians on
jobs, a walk-in is arrived at once, the call centre books a new caller and a known mobile loads the caller's cars,
and the nearest free times after a lost race reach the same evening. The clock is the test's (``timezone.now``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.appointments import availability, services
from aftersales.appointments.models import Appointment
from aftersales.common.errors import Conflict
from aftersales.common.tests.factories import make_vin
from aftersales.messaging.models import Message
from aftersales.workshop.models import RepairJob, TimeEntry
from aftersales.workshop.services import repair_job_add, repair_order_check_in

from .conftest import hhmm, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """Set the time everybody reads through ``django.utils.timezone.now``."""

    def set_to(when: dt.datetime) -> dt.datetime:
        monkeypatch.setattr(timezone, "now", lambda: when)
        return when

    return set_to


def car_in_bay(shop, now, *, hours="1.5", clocked_on_minutes=30):
    """A repair order whose job is in the store's only bay with its only technician, clocked on for a while."""
    order = repair_order_check_in(actor=shop.world.advisor, store=shop.store, customer=shop.customer, vehicle=shop.vehicle, mileage=1000)
    job = repair_job_add(actor=shop.world.advisor, order=order, title="更换刹车片", standard_hours=hours)
    RepairJob.objects.filter(pk=job.pk).update(status="in_progress", bay=shop.bays[0], technician=shop.techs[0])
    TimeEntry.objects.create(store=shop.store, job=job, technician=shop.techs[0], started_at=now - dt.timedelta(minutes=clocked_on_minutes))
    return job


def test_capacity_sees_the_car_in_the_bay_and_the_technician_on_it(shop, clock):
    now = clock(local(shop.monday, "10:00"))
    assert hhmm(availability.next_free(shop.store, shop.maintenance, now, count=1)) == ["10:00"]
    car_in_bay(shop, now)  # 1.5 h standard, 30 min worked: bay and technician busy until 11:00
    assert hhmm(availability.next_free(shop.store, shop.maintenance, now, count=1)) == ["11:00"]
    with pytest.raises(Conflict) as exc:
        services.appointment_book(
            actor=shop.world.advisor, store=shop.store, service_type=shop.maintenance, start=now,
            customer=shop.customer, vehicle=shop.vehicle,
        )
    assert exc.value.code == "slot_taken"
    # a later day is not touched by today's floor
    assert hhmm(availability.next_free(shop.store, shop.maintenance, local(shop.monday + dt.timedelta(days=1), "09:00"), count=1)) == ["09:00"]


def test_a_walk_in_gets_a_free_bay_and_is_arrived_at_once(shop, clock, client):
    now = clock(local(shop.monday, "10:00"))
    car_in_bay(shop, now)
    client.force_login(shop.world.advisor)
    page = client.get(f"/appointments/walk-in/?store={shop.store.pk}")
    started = page.context["form"].initial["started"]
    response = client.post("/appointments/walk-in/", {
        "store": shop.store.pk, "started": started, "mobile": "13700002222", "name": "王芳", "plate": "粤B55555",
        "vin": make_vin(), "make": "Toyota", "model": "Corolla", "service_type": shop.maintenance.pk,
    })
    assert response.status_code == 302, response.content.decode()[:500]
    walk_in = Appointment.objects.get(channel="walk_in")
    assert hhmm([walk_in.start]) == ["11:00"]  # not the busy bay at 10:00
    assert walk_in.status == "arrived"
    assert not Message.objects.filter(kind="appointment.reminder", customer=walk_in.customer).exists()
    clock(local(shop.monday, "11:45"))  # past its start: still not "late", no "no-show" button
    arrivals = client.get(f"/appointments/arrivals/?store={shop.store.pk}&date={shop.monday.isoformat()}")
    assert arrivals.status_code == 200
    assert f'/appointments/{walk_in.pk}/no-show/' not in arrivals.content.decode()


def test_nearest_free_times_after_a_lost_race_reach_the_same_evening(shop):
    wednesday = shop.monday + dt.timedelta(days=2)  # day 08:30–12:00, 13:00–17:30, evening 18:00–21:00
    services.appointment_book(
        actor=shop.world.advisor, store=shop.store, service_type=shop.maintenance, start=local(wednesday, "09:00"),
        customer=shop.customer, vehicle=shop.vehicle,
    )
    with pytest.raises(Conflict) as exc:
        services.appointment_book(
            actor=shop.world.advisor, store=shop.store, service_type=shop.maintenance, start=local(wednesday, "09:00"),
            customer_data={"mobile": "13900001111", "name": "李娜"}, vehicle_data={"plate": "粤A88888", "vin": make_vin(), "make": "Honda", "model": "Accord"},
        )
    offered = hhmm([dt.datetime.fromisoformat(s) for s in exc.value.extra["next_free"]])
    assert offered[0] == "10:00" and "13:00" in offered and "18:00" in offered


def test_the_call_centre_books_a_new_caller_and_a_known_mobile_loads_the_cars(shop, client):
    agent = shop.world.staff["call_centre_agent"]
    start = local(shop.monday, "09:00")
    appointment = services.appointment_book(
        actor=agent, store=shop.store, service_type=shop.maintenance, start=start,
        customer_data={"mobile": "13900001111", "name": "李娜"},
        vehicle_data={"plate": "粤A88888", "vin": make_vin(), "make": "Honda", "model": "Accord"},
    )
    assert appointment.customer.name == "李娜" and appointment.vehicle.plate == "粤A88888"
    client.force_login(agent)
    fragment = client.get(
        f"/appointments/book/form/?store={shop.store.pk}&mobile={shop.customer.mobile}", headers={"HX-Request": "true"}
    )
    html = fragment.content.decode()
    assert fragment.status_code == 200 and 'data-testid="known-customer"' in html
    assert f'<option value="{shop.vehicle.pk}" selected>' in html and "粤B12345" in html
    unknown = client.get(f"/appointments/book/form/?store={shop.store.pk}&mobile=13700009999", headers={"HX-Request": "true"})
    assert 'data-testid="known-customer"' not in unknown.content.decode()
