"""The route plan: OR-Tools puts every pickup inside its window and a driver's shift, leaves what cannot fit
unplanned, and the dispatcher applies it from the board (all or nothing, scoped to the store)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from aftersales.appointments.tests.conftest import local, next_monday, setup_store
from aftersales.common.errors import ValidationFailed
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.mobility import selectors, trips
from aftersales.mobility.models import Trip
from aftersales.mobility.routing import Shift, Visit, plan_routes

AREA = [[113.2, 23.0], [113.5, 23.0], [113.5, 23.3], [113.2, 23.3]]


def test_solver_keeps_windows_and_shifts():
    depot = (23.13, 113.33)
    visits = [Visit(1, 23.14, 113.34, 540, 600), Visit(2, 23.15, 113.30, 540, 600), Visit(3, 23.10, 113.36, 600, 660),
              Visit(4, 23.29, 113.49, 545, 550)]  # far away in a five-minute window: nobody can make it
    plan = plan_routes(depot, visits, [Shift(10, 510, 1080), Shift(11, 540, 1080)], seconds=0.5)
    assert plan.unplanned == [4]
    arrivals = {key: at for stops in plan.routes.values() for key, at in stops}
    assert set(arrivals) == {1, 2, 3}
    for v in visits[:3]:
        assert v.earliest <= arrivals[v.key] <= v.latest
    assert 10 in plan.routes or 11 in plan.routes
    assert plan_routes(depot, visits, [], seconds=0.1).unplanned == [1, 2, 3, 4]


@pytest.mark.django_db
def test_board_plans_and_applies(world):
    setup_store(world.a)
    trips.service_area_set(actor=world.manager, store=world.a, polygon=AREA)
    monday = next_monday()
    made = []
    for n, (hhmm, lng) in enumerate([("09:00", 113.30), ("09:00", 113.40), ("10:00", 113.35), ("14:00", 113.45)]):
        vehicle = VehicleFactory(owner=CustomerFactory(home_store=world.a, name=f"客户{n}"))
        start = local(monday, hhmm)
        made.append(trips.trip_request(actor=world.advisor, store=world.a, vehicle=vehicle, address=f"路 {n} 号", lng=lng,
                                       lat=23.13, window_start=start, window_end=start + dt.timedelta(hours=1)))
    second = make_staff("driver", world.a)
    plan = selectors.route_plan(world.advisor, store=world.a, day=monday, seconds=0.5)
    assert not plan.unplanned and len(plan.stops) == 4
    assert {s.driver.pk for s in plan.stops} <= {world.staff["driver"].pk, second.pk}
    client = Client()
    client.force_login(world.advisor)
    page = client.get(f"/mobility/trips/board/?day={monday.isoformat()}&plan=1").content.decode()
    assert page.count('data-testid="plan-stop"') == 4 and 'data-testid="apply-plan"' in page
    stops = [f"{s.trip.pk}:{s.driver.pk}:{s.arrival.isoformat()}" for s in plan.stops]
    response = client.post("/mobility/trips/plan/", {"store": world.a.pk, "day": monday.isoformat(), "stop": stops})
    assert response.status_code == 302
    for s in plan.stops:
        trip = Trip.objects.get(pk=s.trip.pk)
        assert (trip.status, trip.driver_id, trip.planned_at) == ("scheduled", s.driver.pk, s.arrival)
    # all or nothing: an arrival outside the window refuses the whole plan
    late = made[0].window_end + dt.timedelta(minutes=5)
    with pytest.raises(ValidationFailed) as caught:
        trips.plan_apply(actor=world.advisor, store=world.a, stops=[(made[1], second, made[1].window_start),
                                                                    (made[0], second, late)])
    assert caught.value.code == "outside_window"
    assert Trip.objects.get(pk=made[1].pk).driver_id == plan.stops[[s.trip.pk for s in plan.stops].index(made[1].pk)].driver.pk
    # another store's dispatcher cannot apply a plan to these trips (404), a driver may not plan (403)
    other = Client()
    other.force_login(world.advisor_b)
    assert other.post("/mobility/trips/plan/", {"stop": stops[:1]}).status_code == 404
    driver = Client()
    driver.force_login(second)
    assert driver.post("/mobility/trips/plan/", {"stop": stops[:1]}).status_code == 403
    # the driver's phone lists the planned trips in the planned order
    mine = selectors.my_trips(second, now=local(monday, "07:00"))
    assert [t.planned_at for t in mine] == sorted(t.planned_at for t in mine)


@pytest.mark.django_db
def test_driver_shift_editor_feeds_the_plan(world):
    """The dispatcher sets each driver's week on the shift editor: bad times named per day at once with nothing
    written; the plan keeps the driver inside that day's shift (a day off: not planned); another store's dispatcher
    cannot edit this store's drivers, a driver cannot open the editor."""
    from aftersales.mobility.models import DriverShift

    setup_store(world.a)
    trips.service_area_set(actor=world.manager, store=world.a, polygon=AREA)
    monday = next_monday()
    driver = world.staff["driver"]
    vehicle = VehicleFactory(owner=CustomerFactory(home_store=world.a, name="早班客户"))
    start = local(monday, "09:00")
    trip = trips.trip_request(actor=world.advisor, store=world.a, vehicle=vehicle, address="路 1 号", lng=113.34, lat=23.13,
                              window_start=start, window_end=start + dt.timedelta(hours=1))
    client = Client()
    client.force_login(world.advisor)
    page = client.get("/mobility/trips/shifts/")
    assert page.status_code == 200 and f'data-testid="shift-form-{driver.pk}"' in page.content.decode()
    bad = client.post("/mobility/trips/shifts/", {"driver": driver.pk, "start_0": "25:99", "end_0": "12:00",
                                                  "start_1": "14:00", "end_1": "13:00", "start_2": "09:00"})
    body = bad.content.decode()
    assert bad.status_code == 422 and all(f'data-field="day_{d}"' in body for d in (0, 1, 2))
    assert not DriverShift.objects.exists()
    # Monday afternoon only: the 09:00 pickup is out of the driver's shift
    assert client.post("/mobility/trips/shifts/", {"driver": driver.pk, "start_0": "13:00", "end_0": "18:00",
                                                   "start_2": "08:00", "end_2": "17:00"}).status_code == 302
    assert list(DriverShift.objects.filter(driver=driver).values_list("weekday", flat=True)) == [0, 2]
    assert selectors.driver_shifts(world.a, monday) == [(driver, 13 * 60, 18 * 60)]
    assert selectors.driver_shifts(world.a, monday + dt.timedelta(days=1)) == []  # Tuesday off
    plan = selectors.route_plan(world.advisor, store=world.a, day=monday, seconds=0.3)
    assert [t.pk for t in plan.unplanned] == [trip.pk]
    trips.driver_week_set(actor=world.advisor, store=world.a, driver=driver, days={0: ("08:00", "12:00")})
    plan = selectors.route_plan(world.advisor, store=world.a, day=monday, seconds=0.3)
    assert [s.trip.pk for s in plan.stops] == [trip.pk] and not plan.unplanned
    # scoping: another store's dispatcher may not set this driver's week; a driver cannot open the editor
    other = Client()
    other.force_login(world.advisor_b)
    assert other.post("/mobility/trips/shifts/", {"driver": driver.pk, "start_0": "08:00", "end_0": "09:00"}).status_code == 422
    assert DriverShift.objects.get(driver=driver).end == dt.time(12, 0)
    as_driver = Client()
    as_driver.force_login(driver)
    assert as_driver.get("/mobility/trips/shifts/").status_code == 403


@pytest.mark.django_db
def test_return_trips_keep_the_owners_delivery_window(world):
    """After service the car goes back inside the owner's delivery window: bad windows refused on every field with
    nothing written; the plan places the return inside that window; applying it gives the delivery to the driver."""
    from aftersales.common.errors import Conflict

    setup_store(world.a)
    trips.service_area_set(actor=world.manager, store=world.a, polygon=AREA)
    monday = next_monday()
    vehicle = VehicleFactory(owner=CustomerFactory(home_store=world.a, name="回程客户"))
    start = local(monday, "09:00")
    trip = trips.trip_request(actor=world.advisor, store=world.a, vehicle=vehicle, address="路 9 号", lng=113.36, lat=23.12,
                              window_start=start, window_end=start + dt.timedelta(hours=1))
    with pytest.raises(ValidationFailed) as caught:  # before the pickup, and ending before it starts
        trips.trip_delivery_window(actor=world.advisor, trip=trip, window_start=local(monday, "08:00"),
                                   window_end=local(monday, "07:00"))
    assert {e["field"] for e in caught.value.extra["errors"]} == {"delivery_window_start", "delivery_window_end"}
    with pytest.raises(ValidationFailed) as caught:
        trips.trip_delivery_window(actor=world.advisor, trip=trip, window_start="soon", window_end=local(monday, "23:30"))
    assert {e["field"] for e in caught.value.extra["errors"]} == {"delivery_window_start"}
    trip.refresh_from_db()
    assert trip.delivery_window_start is None
    client = Client()
    client.force_login(world.advisor)
    response = client.post(f"/mobility/trips/{trip.pk}/delivery-window/", {
        "delivery_window_start": f"{monday.isoformat()}T16:00", "delivery_window_end": f"{monday.isoformat()}T17:00"})
    assert response.status_code == 302
    trip.refresh_from_db()
    assert (trip.delivery_window_start, trip.delivery_window_end) == (local(monday, "16:00"), local(monday, "17:00"))
    other = Client()
    other.force_login(world.advisor_b)
    assert other.post(f"/mobility/trips/{trip.pk}/delivery-window/", {}).status_code == 404
    Trip.objects.filter(pk=trip.pk).update(status="at_store")  # serviced: waiting at the store to go back
    plan = selectors.route_plan(world.advisor, store=world.a, day=monday, seconds=0.3)
    assert [s.trip.pk for s in plan.stops] == [trip.pk]
    stop = plan.stops[0]
    assert local(monday, "16:00") <= stop.arrival <= local(monday, "17:00")
    page = client.get(f"/mobility/trips/board/?day={monday.isoformat()}").content.decode()
    assert 'data-testid="delivery-row"' in page
    assert trips.plan_apply(actor=world.advisor, store=world.a, stops=[(Trip.objects.get(pk=trip.pk), stop.driver, stop.arrival)]) == 1
    trip.refresh_from_db()
    assert (trip.status, trip.driver_id, trip.planned_at) == ("at_store", stop.driver.pk, stop.arrival)
    with pytest.raises(ValidationFailed):  # an arrival outside the delivery window
        trips.plan_apply(actor=world.advisor, store=world.a, stops=[(trip, stop.driver, local(monday, "09:30"))])
    Trip.objects.filter(pk=trip.pk).update(status="out_for_delivery")
    with pytest.raises(Conflict):
        trips.trip_delivery_window(actor=world.advisor, trip=Trip.objects.get(pk=trip.pk), window_start=local(monday, "16:00"),
                                   window_end=local(monday, "17:00"))
