"""The car owner on a 390 px phone: signs in with the code read from the outbox, sees home, books a real free slot,
follows the car in the workshop and approves the estimate — headless Chromium (Debian's package)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aftersales.appointments.models import Appointment
from aftersales.appointments.tests.conftest import next_monday, setup_store
from aftersales.estimates import services
from aftersales.estimates.models import Authorization, FaultPhoto
from aftersales.estimates.tests.conftest import shop  # noqa: F401 - the fixture
from aftersales.messaging.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def _photo(name):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 40, 40)).save(buf, "JPEG")
    return {"name": name, "mimeType": "image/jpeg", "buffer": buf.getvalue()}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"portal-{name}.png"), full_page=True)


def test_owner_signs_in_books_follows_and_approves_on_a_phone(live_server, world, shop, browser_page, settings):  # noqa: F811
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    setup = setup_store(world.a)
    monday = next_monday()
    customer, order = shop.customer, shop.order
    (oil,) = services.estimate_add_operation(actor=world.advisor, order=order, operation=shop.oil_service)
    services.estimate_send(actor=world.advisor, order=order, note="按时保养")

    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/app/")
    page.fill("[data-testid=mobile]", customer.mobile[3:])  # as typed on a phone: 11 digits, no +86
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code]")
    _shot(page, "1-code")
    body = Message.objects.filter(kind="portal.sign_in_code").latest("id").body
    page.fill("[data-testid=code]", re.search(r"\b(\d{6})\b", body).group(1))
    page.click("[data-testid=verify]")

    page.wait_for_selector("[data-testid=hello]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "粤B12345" in page.inner_text("[data-testid=car]")
    assert page.inner_text("[data-testid=step-current]") == "待确认"
    _shot(page, "2-home")

    page.click("[data-testid=book-car]")
    page.wait_for_selector("[data-testid=book]")
    page.select_option("[data-testid=service-type]", str(setup.maintenance.pk))
    page.fill("[data-testid=day]", monday.isoformat())
    with page.expect_response(lambda r: "part=slots" in r.url and f"day={monday.isoformat()}" in r.url):
        page.dispatch_event("[data-testid=day]", "change")  # htmx fetches that day's free times from the engine
    page.wait_for_function("document.querySelector('#slots').innerText.includes('10:00')")
    page.wait_for_timeout(200)  # let htmx finish settling the swapped slots
    page.locator("label.slot", has_text="10:00").first.click()
    page.fill("[data-testid=fault]", "刹车有异响")
    page.set_input_files("[data-testid=fault-photos]", files=[_photo("brake.jpg")])  # taken with the phone's camera
    page.wait_for_selector("[data-testid=diagnosis]")  # a first hint from the owner's words (issue 21)
    assert "制动系统" in page.inner_text("[data-testid=diagnosis]")
    _shot(page, "3-book")
    with page.expect_navigation(timeout=60_000):  # the booking takes the capacity locks: allow a loaded machine
        page.click("[data-testid=book-submit]")
    assert page.locator("[data-testid=appointment-page]").count() == 1, page.inner_text("main")
    assert "10:00" in page.inner_text("[data-testid=appointment-when]")
    appointment = Appointment.objects.get()
    assert (appointment.customer_id, appointment.channel, appointment.fault_description) == (customer.pk, "portal", "刹车有异响")
    assert "已发送 1 张照片" in page.inner_text("[data-testid=photo-count]")
    assert list(FaultPhoto.objects.values_list("appointment_id", flat=True)) == [appointment.pk]
    _shot(page, "4-booked")

    page.click("[data-testid=tab-home]")
    page.click("[data-testid=open-order]")
    page.wait_for_selector("[data-testid=pending]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "5-follow")
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=approve-page]")
    page.click(f"[data-testid=approve-{oil.pk}]")
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 15, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 20, box["y"] + box["height"] - 20, steps=8)
    page.mouse.up()
    page.click("[data-testid=approve-submit]")
    page.wait_for_selector("[data-testid=decided]")
    assert Authorization.objects.get().approved_total > 0

    page.goto(f"{live_server.url}/app/orders/{order.pk}/")
    page.wait_for_selector("[data-testid=approvals]")
    assert "更换机油" in page.inner_text("[data-testid=approvals]")
    assert page.inner_text("[data-testid=step-current]") == "维修中"
    _shot(page, "6-approved")
    page.click("[data-testid=lang-switch]")
    page.wait_for_selector("[data-testid=approvals]")
    assert "What you approved" in page.inner_text("body")
    _shot(page, "7-english")

    # complain from the phone, see the case with its status; the home screen also fits a 360 px phone
    page.goto(f"{live_server.url}/app/feedback/?lang=zh-hans")
    page.fill("[data-testid=feedback-text]", "等待时间太长")
    page.click("[data-testid=feedback-submit]")
    page.wait_for_selector("[data-testid=feedback-sent]")
    assert "等待时间太长" in page.inner_text("[data-testid=case]")
    _shot(page, "8-feedback")
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{live_server.url}/app/points/")
    page.wait_for_selector("[data-testid=referral-code]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    _shot(page, "9-points-360")
