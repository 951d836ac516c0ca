"""The rescue API: every endpoint needs a login, is scoped to the user's stores (another store's → 404), refuses bad
input naming every field, and never dispatches a unit twice."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill
from aftersales.rescue.models import RescueCase

from .conftest import CAR, png

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["rescue"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method not in ("get", "delete") else None)
    assert_error(response, 401, "unauthenticated")


def test_dispatch_and_crew_over_the_api(rescue):
    r = rescue
    api = Api.session(r.dispatcher)
    body = api.post("/api/staff/rescue/cases", {"incident": "meteor", "lat": 95, "lng": "x", "caller_phone": "1", "address": "a" * 301})
    err = assert_error(body, 422, field="incident")
    assert {e["field"] for e in err["errors"]} == {"incident", "lat", "lng", "address", "caller_phone"}
    assert not RescueCase.objects.exists()
    response = api.post("/api/staff/rescue/cases", {"incident": "accident", "lat": CAR[0], "lng": CAR[1],
                                                    "vehicle_id": r.vehicle.pk, "drivable": False})
    assert response.status_code == 201, response.content
    cid = response.json()["id"]
    second = api.post("/api/staff/rescue/cases", {"incident": "accident", "lat": CAR[0], "lng": CAR[1]}).json()["id"]
    suggestions = api.get(f"/api/staff/rescue/cases/{cid}/suggestions").json()
    assert [s["unit_id"] for s in suggestions] == [r.tow.pk] and suggestions[0]["minutes"] > 5
    assert [p["unit_id"] for p in api.get("/api/staff/rescue/plan").json()] == [r.tow.pk]
    response = api.post(f"/api/staff/rescue/cases/{cid}/dispatch", {"unit_id": r.tow.pk})
    assert response.status_code == 200 and response.json()["status"] == "dispatched"
    assert_error(api.post(f"/api/staff/rescue/cases/{second}/dispatch", {"unit_id": r.tow.pk}), 409, "unit_busy", "unit")
    assert_error(api.post(f"/api/staff/rescue/cases/{second}/dispatch", {"unit_id": r.van.pk}), 422, "unit_incapable", "unit")
    assert_error(api.post(f"/api/staff/rescue/cases/{cid}/at-store"), 403)  # the dispatcher is not its crew
    crew = Api.session(r.crew)
    assert_error(crew.post(f"/api/staff/rescue/cases/{cid}/at-store"), 409, "illegal_transition", "status")
    assert crew.post(f"/api/staff/rescue/cases/{cid}/crew-accept").json()["status"] == "en_route"
    assert_error(crew.post(f"/api/staff/rescue/cases/{cid}/position", {"lat": 91, "lng": -181}), 422, field="lat")
    eta_before = crew.get(f"/api/staff/rescue/cases/{cid}").json()["eta_at"]
    after = crew.post(f"/api/staff/rescue/cases/{cid}/position", {"lat": 22.588, "lng": 114.079}).json()
    assert after["eta_at"] < eta_before
    assert crew.post(f"/api/staff/rescue/cases/{cid}/on-scene", {"lat": CAR[0], "lng": CAR[1]}).json()["status"] == "on_scene"
    client = Client()
    client.force_login(r.crew)
    fake = io.BytesIO(b"MZ\x90\x00 not a photo")
    fake.name = "x.jpg"
    assert_error(client.post(f"/api/staff/rescue/cases/{cid}/photos", {"photo": fake}), 422, "not_an_image", "photo")
    good = io.BytesIO(png(fmt="JPEG"))
    good.name = "car.jpg"
    assert client.post(f"/api/staff/rescue/cases/{cid}/photos", {"photo": good, "caption": "车头"}).status_code == 201
    assert_error(crew.post(f"/api/staff/rescue/cases/{cid}/finish", {"work_done": "x" * 501}), 422, field="work_done")
    assert crew.post(f"/api/staff/rescue/cases/{cid}/finish", {"tow": True}).json()["status"] == "towing"
    assert crew.post(f"/api/staff/rescue/cases/{cid}/at-store").json()["status"] == "at_store"
    response = api.post(f"/api/staff/rescue/cases/{cid}/check-in")
    assert response.status_code == 201, response.content
    detail = api.get(f"/api/staff/rescue/cases/{cid}").json()
    assert detail["status"] == "closed" and detail["handover_id"] == response.json()["handover_id"]
    assert [e["to_state"] for e in detail["events"]] == [
        "requested", "accepted", "dispatched", "en_route", "on_scene", "towing", "at_store", "closed"]
    figures = api.get("/api/staff/rescue/figures", {"start": "2020-01-01", "end": "2020-01-31"})
    assert figures.status_code == 200
    assert_error(api.get("/api/staff/rescue/figures", {"start": "2020-02-01", "end": "2020-01-01"}), 422, field="end")


def test_other_store_is_404_and_roles(rescue):
    r = rescue
    api = Api.session(r.dispatcher)
    cid = api.post("/api/staff/rescue/cases", {"incident": "tyre", "lat": CAR[0], "lng": CAR[1]}).json()["id"]
    other = Api.session(r.world.advisor_b)
    body = {"unit_id": r.tow_b.pk, "signature": "data:image/png;base64,", "lat": 1, "lng": 1, "reason": "x"}
    for method, path in ENDPOINTS["rescue"]:
        if "{case_id}" in path and not path.endswith("/photos"):
            response = other.request(method, path.replace("{case_id}", str(cid)), body if method != "get" else None)
            assert response.status_code == 404, (path, response.content)
    client = Client()
    client.force_login(r.world.advisor_b)
    photo = io.BytesIO(png(fmt="JPEG"))
    photo.name = "a.jpg"
    assert_error(client.post(f"/api/staff/rescue/cases/{cid}/photos", {"photo": photo}), 404)
    assert_error(other.post(f"/api/staff/rescue/cases/{cid}/dispatch", {"unit_id": r.tow_b.pk}), 404)
    assert_error(api.post(f"/api/staff/rescue/cases/{cid}/dispatch", {"unit_id": r.tow_b.pk}), 404)  # B's unit
    assert_error(other.post(f"/api/staff/rescue/units/{r.tow.pk}/duty", {"on_duty": False}), 404)
    assert r.tow_b.pk not in {u["id"] for u in api.get("/api/staff/rescue/units").json()}
    assert_error(api.get("/api/staff/rescue/cases", {"store_id": r.world.b.pk}), 404)
    cashier = Api.session(r.world.staff["cashier"])
    assert_error(cashier.get(f"/api/staff/rescue/cases/{cid}"), 403)
    assert_error(cashier.post("/api/staff/rescue/cases", {"incident": "tyre", "lat": 1, "lng": 1}), 403)
    assert_error(api.post("/api/staff/rescue/units", {"name": "X", "kind": "tow_truck"}), 403)  # not a manager
    manager = Api.session(r.world.manager)
    err = assert_error(manager.post("/api/staff/rescue/units", {"name": "", "kind": "bike", "capabilities": ["fly"], "lat": 99}), 422)
    assert {e["field"] for e in err["errors"]} == {"name", "kind", "capabilities", "lat"}
    assert_error(manager.post("/api/staff/rescue/units", {"name": "Y", "kind": "tow_truck", "crew_ids": [r.world.advisor_b.pk]}), 422, field="crew_ids")
    assert manager.post("/api/staff/rescue/units", {"name": "Y", "kind": "tow_truck", "capabilities": ["flatbed"]}).status_code == 201
    assert manager.post(f"/api/staff/rescue/units/{r.tow.pk}/duty", {"on_duty": False}).json()["status"] == "off_duty"
    assert api.get(f"/api/staff/rescue/cases/{cid}/suggestions").json()[0]["unit_id"] == r.van.pk
