"""Issue 21 in headless Chromium: the advisor types a plate at reception and sees the connected car's open alert with
its severity and recommended service; the estimate editor's diagnosis panel shows the customer's photos."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("AFTERSALES_SCREENSHOTS")


def _login(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_reception_greeting_shows_alerts_and_the_panel_shows_photos(live_server, world, browser_page):
    from aftersales.appointments.models import ServiceType
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
    from aftersales.estimates.services import fault_photos_add
    from aftersales.estimates.tests.conftest import upload
    from aftersales.telematics import credentials
    from aftersales.telematics.services import device_create, ingest
    from aftersales.workshop.services import repair_order_check_in

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.set_default_timeout(60_000)  # a shared, busy machine
    page.set_default_navigation_timeout(60_000)
    ServiceType.objects.create(store=world.a, code="diag", name_zh="故障诊断", name_en="Fault diagnosis", kind="repair")
    owner = CustomerFactory(home_store=world.a, name="王芳", preferred_advisor=world.advisor)
    car = VehicleFactory(owner=owner, plate="粤A12345", make="Toyota", model="Camry")
    device, key = device_create(actor=world.manager, store=world.a, vehicle=car, device_id="OBD-A-0001")
    body = {"v": 1, "device": device.device_id, "seq": 1, "time": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
            "dtc": ["P0524"]}
    assert ingest(payload=json.dumps(credentials.sign_message(key, body)).encode(), topic_device=device.device_id).accepted

    world.advisor.language = "zh-hans"
    world.advisor.save(update_fields=["language"])
    _login(page, live_server, world.advisor)
    page.goto(f"{live_server.url}/appointments/reception/?store={world.a.pk}")
    page.fill("[data-testid=reception-input]", "粤A12345")
    page.locator("[data-testid=reception-alert]").wait_for()
    text = page.locator("[data-testid=reception-alerts]").inner_text()
    assert "P0524" in text and "严重" in text and "故障诊断" in text, text
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/reception-alerts.png", full_page=True)

    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=owner, vehicle=car, mileage=42000,
                                  complaint="刹车的时候有异响，见照片")
    fault_photos_add(actor=world.advisor, order=order, photos=[upload("a.jpg"), upload("b.jpg")])
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    page.locator("[data-testid=diagnosis-photo]").first.wait_for()
    assert page.locator("[data-testid=diagnosis-photo] img").count() == 2
    first = page.locator("[data-testid=diagnosis-photo] img").first
    first.scroll_into_view_if_needed()  # the thumbnails load lazily
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first.element_handle())  # served
    if SHOTS:
        page.locator("[data-testid=diagnosis]").screenshot(path=f"{SHOTS}/diagnosis-photos.png")
