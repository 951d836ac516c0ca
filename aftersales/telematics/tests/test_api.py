"""The telematics API: 401 without a login, another store's device or alert is a 404, bad input names the fields,
the vendors' gateway endpoint checks its HMAC signature and its timestamp."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.telematics.models import Alert, Device, Reading
from aftersales.telematics.services import device_create

pytestmark = pytest.mark.django_db


def test_unauthenticated_is_401():
    api = Api.anonymous()
    for method, path in ENDPOINTS["telematics"]:
        assert_error(api.request(method, fill(path)), 401, "unauthenticated")


def _other_store_device(world):
    vehicle = VehicleFactory(owner=CustomerFactory(home_store=world.b))
    device, _key = device_create(actor=world.manager_b, store=world.b, vehicle=vehicle, device_id="OBD-B-0001")
    return device


def test_other_stores_device_and_alert_are_404(tel):
    world = tel.world
    theirs = _other_store_device(world)
    tel.send(1, dtc=["P0524"])
    alert = Alert.objects.get()
    api = Api.session(world.manager_b)
    for method, path in [("get", f"/api/telematics/devices/{tel.device.pk}"), ("post", f"/api/telematics/devices/{tel.device.pk}/rotate"),
                         ("post", f"/api/telematics/devices/{tel.device.pk}/revoke"), ("get", f"/api/telematics/devices/{tel.device.pk}/readings"),
                         ("post", f"/api/telematics/alerts/{alert.pk}/close")]:
        assert_error(api.request(method, path), 404, "not_found")
    assert Device.objects.get(pk=tel.device.pk).revoked_at is None
    assert {d["id"] for d in api.get("/api/telematics/devices").json()} == {theirs.pk}
    assert api.get("/api/telematics/alerts").json() == []
    mine = Api.session(world.manager)
    assert {d["id"] for d in mine.get("/api/telematics/devices").json()} == {tel.device.pk}
    assert [a["code"] for a in mine.get("/api/telematics/alerts").json()] == ["P0524"]


def test_register_rotate_revoke_through_the_api(world):
    vehicle = VehicleFactory(owner=CustomerFactory(home_store=world.a))
    api = Api.session(world.manager)
    bad = api.post("/api/telematics/devices", {"vehicle_id": 999999, "device_id": "!", "protocol": "nope"})
    body = assert_error(bad, 422)
    assert {e["field"] for e in body["errors"]} == {"device_id", "protocol", "vehicle"}
    assert not Device.objects.exists()
    created = api.post("/api/telematics/devices", {"vehicle_id": vehicle.pk, "device_id": "OBD-API-1"})
    assert created.status_code == 201, created.content
    key = created.json()["key"]
    pk = created.json()["device"]["id"]
    assert assert_error(api.post("/api/telematics/devices", {"vehicle_id": vehicle.pk, "device_id": "OBD-API-1"}), 409)
    rotated = api.post(f"/api/telematics/devices/{pk}/rotate")
    assert rotated.status_code == 200 and rotated.json()["key"] != key and rotated.json()["device"]["key_version"] == 2
    revoked = api.post(f"/api/telematics/devices/{pk}/revoke", {"reason": "sold"})
    assert revoked.json()["revoked_at"]
    assert_error(Api.session(world.advisor).post("/api/telematics/devices", {"vehicle_id": vehicle.pk, "device_id": "OBD-API-2"}), 403)


def test_rules_and_codes(tel):
    api = Api.session(tel.world.manager)
    rules = api.get("/api/telematics/rules").json()
    assert {r["kind"] for r in rules} >= {"battery_low", "misfire", "nev_alarm"}
    body = assert_error(api.patch("/api/telematics/rules/battery_low", {"repeats": 0, "threshold": "20"}), 422)
    assert {e["field"] for e in body["errors"]} == {"repeats", "threshold"}
    ok = api.patch("/api/telematics/rules/battery_low", {"repeats": 5})
    assert ok.status_code == 200 and ok.json()["repeats"] == 5
    assert_error(Api.session(tel.world.advisor).patch("/api/telematics/rules/battery_low", {"repeats": 4}), 403)
    code = api.get("/api/telematics/codes/p0301").json()
    assert code["severity"] == "critical" and code["description_zh"] == "第1缸失火" and code["generic"] is True
    assert "Manufacturer-specific" in api.get("/api/telematics/codes/P1301").json()["description_en"]
    assert_error(api.get("/api/telematics/codes/XYZ"), 422, "code_format", "code")


def test_readings_endpoint(tel):
    tel.send(1, battery_v=12.3, odometer_km=1000)
    rows = Api.session(tel.world.advisor).get(f"/api/telematics/devices/{tel.device.pk}/readings").json()
    assert rows[0]["seq"] == 1 and rows[0]["odometer_km"] == 1000


def _gateway(api, device_id, key, body: bytes, *, stamp: int | None = None, signature: str | None = None):
    stamp = int(time.time()) if stamp is None else stamp
    sig = signature or hmac.new(key.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return api.client.post("/api/telematics/gateway", body, content_type="application/json",
                           headers={"X-Device-Id": device_id, "X-Timestamp": str(stamp), "X-Signature": sig})


def test_gateway_takes_signed_requests_and_refuses_the_rest(tel):
    api = Api.anonymous()
    body = json.dumps({"v": 1, "device": tel.device.device_id, "seq": 1, "time": tel.base.isoformat(), "battery_v": 12.4}).encode()
    assert_error(api.client.post("/api/telematics/gateway", body, content_type="application/json"), 401)
    assert_error(_gateway(api, tel.device.device_id, "wrong-key", body), 401)
    assert_error(_gateway(api, tel.device.device_id, tel.key, body, stamp=int(time.time()) - 3600), 400, "stale_request")
    stranger = json.dumps({"v": 1, "device": "OBD-NOBODY", "seq": 1, "time": tel.base.isoformat()}).encode()
    assert_error(_gateway(api, "OBD-NOBODY", tel.key, stranger), 401)
    assert not Reading.objects.exists()
    ok = _gateway(api, tel.device.device_id, tel.key, body)
    assert ok.status_code == 202 and ok.json()["accepted"] is True
    assert_error(_gateway(api, tel.device.device_id, tel.key, body), 409, "duplicate")
    bad = json.dumps({"v": 1, "device": tel.device.device_id, "seq": 2, "time": "yesterday"}).encode()
    assert_error(_gateway(api, tel.device.device_id, tel.key, bad), 422, "malformed")
    assert Reading.objects.count() == 1
