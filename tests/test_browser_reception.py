"""Reception in headless Chromium: receive a booked car, mark damage on the outline, the customer signs with the
mouse on the canvas, the repair order opens; then the customer's link on a phone-sized screen."""

from __future__ import annotations

import pytest

from aftersales.appointments.services import appointment_book
from aftersales.appointments.tests.conftest import local, next_monday, setup_store
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign(page, selector="[data-testid=signature-pad]"):
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 100)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(box["x"] + 20 + i * 20, box["y"] + (30 if i % 2 else 110), steps=3)
    page.mouse.up()


def test_advisor_receives_a_booked_car(live_server, world, browser_page, settings, tmp_path):
    from aftersales.reception.models import Handover
    from aftersales.reception.services import handover_request_signature, signing_token
    from aftersales.workshop.models import RepairOrder

    settings.MEDIA_ROOT = str(tmp_path)
    setup = setup_store(world.a)
    customer = CustomerFactory(home_store=world.a, name="王芳", title="ms")
    vehicle = VehicleFactory(owner=customer, plate="粤A88888")
    booking = appointment_book(actor=world.advisor, store=world.a, service_type=setup.maintenance,
                               start=local(next_monday(), "10:00"), customer=customer, vehicle=vehicle,
                               fault_description="空调不凉")
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.advisor.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/appointments/{booking.pk}/")
    page.click("[data-testid=receive]")
    page.wait_for_selector("[data-testid=handover-form]")
    page.fill("#id_mileage", "23456")
    page.fill("#id_belongings", "雨伞")
    page.check("input[name=conditions][value=ac_on]")
    page.click("[data-testid=save-sheet]")
    page.wait_for_selector(".messages")

    outline = page.locator("svg[data-outline]").bounding_box()
    page.mouse.click(outline["x"] + outline["width"] * 0.25, outline["y"] + outline["height"] * 0.5)
    page.select_option("#mark-form select[name=kind]", "dent")
    page.fill("#mark-form input[name=note]", "左前门凹陷")
    page.click("#mark-form button[type=submit]")
    page.wait_for_selector("[data-testid=damage-pin]")
    assert "左前门凹陷" in page.locator("[data-testid=damage-list]").inner_text()

    page.click("[data-testid=sign-form] button[type=submit]")  # empty canvas: refused in the page
    assert page.locator("[data-empty-message]").first.is_visible()
    sign(page)
    page.click("[data-testid=sign-form] button[type=submit]")
    page.wait_for_selector("[data-testid=signature-image]")
    # the signature is a private file: it loads through its signed address (common/media.py), not a broken link
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=signature-image]');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=15000)
    page.click("[data-testid=open-order]")
    page.wait_for_selector("[data-testid=handover-order]")

    handover = Handover.objects.get()
    order = RepairOrder.objects.get()
    assert handover.order_id == order.pk and handover.status == "signed" and handover.signed_via == "screen"
    assert (order.mileage_in, order.status) == (23456, "checked_in") and "空调不凉" in order.complaint
    x = float(handover.marks.get().x)
    assert 20 < x < 30

    # the same sheet for another car, signed by the customer on a phone through the link
    other = VehicleFactory(owner=customer, plate="粤A99999")
    page.goto(f"{live_server.url}/reception/?store={world.a.pk}")
    from aftersales.reception.services import handover_start, handover_update

    second = handover_start(actor=world.advisor, store=world.a, vehicle=other)
    handover_update(actor=world.advisor, handover=second, data={"mileage": 500, "energy_level": 80})
    handover_request_signature(actor=world.advisor, handover=second)
    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    mobile.goto(f"{live_server.url}/h/{signing_token(second)}/")
    mobile.wait_for_selector("[data-testid=public-sign]")
    assert "粤A99999" in mobile.content()
    sign(mobile)
    mobile.click("[data-testid=confirm-sign]")
    mobile.wait_for_selector("[data-testid=public-message]")
    second.refresh_from_db()
    assert second.status == "signed" and second.signed_via == "link"
    phone.close()
