"""The courtesy-car API: a login for everything, another store's objects are 404, bad input names every field."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill
from aftersales.mobility.models import CourtesyBooking, CourtesyCar, CourtesyPhoto

from .conftest import png, signed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["mobility"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method not in ("get", "delete") else None)
    assert_error(response, 401, "unauthenticated")


def test_other_store_is_404_everywhere(fleet):
    api = Api.session(fleet.world.advisor)
    booking_b = CourtesyBooking.objects.create(
        store=fleet.world.b, car=fleet.car_b, order=fleet.order_b, customer=fleet.order_b.customer,
        starts_at=fleet.start, ends_at=fleet.end,
    )
    b = booking_b.pk
    for method, path, body in [
        ("get", f"/api/mobility/cars/{fleet.car_b.pk}", None),
        ("get", f"/api/mobility/bookings/{b}", None),
        ("post", f"/api/mobility/bookings/{b}/cancel", {}),
        ("post", f"/api/mobility/bookings/{b}/marks", {"phase": "out", "x": 1, "y": 1}),
        ("post", f"/api/mobility/bookings/{b}/hand-out", {}),
        ("post", f"/api/mobility/bookings/{b}/return", {}),
        ("post", "/api/mobility/bookings", {"order_id": fleet.order_b.pk, "car_id": fleet.car.pk}),
        ("post", "/api/mobility/bookings", {"order_id": fleet.order.pk, "car_id": fleet.car_b.pk}),
        ("post", "/api/mobility/waitlist", {"order_id": fleet.order_b.pk}),
        ("get", f"/api/mobility/cars?store_id={fleet.world.b.pk}", None),
    ]:
        assert_error(api.request(method, path, body), 404)
    assert_error(Api.session(fleet.world.manager).request("patch", f"/api/mobility/cars/{fleet.car_b.pk}", {"condition": "fair"}), 404)
    assert [r["id"] for r in api.get("/api/mobility/bookings").json()] == []
    assert CourtesyBooking.objects.get(pk=b).status == "booked"


def test_roles(fleet):
    assert_error(Api.session(fleet.world.advisor).post("/api/mobility/cars", {"plate": "粤A00001"}), 403)
    assert_error(Api.session(fleet.world.technician).get("/api/mobility/cars"), 403)
    assert_error(Api.session(fleet.world.staff["call_centre_agent"]).post(
        "/api/mobility/bookings", {"order_id": fleet.order.pk, "car_id": fleet.car.pk}), 403)


def test_car_add_every_bad_field_at_once(fleet):
    api = Api.session(fleet.world.manager)
    body = assert_error(api.post("/api/mobility/cars", {"plate": "", "vin": "12", "model_name": "", "energy": "steam",
                                                       "insurance_expires": "soon", "mileage": -1, "fuel_rate": "x"}), 422)
    assert {e["field"] for e in body["errors"]} == {"plate", "vin", "model_name", "energy", "insurance_expires", "mileage", "fuel_rate"}
    assert CourtesyCar.objects.count() == 3


def test_the_desk_over_the_api(fleet):
    api = Api.session(fleet.world.advisor)
    start, end = fleet.start.isoformat(), fleet.end.isoformat()
    free = api.get("/api/mobility/free-cars", {"starts_at": start, "ends_at": end}).json()
    assert {c["plate"] for c in free} == {"粤A12345", "粤A67890"}
    response = api.post("/api/mobility/bookings", {"order_id": fleet.order.pk, "car_id": fleet.car.pk, "starts_at": start, "ends_at": end})
    assert response.status_code == 201, response.content
    bid = response.json()["id"]
    body = assert_error(api.post("/api/mobility/bookings", {"order_id": fleet.order.pk, "car_id": fleet.car.pk,
                                                           "starts_at": start, "ends_at": end}), 409, "overlap", "car")
    assert "booked" in body["message"]
    body = assert_error(api.post("/api/mobility/bookings", {"order_id": fleet.order.pk, "car_id": fleet.car2.pk,
                                                           "starts_at": "yesterday", "ends_at": 12, "notes": "x" * 301}), 422)
    assert {e["field"] for e in body["errors"]} == {"starts_at", "ends_at", "notes"}
    assert CourtesyBooking.objects.count() == 1
    assert {c["plate"] for c in api.get("/api/mobility/free-cars", {"starts_at": start, "ends_at": end}).json()} == {"粤A67890"}

    body = assert_error(api.post(f"/api/mobility/bookings/{bid}/hand-out", {"mileage": 1, "energy": 101, "deposit": "-3"}), 422)
    assert {e["field"] for e in body["errors"]} == {"licence_number", "licence_expires", "deposit", "mileage", "energy", "signature"}
    response = api.post(f"/api/mobility/bookings/{bid}/hand-out", {
        "licence_number": "440101199001011234", "licence_expires": "2040-01-01", "deposit": "2000", "mileage": 20050,
        "energy": 90, "signature": signed()})
    assert response.status_code == 200 and response.json()["status"] == "out", response.content
    assert api.post(f"/api/mobility/bookings/{bid}/marks", {"phase": "in", "x": 30, "y": 40, "kind": "dent"}).status_code == 201
    assert_error(api.post(f"/api/mobility/bookings/{bid}/marks", {"phase": "later", "x": 300, "y": 40}), 422)
    client = Client()
    client.force_login(fleet.world.advisor)
    upload = io.BytesIO(png(fmt="JPEG"))
    upload.name = "dent.jpg"
    assert client.post(f"/api/mobility/bookings/{bid}/photos", {"photo": upload, "phase": "in"}).status_code == 201
    fake = io.BytesIO(b"MZ\x90\x00 not an image")
    fake.name = "x.jpg"
    assert_error(client.post(f"/api/mobility/bookings/{bid}/photos", {"photo": fake, "phase": "in"}), 422, field="photo")
    assert CourtesyPhoto.objects.count() == 1
    body = assert_error(api.post(f"/api/mobility/bookings/{bid}/return", {"mileage": 20000, "energy": 90, "signature": signed()}), 422)
    assert body["field"] == "mileage" and body["code"] == "km_backwards"
    response = api.post(f"/api/mobility/bookings/{bid}/return", {"mileage": 20200, "energy": 90, "damage_charge": "600", "signature": signed()})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "returned" and data["damage_charge"] == "600.00" and data["charge_route"] == "order"
    fleet_body = api.get("/api/mobility/cars").json()
    assert fleet_body["damage_incidents"] == 1


def test_waitlist_and_do_not_lend(fleet):
    api = Api.session(fleet.world.manager)
    start, end = fleet.start.isoformat(), (fleet.start + dt.timedelta(hours=3)).isoformat()
    response = api.post("/api/mobility/waitlist", {"order_id": fleet.order.pk, "wanted_from": start, "wanted_until": end})
    assert response.status_code == 201
    wid = response.json()["id"]
    assert [w["id"] for w in api.get("/api/mobility/waitlist").json()] == [wid]
    assert api.post(f"/api/mobility/waitlist/{wid}/cancel").status_code == 200
    assert_error(api.post(f"/api/mobility/waitlist/{wid}/cancel"), 409)
    response = api.post("/api/mobility/do-not-lend", {"customer_id": fleet.order.customer_id, "reason": "事故未赔"})
    assert response.status_code == 201
    assert_error(api.post("/api/mobility/bookings", {"order_id": fleet.order.pk, "car_id": fleet.car.pk, "starts_at": start,
                                                    "ends_at": end}), 422, "do_not_lend", "order")
    assert api.delete(f"/api/mobility/do-not-lend/{response.json()['id']}").status_code == 204
