"""A manager at desk size: the connected-vehicles screen from the navigation, registering a device (its key shown
once), the car's readings charted, an alert from a real message, closing it, rotating and revoking the key, the
alert rules, and the alert on the customer 360 page; in headless Chromium (Debian's package)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.telematics import credentials
from aftersales.telematics.models import Alert, Device, Reading
from aftersales.telematics.services import ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS") or Path(__file__).resolve().parent.parent / "var" / "screenshots")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"telematics-{name}.png"), full_page=True)


def test_manager_registers_a_device_watches_readings_and_handles_an_alert(live_server, world, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    owner = CustomerFactory(home_store=world.a, name="王芳")
    VehicleFactory(owner=owner, plate="粤A88888", make="BYD", model="汉 EV", fuel_type="ev")

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.manager.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("[data-testid=nav-telematics]")
    page.wait_for_selector("[data-testid=device-list]")
    page.click("[data-testid=device-new-link]")
    page.fill("#vehicle", "粤A00000")  # no such car: the form says so and keeps what was typed
    page.fill("#device_id", "OBD-8888")
    page.click("[data-testid=device-form] button")
    page.wait_for_selector(".error")
    assert page.input_value("#device_id") == "OBD-8888"
    assert not Device.objects.exists()
    page.fill("#vehicle", "粤A88888")
    page.click("[data-testid=device-form] button")
    page.wait_for_selector("[data-testid=device-key]")
    key = page.locator("[data-testid=device-key] code").inner_text().strip()
    device = Device.objects.get()
    assert device.key_fingerprint == credentials.fingerprint(key)

    # the car reports: a day of readings, the last ones with a level-3 alarm
    start = timezone.now() - dt.timedelta(hours=6)
    for seq in range(1, 25):
        body = {"v": 1, "device": "OBD-8888", "seq": seq, "time": (start + dt.timedelta(minutes=15 * seq)).isoformat(),
                "odometer_km": 20000 + seq * 3, "battery_v": 12.6 - seq * 0.02, "charge_pct": 90 - seq,
                "ignition": seq % 4 != 0, "nev_alarm": 3 if seq >= 23 else 0, "gps": {"lat": 23.13, "lon": 113.26}}
        assert ingest(payload=json.dumps(credentials.sign_message(key, body)).encode(), topic_device="OBD-8888").accepted
    assert Reading.objects.count() == 24
    page.reload()
    assert page.locator("[data-testid=device-key]").count() == 0  # the key is shown once only
    page.wait_for_selector("[data-testid=chart-battery] canvas")
    assert page.locator("[data-testid=chart-level] canvas").count() == 1
    alerts = page.locator("[data-testid=device-alerts]")
    assert alerts.locator("tbody tr").count() == 1 and "3" in alerts.inner_text()
    _shot(page, "device")

    page.click("[data-testid=telematics-nav] a >> nth=0")
    row = page.locator("[data-testid=alert-row]", has_text="粤A88888")
    row.wait_for()
    assert "王芳" in row.inner_text()
    assert page.locator("[data-testid=device-row]", has_text="OBD-8888").locator(".chip.bad").inner_text() == "1"
    _shot(page, "home")

    # the 360 page shows the open alert
    page.goto(f"{live_server.url}/customers/{owner.pk}/")
    section = page.locator("[data-testid=customer-telematics-alerts]")
    section.wait_for()
    assert "粤A88888" in section.inner_text()
    _shot(page, "customer-360")

    page.goto(f"{live_server.url}/telematics/?store={world.a.pk}")
    page.locator("[data-testid=alert-row]", has_text="粤A88888").locator("[data-testid=alert-close]").click()
    page.wait_for_selector("ul.messages")
    assert page.locator("[data-testid=alert-row]").count() == 0
    assert Alert.objects.get().status == "closed"

    # rotate, then revoke (each asks first)
    page.goto(f"{live_server.url}/telematics/devices/{device.pk}/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=rotate]")
    page.wait_for_selector("[data-testid=device-key]")
    new_key = page.locator("[data-testid=device-key] code").inner_text().strip()
    assert new_key != key
    page.click("[data-testid=revoke]")
    page.wait_for_selector("ul.messages")
    assert Device.objects.get().revoked_at is not None
    assert page.locator("[data-testid=rotate]").count() == 0

    # the alert rules: a bad value is named, a good one saved
    page.click("[data-testid=rules-link]")
    page.fill("[name=battery_low-repeats]", "0")
    page.click("[data-testid=rules-save]")
    page.wait_for_selector("[data-testid=rule-battery_low] .error")
    _shot(page, "rules-error")
    page.fill("[name=battery_low-repeats]", "4")
    page.click("[data-testid=rules-save]")
    page.wait_for_selector("ul.messages")
    from aftersales.telematics.models import AlertRule

    assert AlertRule.objects.get(store=world.a, kind="battery_low").repeats == 4
    _shot(page, "rules")


def test_advisor_sees_but_cannot_register_or_revoke(live_server, world, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    car = VehicleFactory(owner=CustomerFactory(home_store=world.a), plate="粤A77777")
    from aftersales.telematics.services import device_create

    device_create(actor=world.manager, store=world.a, vehicle=car, device_id="OBD-7777")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.advisor.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("[data-testid=nav-telematics]")
    page.wait_for_selector("[data-testid=device-row]")
    assert page.locator("[data-testid=device-new-link]").count() == 0
    page.click("text=OBD-7777")
    page.wait_for_selector("[data-testid=device-status]")
    assert page.locator("[data-testid=revoke]").count() == 0
    # another store's device is a 404
    other = VehicleFactory(owner=CustomerFactory(home_store=world.b))
    theirs, _k = device_create(actor=world.manager_b, store=world.b, vehicle=other, device_id="OBD-B-1")
    response = page.goto(f"{live_server.url}/telematics/devices/{theirs.pk}/")
    assert response.status == 404
