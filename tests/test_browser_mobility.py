"""Courtesy cars in headless Chromium at desk size: an advisor books a car against a repair order, a second booking
of the same car for the same time (from another tab) is refused, the car goes out on a signed contract and comes
back with new damage, which is charged on the repair order."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from aftersales.mobility.tests.conftest import checked_in

from .test_browser_reception import sign as _sign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("AFTERSALES_SHOTS") or str(Path(__file__).resolve().parent.parent / "var" / "screenshots")


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def local(when):
    return timezone.localtime(when, dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")


def sign(page):
    page.locator("[data-testid=signature-pad]").scroll_into_view_if_needed()
    _sign(page)


def login(page, live_server, user):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url.startswith(live_server.url) and "/login/" not in url)  # a driver lands on their trips


def test_advisor_books_lends_and_takes_back_a_courtesy_car(live_server, world, browser_page, settings, tmp_path):
    from aftersales.common.tests.factories import make_vin
    from aftersales.mobility.models import CourtesyBooking
    from aftersales.mobility.services import courtesy_car_add
    from aftersales.workshop.models import RepairJob

    settings.MEDIA_ROOT = str(tmp_path)
    courtesy_car_add(actor=world.manager, store=world.a, plate="粤A12345", vin=make_vin(), model_name="卡罗拉",
                     insurance_expires="2040-01-01", mileage=20000)
    order = checked_in(world, world.a, name="王芳")
    other_order = checked_in(world, world.a, name="刘强")
    start = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=1)
    end = start + dt.timedelta(days=1)

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, world.advisor)

    page.click("[data-testid=nav-mobility]")
    page.wait_for_selector("[data-testid=fleet-table]")
    page.click("[data-testid=book-car]")
    page.fill("#b-order", order.number)
    page.fill("#b-from", local(start))
    page.fill("#b-until", local(end))
    page.click("[data-testid=find-cars]")
    page.wait_for_selector("[data-testid=book-form]")

    # a second advisor's tab: the same car for an overlapping time, for another order
    second = page.context.browser.new_context(locale="zh-CN").new_page()
    login(second, live_server, world.manager)
    second.goto(f"{live_server.url}/mobility/book/?order={other_order.number}&starts_at={local(start + dt.timedelta(hours=2))}&ends_at={local(end)}")
    second.wait_for_selector("[data-testid=book-submit]")

    page.click("[data-testid=book-submit]")
    page.wait_for_selector("[data-testid=hand-out-form]")
    second.click("[data-testid=book-submit]")
    second.wait_for_selector("[data-field=car]")
    assert any(w in second.locator("[data-field=car]").inner_text() for w in ("already booked", "已被预订"))
    shot(second, "mobility-overlap-refused")
    assert CourtesyBooking.objects.count() == 1

    # damage already on the car at hand-out
    outline = page.locator("svg[data-outline]").bounding_box()
    page.mouse.click(outline["x"] + outline["width"] * 0.2, outline["y"] + outline["height"] * 0.3)
    page.fill("#mark-form input[name=note]", "前保险杠旧划痕")
    page.click("#mark-form button[type=submit]")
    page.wait_for_selector("[data-testid=damage-pin]")
    # the contract out: a bad mileage first, then the real one
    page.fill("#o-lic", "440101199001011234")
    page.fill("#o-licx", "2040-01-01")
    page.fill("#o-dep", "2000")
    page.fill("#o-km", "100")
    page.fill("#o-en", "80")
    sign(page)
    page.click("[data-testid=hand-out]")
    page.wait_for_selector("[data-field=mileage]")
    page.fill("#o-km", "20010")
    sign(page)
    shot(page, "mobility-contract-out")
    page.click("[data-testid=hand-out]")
    page.wait_for_selector("[data-testid=return-form]")
    assert "前保险杠旧划痕" in page.locator("[data-testid=marks-out]").inner_text()

    # back with a new dent: marked on the return outline, charged
    outline = page.locator("svg[data-outline]").bounding_box()
    page.mouse.click(outline["x"] + outline["width"] * 0.7, outline["y"] + outline["height"] * 0.6)
    page.select_option("#mark-form select[name=kind]", "dent")
    page.fill("#mark-form input[name=note]", "右后门凹陷")
    page.click("#mark-form button[type=submit]")
    page.wait_for_selector("[data-testid=marks-in] >> text=右后门凹陷")
    page.fill("#i-km", "20150")
    page.fill("#i-en", "70")
    page.fill("#i-dmg", "800")
    sign(page)
    page.click("[data-testid=take-back]")
    page.wait_for_selector("[data-testid=contract-in]")
    shot(page, "mobility-returned")
    booking = CourtesyBooking.objects.get()
    assert booking.status == "returned" and booking.damage_charge == 800 and booking.fuel_charge == 50
    job = RepairJob.objects.get(pk=booking.charge_job_id)
    assert job.order_id == order.pk and job.status == "authorized"
    assert "800" in page.locator("[data-testid=damage-charge]").inner_text()

    page.click("[data-testid=nav-mobility]")
    page.wait_for_selector("[data-testid=fleet-damage]")
    assert page.locator("[data-testid=fleet-damage]").inner_text() == "1"
    shot(page, "mobility-fleet")
