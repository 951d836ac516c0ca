"""Issue 14 in headless Chromium (Debian's package): the car outline at 390 px and at desk size, "Send to supplier" on a
purchase order, the owner choosing how and how often we message them at 390 px, and a form naming every bad field at
once. Screenshots go to var/screenshots/lane/ (AFTERSALES_SHOTS to change)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS") or Path(__file__).resolve().parent.parent / "var" / "screenshots" / "lane")
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.0 Mobile/15E148 Safari/604.1")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _staff_login(page, live_server, user, language="zh-hans"):
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    page.set_default_timeout(40_000)  # a loaded shared machine
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def _outline_ok(page, *, min_width):
    svg = page.locator("[data-testid=car-outline]").bounding_box()
    assert svg["width"] >= min_width, svg
    assert abs(svg["height"] * 2 - svg["width"]) < 2, svg  # 2:1, so a tap's percentages match the drawing
    for label in ("outline-front", "outline-rear"):
        box = page.locator(f"[data-testid={label}]").bounding_box()
        assert svg["x"] <= box["x"] and box["x"] + box["width"] <= svg["x"] + svg["width"], (label, box, svg)
        assert box["height"] >= 9, (label, box)  # readable, not a speck
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    return svg


def test_car_outline_is_usable_on_a_phone_and_at_the_desk(live_server, world, browser_page, settings, tmp_path):
    from aftersales.reception.models import Handover
    from aftersales.reception.services import handover_start

    settings.MEDIA_ROOT = str(tmp_path)
    customer = CustomerFactory(home_store=world.a, name="王芳", title="ms")
    car = VehicleFactory(owner=customer, plate="粤A88888")
    handover = handover_start(actor=world.advisor, store=world.a, vehicle=car)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    _staff_login(page, live_server, world.advisor)
    page.goto(f"{live_server.url}/reception/{handover.pk}/")
    desk = _outline_ok(page, min_width=380)
    assert desk["width"] <= 620
    _shot(page, "outline-desk")

    phone = page.context.browser.new_context(user_agent=PHONE, viewport={"width": 390, "height": 844}, is_mobile=True,
                                             has_touch=True, locale="zh-CN")
    mobile = phone.new_page()
    _staff_login(mobile, live_server, world.advisor)
    mobile.goto(f"{live_server.url}/reception/{handover.pk}/")
    svg = _outline_ok(mobile, min_width=300)
    mobile.locator("[data-testid=car-outline]").scroll_into_view_if_needed()
    svg = mobile.locator("[data-testid=car-outline]").bounding_box()
    mobile.touchscreen.tap(svg["x"] + svg["width"] * 0.75, svg["y"] + svg["height"] * 0.3)  # a finger on the front wing
    mobile.wait_for_selector("#mark-form:not([hidden])")
    assert "d-none" not in (mobile.locator(".pending-pin").get_attribute("class") or "")
    mobile.fill("#mark-form input[name=note]", "右前翼子板划痕")
    mobile.click("#mark-form button[type=submit]")
    mobile.wait_for_selector("[data-testid=damage-pin]")
    mark = Handover.objects.get(pk=handover.pk).marks.get()
    assert 70 < float(mark.x) < 80 and 25 < float(mark.y) < 35
    _outline_ok(mobile, min_width=300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    mobile.locator("[data-testid=car-outline]").screenshot(path=str(SHOTS / "outline-phone-crop.png"))
    _shot(mobile, "outline-phone")
    phone.close()


def test_send_to_supplier_mails_the_pdf_from_the_po_page(live_server, world, browser_page):
    from aftersales.messaging.models import Message
    from aftersales.parts.purchasing import purchase_order_create
    from aftersales.parts.tests.helpers_purchasing import make_part, make_supplier

    supplier = make_supplier(world.group, "广州汽配有限公司", email="orders@gz-parts.example.cn")
    pad = make_part(world.group, "BP-100", name_zh="前刹车片", cost_price="120.00")
    clerk = world.staff["parts_clerk"]
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 4}])
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    _staff_login(page, live_server, clerk)
    page.goto(f"{live_server.url}/parts/purchase-orders/{order.pk}/")
    assert "orders@gz-parts.example.cn" in page.locator("[data-testid=po-mail]").inner_text()
    assert page.locator("[data-testid=po-send]").inner_text().strip() == "发送给供应商"
    page.click("[data-testid=po-send]")
    page.wait_for_selector(".messages")
    assert page.locator("[data-testid=po-status]").inner_text().strip() == "已发送给供应商"
    mail = page.locator("[data-testid=po-mail]").inner_text()
    assert "orders@gz-parts.example.cn" in mail
    assert Message.objects.get(kind="parts.purchase_order").recipient == "orders@gz-parts.example.cn"
    _shot(page, "po-sent")
    with page.expect_response(re.compile(r"/pdf/$")) as info:
        page.evaluate("fetch(document.querySelector('[data-testid=po-pdf]').href)")
    assert info.value.status == 200 and info.value.headers["content-type"] == "application/pdf"


def test_owner_chooses_how_and_how_often_on_a_phone(live_server, world, browser_page, settings):
    from aftersales.customers.models import Customer
    from aftersales.messaging.models import Message

    settings.AFTERSALES_PUBLIC_URL = live_server.url
    customer = CustomerFactory(group=world.group, home_store=world.a, name="张伟", email="")
    VehicleFactory(group=world.group, owner=customer, plate="粤B12345")
    context = browser_page.context.browser.new_context(user_agent=PHONE, viewport={"width": 390, "height": 844},
                                                       locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/app/login/")
    page.fill("[data-testid=mobile]", customer.mobile[3:])
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code]")
    body = Message.objects.filter(kind="portal.sign_in_code").latest("id").body
    page.fill("[data-testid=code]", re.search(r"\b(\d{6})\b", body).group(1))
    page.click("[data-testid=verify]")
    page.wait_for_selector("[data-testid=hello]")
    page.goto(f"{live_server.url}/app/privacy/")
    page.select_option("[data-testid=pref-channel]", "email")  # no address on file: said beside the choice
    page.check("[data-testid=pref-reminders-essential]")
    page.click("[data-testid=preferences-save]")
    page.wait_for_selector("[data-testid=error-preferred_channel]")
    _shot(page, "preferences-error-phone")
    page.select_option("[data-testid=pref-channel]", "app")
    page.check("[data-testid=pref-reminders-essential]")
    page.check("[data-testid=pref-progress-key]")
    page.click("[data-testid=preferences-save]")
    page.wait_for_selector("[data-testid=privacy-saved]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "preferences-saved-phone")
    customer.refresh_from_db()
    assert (customer.preferred_channel, customer.reminder_frequency, customer.progress_frequency) == ("app", "essential", "key")
    assert Customer.objects.filter(pk=customer.pk, reminder_frequency="essential").exists()
    context.close()


def test_new_vehicle_form_names_every_bad_field_at_once(live_server, world, browser_page):
    owner = CustomerFactory(home_store=world.a, name="李娜")
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    _staff_login(page, live_server, world.advisor)
    page.goto(f"{live_server.url}/customers/{owner.pk}/vehicles/new/")
    page.fill("#id_vin", "LSVAB12X")
    page.fill("#id_plate", "12")
    page.fill("#id_make", "丰田")
    page.fill("#id_model", "凯美瑞")
    page.fill("#id_mileage", "-5")
    page.click("button[type=submit]")
    page.wait_for_selector(".errorlist")
    for field in ("vin", "plate", "mileage"):
        assert page.locator(f"#id_{field} ~ .errorlist, .field:has(#id_{field}) .errorlist").count() >= 1, field
    _shot(page, "vehicle-errors-desk")
