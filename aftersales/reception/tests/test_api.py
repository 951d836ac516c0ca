"""The reception API: every endpoint needs a login, is scoped to the user's stores, refuses bad input by field."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill
from aftersales.reception.models import Handover, HandoverPhoto
from aftersales.workshop.models import RepairOrder

from .conftest import data_url, png

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["reception"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method not in ("get", "delete") else None)
    assert_error(response, 401, "unauthenticated")


def test_the_whole_desk_over_the_api(desk):
    api = Api.session(desk.world.advisor)
    response = api.post("/api/reception/handovers", {"appointment_id": desk.booking.pk})
    assert response.status_code == 201, response.content
    hid = response.json()["id"]
    response = api.patch(f"/api/reception/handovers/{hid}", {"mileage": 15000, "energy_level": 40, "conditions": ["braking"]})
    assert response.status_code == 200 and response.json()["mileage"] == 15000
    assert_error(api.patch(f"/api/reception/handovers/{hid}", {"energy_level": 101}), 422, field="energy_level")
    assert_error(api.patch(f"/api/reception/handovers/{hid}", {"since": "yesterday-ish"}), 422, field="since")
    assert Handover.objects.get(pk=hid).energy_level == 40
    response = api.post(f"/api/reception/handovers/{hid}/marks", {"x": 20, "y": 30, "kind": "dent", "note": "后保险杠"})
    assert response.status_code == 201
    mark_id = response.json()["id"]
    assert_error(api.post(f"/api/reception/handovers/{hid}/marks", {"x": 200, "y": 30}), 422, field="x")
    client = Client()
    client.force_login(desk.world.advisor)
    upload = io.BytesIO(png(fmt="JPEG"))
    upload.name = "dent.jpg"
    response = client.post(f"/api/reception/handovers/{hid}/photos", {"photo": upload, "mark_id": mark_id, "caption": "凹陷"})
    assert response.status_code == 201, response.content
    fake = io.BytesIO(b"MZ\x90\x00 this is an exe")
    fake.name = "photo.jpg"
    assert_error(client.post(f"/api/reception/handovers/{hid}/photos", {"photo": fake}), 422, "not_an_image", "photo")
    assert HandoverPhoto.objects.count() == 1
    assert_error(api.post(f"/api/reception/handovers/{hid}/sign", {"signature": data_url(png(ink=False))}), 422, field="signature")
    response = api.post(f"/api/reception/handovers/{hid}/sign", {"signature": data_url(png()), "signer_name": "张伟"})
    assert response.status_code == 200 and response.json()["status"] == "signed"
    response = api.post(f"/api/reception/handovers/{hid}/open-order")
    assert response.status_code == 201 and response.json()["status"] == "checked_in"
    assert_error(api.post(f"/api/reception/handovers/{hid}/open-order"), 409, "order_exists")
    body = api.get(f"/api/reception/handovers/{hid}").json()
    assert body["order_number"] == RepairOrder.objects.get().number and len(body["marks"]) == 1 and len(body["photos"]) == 1
    response = api.get(f"/api/reception/handovers/{hid}/pdf", {"lang": "en"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert_error(api.get(f"/api/reception/handovers/{hid}/pdf", {"lang": "fr"}), 422, field="lang")


def test_other_store_and_wrong_role(desk):
    own = Api.session(desk.world.advisor).post("/api/reception/handovers", {"appointment_id": desk.booking.pk}).json()["id"]
    other = Api.session(desk.world.advisor_b)
    assert_error(other.get(f"/api/reception/handovers/{own}"), 404)
    assert_error(other.patch(f"/api/reception/handovers/{own}", {"mileage": 1}), 404)
    assert_error(other.post(f"/api/reception/handovers/{own}/open-order"), 404)
    assert_error(other.get(f"/api/reception/handovers/{own}/pdf"), 404)
    assert_error(other.post("/api/reception/handovers", {"appointment_id": desk.booking.pk}), 404)
    cashier = Api.session(desk.world.staff["cashier"])
    assert_error(cashier.get(f"/api/reception/handovers/{own}"), 403)
    assert_error(cashier.post("/api/reception/handovers", {"vehicle_id": desk.vehicle.pk}), 403)
    foreman = Api.session(desk.world.staff["foreman"])
    assert foreman.get(f"/api/reception/handovers/{own}").status_code == 200
    assert_error(foreman.patch(f"/api/reception/handovers/{own}", {"mileage": 1}), 403)
    assert Handover.objects.get(pk=own).mileage is None


def test_walk_in_figures(desk):
    from aftersales.appointments.models import Appointment

    Appointment.objects.filter(pk=desk.booking.pk).update(channel="walk_in", walk_in_seconds=420)
    api = Api.session(desk.world.manager)
    day = desk.booking.created_at.astimezone(desk.store.zone).date().isoformat()
    body = api.get("/api/reception/walk-in-figures", {"start": day, "end": day, "store_id": desk.store.pk}).json()
    assert body == {"count": 1, "average_minutes": 7.0, "worst_minutes": 7.0, "within_target_share": 100.0, "target_minutes": 10}
    assert_error(api.get("/api/reception/walk-in-figures", {"start": day, "end": "2020-01-01"}), 422, field="end")
