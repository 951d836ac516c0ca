"""The courtesy-car screens: reachable from the navigation, scoped to the user's stores, errors on the fields."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from aftersales.mobility import services
from aftersales.mobility.models import CourtesyBooking, CourtesyCar

from .conftest import signed

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _local(when: dt.datetime) -> str:
    return timezone.localtime(when, dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")


def test_fleet_page_in_the_navigation(fleet):
    client = _client(fleet.world.advisor)
    home = client.get("/").content.decode()
    assert 'data-testid="nav-mobility"' in home
    page = client.get("/mobility/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "粤A12345" in text and "粤B99999" not in text
    assert 'data-testid="car-form"' not in text  # the manager keeps the fleet
    assert _client(fleet.world.technician).get("/mobility/").status_code == 403


def test_manager_adds_a_car_every_bad_field_shown(fleet):
    client = _client(fleet.world.manager)
    response = client.post("/mobility/cars/", {"plate": "", "vin": "1", "model_name": "", "insurance_expires": "", "mileage": "x"})
    assert response.status_code == 422
    text = response.content.decode()
    for field in ("plate", "vin", "model_name", "insurance_expires", "mileage"):
        assert f'data-field="{field}"' in text
    assert CourtesyCar.objects.count() == 3
    response = client.post("/mobility/cars/", {"plate": "粤A55555", "vin": "", "model_name": "<b>Corolla</b>",
                                               "insurance_expires": "2040-01-01", "energy": "fuel", "condition": "good"})
    assert response.status_code == 422  # the VIN is required
    assert "<b>Corolla</b>" not in response.content.decode()  # what the user typed is escaped


def test_book_hand_out_and_return_on_the_screens(fleet):
    client = _client(fleet.world.advisor)
    query = {"order": fleet.order.number, "starts_at": _local(fleet.start), "ends_at": _local(fleet.end)}
    page = client.get("/mobility/book/", query).content.decode()
    assert "粤A12345" in page and "粤A67890" in page
    response = client.post("/mobility/book/", {**query, "car": fleet.car.pk, "action": "book"})
    assert response.status_code == 302, response.content.decode()[:2000]
    booking = CourtesyBooking.objects.get()
    response = client.post("/mobility/book/", {**query, "car": fleet.car.pk, "action": "book"})
    assert response.status_code == 422 and 'data-field="car"' in response.content.decode()
    assert CourtesyBooking.objects.count() == 1
    assert client.get(f"/mobility/bookings/{booking.pk}/").status_code == 200
    response = client.post(f"/mobility/bookings/{booking.pk}/hand-out/", {"licence_number": "", "mileage": "1", "energy": "200"})
    assert response.status_code == 422
    text = response.content.decode()
    for field in ("licence_number", "licence_expires", "mileage", "energy", "signature"):
        assert f'data-field="{field}"' in text
    response = client.post(f"/mobility/bookings/{booking.pk}/hand-out/", {
        "licence_number": "440101199001011234", "licence_expires": "2040-01-01", "deposit": "1000", "mileage": "20020",
        "energy": "90", "ends_at": _local(fleet.end), "signature": signed(), "signer_name": "张伟"})
    assert response.status_code == 302
    client.post(f"/mobility/bookings/{booking.pk}/marks/", {"phase": "in", "x": "40", "y": "50", "kind": "dent"})
    response = client.post(f"/mobility/bookings/{booking.pk}/return/", {"mileage": "20100", "energy": "90",
                                                                        "damage_charge": "500", "signature": signed()})
    assert response.status_code == 302
    page = client.get(f"/mobility/bookings/{booking.pk}/").content.decode()
    assert 'data-testid="contract-in"' in page and "500.00" in page


def test_other_store_pages_are_404(fleet):
    booking = services.courtesy_book(actor=fleet.world.advisor_b, order=fleet.order_b, car=fleet.car_b,
                                     starts_at=fleet.start, ends_at=fleet.end)
    client = _client(fleet.world.advisor)
    assert client.get(f"/mobility/bookings/{booking.pk}/").status_code == 404
    for path in ("hand-out", "return", "marks", "photos", "cancel"):
        assert client.post(f"/mobility/bookings/{booking.pk}/{path}/", {}).status_code == 404
    page = client.get("/mobility/book/", {"order": fleet.order_b.number}).content.decode()
    assert 'data-field="order"' in page
