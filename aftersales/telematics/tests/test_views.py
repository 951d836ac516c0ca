"""The staff screens: who sees what, another store's device is a 404, bad input is named with nothing written; the
alert's booking link lands on the owner app's form with the service and the problem filled in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.telematics.models import AlertRule, Device
from aftersales.telematics.services import device_create

pytestmark = pytest.mark.django_db


def test_pages_by_role_and_store(client, tel):
    world = tel.world
    tel.send(1, dtc=["P0524"], battery_v=12.1)
    client.force_login(world.advisor)
    home = client.get(f"/telematics/?store={world.a.pk}")
    assert home.status_code == 200
    text = home.content.decode()
    assert "OBD-A-0001" in text and "粤A12345" in text and 'data-testid="alert-row"' in text
    assert "P0524" in text  # with its description, never alone
    assert client.get(f"/telematics/devices/{tel.device.pk}/").status_code == 200
    assert client.get("/telematics/devices/new/").status_code == 403
    assert client.post(f"/telematics/devices/{tel.device.pk}/revoke/").status_code == 302
    assert Device.objects.get().revoked_at is None  # the advisor may not: refused with a message
    other = VehicleFactory(owner=CustomerFactory(home_store=world.b))
    theirs, _key = device_create(actor=world.manager_b, store=world.b, vehicle=other, device_id="OBD-B-9")
    assert client.get(f"/telematics/devices/{theirs.pk}/").status_code == 404
    assert client.post(f"/telematics/devices/{theirs.pk}/rotate/").status_code == 404
    client.force_login(world.technician)
    assert client.get("/telematics/").status_code == 403


def test_register_form_names_every_bad_field_and_writes_nothing(client, tel):
    client.force_login(tel.world.manager)
    response = client.post("/telematics/devices/new/", {"store": tel.world.a.pk, "vehicle": "NOPE", "device_id": "!", "protocol": "x"})
    assert response.status_code == 422
    errors = response.context["errors"]
    assert set(errors) == {"vehicle", "device_id", "protocol"}
    assert Device.objects.count() == 1
    ok = client.post("/telematics/devices/new/", {"store": tel.world.a.pk, "vehicle": tel.vehicle.vin, "device_id": "OBD-A-0002"})
    assert ok.status_code == 302
    page = client.get(ok["Location"]).content.decode()
    assert 'data-testid="device-key"' in page
    assert 'data-testid="device-key"' not in client.get(ok["Location"]).content.decode()  # once


def test_rules_form(client, tel):
    client.force_login(tel.world.manager)
    bad = client.post(f"/telematics/rules/?store={tel.world.a.pk}", {
        "battery_low-present": "1", "battery_low-enabled": "1", "battery_low-repeats": "0", "battery_low-threshold": "99",
        "battery_low-service_kind": "inspection"})
    assert bad.status_code == 422
    assert set(dict(bad.context["rows"][0][1])) >= {"repeats", "threshold"} or any(err for _r, err in bad.context["rows"])
    good = client.post(f"/telematics/rules/?store={tel.world.a.pk}", {
        "battery_low-present": "1", "battery_low-enabled": "1", "battery_low-repeats": "5", "battery_low-threshold": "12.0",
        "battery_low-service_kind": "inspection"})
    assert good.status_code == 302
    assert AlertRule.objects.get(store=tel.world.a, kind="battery_low").repeats == 5
    client.force_login(tel.world.advisor)
    assert client.get("/telematics/rules/").status_code == 200  # advisors read the rules
    client.post(f"/telematics/rules/?store={tel.world.a.pk}", {"battery_low-present": "1", "battery_low-repeats": "9",
                                                                "battery_low-service_kind": "inspection"})
    assert AlertRule.objects.get(store=tel.world.a, kind="battery_low").repeats == 5


def test_alert_booking_link_carries_service_and_problem_to_the_owner_app(client, tel):
    from aftersales.appointments.models import ServiceType
    from aftersales.messaging.models import Message

    service = ServiceType.objects.create(store=tel.world.a, name_zh="故障诊断", name_en="Diagnosis", kind="repair", duration_minutes=60)
    tel.send(1, dtc=["P0524"])
    body = Message.objects.get(kind="telematics.alert_critical").body
    link = next(word for word in body.split() if "/book/" in word).split("/book/", 1)[1]
    response = client.get(f"/book/{link}")
    assert response.status_code == 302
    target = parse_qs(urlsplit(parse_qs(urlsplit(response["Location"]).query)["next"][0]).query)
    assert target["service_type"] == [str(service.pk)] and target["v"] == [str(tel.vehicle.pk)]
    assert "P0524" in target["fault_description"][0]
