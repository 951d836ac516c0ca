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
