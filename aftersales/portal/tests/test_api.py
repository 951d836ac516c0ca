"""/api/portal/: the owner's own session only; another owner's object is 404; bad input names the field."""

from __future__ import annotations

import pytest

from aftersales.appointments.models import Appointment
from aftersales.appointments.tests.conftest import local

from .conftest import sign_in
from .test_pages import _order

pytestmark = pytest.mark.django_db


def test_no_session_and_staff_sessions_are_401(client, owners):
    assert client.get("/api/portal/me").status_code == 401
    client.force_login(owners.world.advisor)
    assert client.get("/api/portal/cars").status_code == 401


def test_my_cars_and_orders_only(client, owners):
    mine = _order(owners, owners.zhang, owners.car, status="ready")
    theirs = _order(owners, owners.li, owners.li_car, number="RO2")
    sign_in(client, owners.zhang)
    cars = client.get("/api/portal/cars").json()
    assert [c["plate"] for c in cars] == ["粤B12345"]
    assert cars[0]["open_order"]["steps"][2] == {"code": "pay", "label": "待付款", "state": "current"}
    assert client.get(f"/api/portal/orders/{mine.pk}").status_code == 200
    assert client.get(f"/api/portal/orders/{theirs.pk}").status_code == 404
    assert client.get("/api/portal/me").json()["name"] == "张伟"


def test_book_and_cancel_through_the_api(client, owners):
    sign_in(client, owners.zhang)
    start = local(owners.monday, "10:00").isoformat()
    bad = client.post("/api/portal/appointments", {"store": owners.store.code, "service_type": owners.maintenance.pk,
                                                   "vehicle": owners.li_car.pk, "start": start}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "vehicle"
    assert Appointment.objects.count() == 0
    ok = client.post("/api/portal/appointments", {"store": owners.store.code, "service_type": owners.maintenance.pk,
                                                  "vehicle": owners.car.pk, "start": start}, content_type="application/json")
    assert ok.status_code == 201, ok.content
    pk = ok.json()["id"]
    client.post("/app/logout/")
    sign_in(client, owners.li)
    assert client.post(f"/api/portal/appointments/{pk}/cancel").status_code == 404
    assert Appointment.objects.get(pk=pk).status == "booked"
