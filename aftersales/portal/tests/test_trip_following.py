"""Following a pickup in the owner app: the trip's step, the driver's first name and ETA, a call without numbers,
the delivery window; the voucher on the pickup order; another owner's trip is a 404 on every page and endpoint."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from aftersales.appointments.tests.conftest import local
from aftersales.common.errors import ValidationFailed
from aftersales.mobility import trips

from .conftest import sign_in

pytestmark = pytest.mark.django_db
AREA = [[113.2, 23.0], [113.5, 23.0], [113.5, 23.3], [113.2, 23.3]]


def _trip(owners):
    w = owners.world
    trips.service_area_set(actor=w.manager, store=w.a, polygon=AREA)
    start = local(owners.monday, "09:00")
    trip = trips.trip_request(actor=w.advisor, store=w.a, vehicle=owners.car, address="天河路 100 号", lng=113.33, lat=23.13,
                              window_start=start, window_end=start + dt.timedelta(hours=1))
    driver = w.staff["driver"]
    driver.first_name, driver.last_name, driver.phone = "建国", "王", "+8613900009876"
    driver.save()
    return trips.trip_schedule(actor=w.advisor, trip=trip, driver=driver), driver, start


def test_owner_follows_the_trip_and_sets_the_delivery_window(owners, clock):
    trip, driver, start = _trip(owners)
    clock((start - dt.timedelta(minutes=40)).astimezone(owners.store.zone).strftime("%Y-%m-%d %H:%M"))
    trip = trips.trip_move(actor=driver, trip=trip, to="on_the_way", eta=start + dt.timedelta(minutes=5))
    client = Client()
    sign_in(client, owners.zhang)
    home = client.get("/app/").content.decode()
    assert f'href="/app/trips/{trip.pk}/"' in home and 'data-testid="home-trip"' in home
    page = client.get(f"/app/trips/{trip.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="trip-step-current"' in body
    assert "建国" in body and "王建国" not in body and driver.phone not in body  # first name only, never the number
    assert (start + dt.timedelta(minutes=5)).astimezone(owners.store.zone).strftime("%H:%M") in body
    assert 'data-testid="trip-call"' in body
    call = client.post(f"/app/trips/{trip.pk}/call/").content.decode()
    assert driver.phone not in call and owners.zhang.mobile not in call
    # the delivery window: every bad field named, nothing written; then saved
    bad = client.post(f"/app/trips/{trip.pk}/", {"delivery_window_start": "later", "delivery_window_end": ""})
    assert bad.status_code == 422 and 'data-testid="trip-error"' in bad.content.decode()
    trip.refresh_from_db()
    assert trip.delivery_window_start is None
    day = owners.monday.isoformat()
    ok = client.post(f"/app/trips/{trip.pk}/", {"delivery_window_start": f"{day}T16:00", "delivery_window_end": f"{day}T17:30"})
    assert ok.status_code == 302
    trip.refresh_from_db()
    assert (trip.delivery_window_start, trip.delivery_window_end) == (local(owners.monday, "16:00"), local(owners.monday, "17:30"))
    data = client.get(f"/api/portal/trips/{trip.pk}").json()
    assert (data["status"], data["driver_first_name"], data["can_call"]) == ("on_the_way", "建国", True)
    assert [s["code"] for s in data["steps"] if s["current"]] == ["on_the_way"]
    assert [t["id"] for t in client.get("/api/portal/trips").json()] == [trip.pk]
    bad_api = client.post(f"/api/portal/trips/{trip.pk}/delivery-window", {"delivery_window_start": "x"},
                          content_type="application/json")
    assert bad_api.status_code == 422 and {e["field"] for e in bad_api.json()["errors"]} >= {"delivery_window_start"}

    # another owner: 404 on the page, the call, the window and the API; their home lists nothing of it
    other = Client()
    sign_in(other, owners.li, ip="10.0.0.2")
    assert other.get(f"/app/trips/{trip.pk}/").status_code == 404
    assert other.post(f"/app/trips/{trip.pk}/call/").status_code == 404
    assert other.post(f"/app/trips/{trip.pk}/", {"delivery_window_start": f"{day}T16:00"}).status_code == 404
    assert other.get(f"/api/portal/trips/{trip.pk}").status_code == 404
    assert other.post(f"/api/portal/trips/{trip.pk}/delivery-window", {}, content_type="application/json").status_code == 404
    assert other.get("/api/portal/trips").json() == []
    assert f"/app/trips/{trip.pk}/" not in other.get("/app/").content.decode()
    # staff are not owners
    staff = Client()
    staff.force_login(owners.world.advisor)
    assert staff.get("/api/portal/trips").status_code in (401, 403)


def test_pickup_voucher_is_checked_before_anything_is_booked(owners):
    from aftersales.appointments.models import Appointment
    from aftersales.mobility.models import Trip
    from aftersales.portal import services

    trips.service_area_set(actor=owners.world.manager, store=owners.store, polygon=AREA, pickup_fee="60")
    with pytest.raises(ValidationFailed) as caught:
        services.owner_book_with_pickup(customer=owners.zhang, store=owners.store, service_type=None, start=None,
                                        vehicle=owners.car.pk, address="", lng=113.33, lat=23.13, voucher="NOPE")
    assert {e["field"] for e in caught.value.extra["errors"]} == {"address", "voucher"}
    assert not Appointment.objects.exists() and not Trip.objects.exists()
    client = Client()
    sign_in(client, owners.zhang)
    page = client.get("/app/pickup/").content.decode()
    assert 'data-testid="pickup-voucher"' in page
