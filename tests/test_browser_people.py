"""People in headless Chromium: a technician's own page on a 390 px phone (first month, certificates with the one
expiring soon, sessions, scorecard), and the rating terminal on a tablet (820×1180): paired once, it waits, shows the
order the advisor sends, takes the rating with a few taps, resets, and reaches no staff page."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from aftersales.feedback.models import DeliveryRating
from aftersales.people import kiosk, services, training
from aftersales.workshop.models import RepairOrder
from aftersales.workshop.tests.conftest import authorized_order, floor  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"people-{name}.png"), full_page=True)


def _login(page, live_server, user):
    page.set_default_timeout(45_000)  # the machine may be busy; nothing here waits on a timer but the kiosk reload
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_technicians_own_page_on_a_phone(live_server, floor, browser_page):  # noqa: F811
    from django.utils import timezone

    d = timezone.localtime(timezone.now(), floor.store.zone).date()
    services.certification_record(actor=floor.foreman, holder=floor.tech, kind="hv_ev", issuer="广汽新能源培训中心",
                                  level="初级", number="HV-2025-0113", valid_from=d - dt.timedelta(days=300),
                                  valid_until=d + dt.timedelta(days=40))
    services.certification_record(actor=floor.foreman, holder=floor.tech, kind="ac_refrigerant", issuer="中国汽车维修行业协会",
                                  number="AC-88", valid_from=d - dt.timedelta(days=10), valid_until=d + dt.timedelta(days=700))
    programme = training.programme_start(actor=floor.foreman, store=floor.store, person=floor.tech, mentor=floor.body,
                                         started_on=d - dt.timedelta(days=7))
    for module in list(programme.modules.all())[:3]:
        training.module_sign_off(actor=floor.body, module=module)
    training.session_record(actor=floor.foreman, store=floor.store, held_on=d - dt.timedelta(days=2), trainer="李工",
                            topic="新能源高压安全", results={floor.tech: "85"})
    page = browser_page
    page.set_viewport_size(PHONE)
    _login(page, live_server, floor.tech)
    page.click("[data-testid=nav-people-me]")
    page.wait_for_selector("[data-testid=people-me]")
    assert re.search(r"3 (/|of) 7", page.inner_text("[data-testid=my-programme]"))
    assert page.locator("[data-testid=my-expiring]").is_visible()
    assert page.locator("[data-testid=my-certificate]").count() == 2
    assert "新能源高压安全" in page.inner_text("[data-testid=my-sessions]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "1-technician-own-page")


def test_rating_terminal_on_a_tablet(live_server, floor, browser_page, settings):  # noqa: F811
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    order = authorized_order(floor)
    RepairOrder.objects.filter(pk=order.pk).update(status="ready")
    terminal, key = kiosk.terminal_create(actor=floor.world.manager, store=floor.store, name="交车台 1")
    page = browser_page
    page.set_viewport_size(TABLET)
    _login(page, live_server, floor.advisor)  # somebody left signed in on the tablet
    page.goto(f"{live_server.url}/kiosk/pair/{key}/")
    page.click("[data-testid=pair-confirm]")
    page.wait_for_selector("[data-testid=kiosk-waiting]")
    _shot(page, "2-kiosk-waiting")
    kiosk.terminal_show_order(actor=floor.advisor, terminal=terminal, order=RepairOrder.objects.get(pk=order.pk))
    page.wait_for_selector("[data-testid=kiosk-form]", timeout=12_000)  # the waiting screen reloads itself
    assert order.vehicle.plate in page.inner_text("[data-testid=kiosk-order]")
    page.click("[data-testid=kiosk-submit]")  # nothing chosen: both questions say so
    page.wait_for_selector(".errorlist")
    assert page.locator(".errorlist").count() == 2
    _shot(page, "3-kiosk-errors")
    page.click("[data-testid=visit-5]")
    page.click("[data-testid=advisor-4]")
    page.fill("[data-testid=comment]", "师傅讲解很清楚")
    box = page.locator("[data-testid=visit-5]").bounding_box()
    assert box is not None and box["height"] >= 56
    _shot(page, "4-kiosk-filled")
    page.click("[data-testid=kiosk-submit]")
    page.wait_for_selector("[data-testid=kiosk-thanks]")
    _shot(page, "5-kiosk-thanks")
    page.wait_for_selector("[data-testid=kiosk-waiting]", timeout=12_000)  # reset for the next customer
    rating = DeliveryRating.objects.get(order=order)
    assert (rating.visit_score, rating.advisor_score, rating.comment) == (5, 4, "师傅讲解很清楚")
    assert page.locator("nav").count() == 0
    page.goto(f"{live_server.url}/people/")
    assert "/login/" in page.url  # the tablet holds no staff session
    response = page.goto(f"{live_server.url}/api/workshop/board")
    assert response is not None and response.status == 401


def test_advisor_shows_the_qr_code_and_the_customer_rates_on_the_phone(live_server, floor, browser_page, settings):  # noqa: F811
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    order = authorized_order(floor)
    RepairOrder.objects.filter(pk=order.pk).update(status="ready")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, live_server, floor.advisor)
    page.goto(f"{live_server.url}/people/orders/{order.pk}/rating/")
    page.wait_for_selector("[data-testid=rating-qr] svg")
    _shot(page, "6-delivery-qr")
    link = page.get_attribute("[data-testid=rating-link]", "href")
    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    page.goto(link)
    page.click("[data-testid=visit-4]")
    page.click("[data-testid=advisor-5]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "7-phone-rating")
    page.click("[data-testid=phone-submit]")
    page.wait_for_selector("[data-testid=kiosk-thanks]")
    assert DeliveryRating.objects.get(order=order).channel == "phone"
