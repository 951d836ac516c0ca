"""On a 390 px phone: the owner rates a delivered visit in the app, sees the SLA clocks of a complaint, and sets
consents and quiet hours on the "my data" page — headless Chromium (Debian's package)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone

from aftersales.customers.models import Consent
from aftersales.feedback.models import FollowUp
from aftersales.messaging.models import Message
from aftersales.workshop.models import RepairOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.0 Mobile/15E148 Safari/604.1")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"mydata-{name}.png"), full_page=True)


def test_rate_see_the_clock_and_set_my_data_on_a_phone(live_server, world, browser_page, settings):
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
    from aftersales.feedback.services import followup_create_for_order

    settings.AFTERSALES_PUBLIC_URL = live_server.url
    customer = CustomerFactory(group=world.group, home_store=world.a, name="张伟")
    car = VehicleFactory(group=world.group, owner=customer, plate="粤B12345")
    order = RepairOrder.objects.create(store=world.a, number="RO9", customer=customer, vehicle=car, status="delivered",
                                       opened_at=timezone.now(), delivered_at=timezone.now())
    followup_create_for_order(order=order)
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

    page.goto(f"{live_server.url}/app/orders/{order.pk}/")
    page.click("[data-testid=rate-link]")
    page.wait_for_selector("[data-testid=rate-form]")
    page.click("[data-testid=rate-submit]")  # nothing chosen: every question named
    page.wait_for_selector("[data-testid=rate-errors]")
    assert page.locator("[data-testid^=error-]").count() >= 5
    _shot(page, "1-rate-errors")
    for name, score in (("overall", 9), ("attitude", 10), ("quality", 9), ("waiting", 6), ("price", 8), ("recommend", 9)):
        page.locator(f"[data-testid=q-{name}] input[value='{score}']").check()
    page.click("[data-testid=rate-submit]")
    page.wait_for_selector("[data-testid=rate-thanks]")
    assert FollowUp.objects.get(order=order).score_waiting == 6  # a low score: a recovery case with its clock
    _shot(page, "2-rated")

    page.goto(f"{live_server.url}/app/feedback/")
    page.wait_for_selector("[data-testid=case-clocks]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "3-clocks")

    page.goto(f"{live_server.url}/app/")
    page.click("[data-testid=to-privacy]")
    page.wait_for_selector("[data-testid=privacy]")
    page.check("[data-testid=consent-marketing-wechat]")
    page.click("[data-testid=consents-save]")
    page.wait_for_selector("[data-testid=privacy-saved]")
    assert Consent.objects.filter(customer=customer, purpose="marketing", channel="wechat", granted=True).exists()
    page.fill("[data-testid=quiet-start]", "22:00")
    page.click("[data-testid=quiet-save]")  # the end is missing: named
    page.wait_for_selector("[data-testid=error-quiet_end]")
    page.fill("[data-testid=quiet-end]", "07:30")
    page.click("[data-testid=quiet-save]")
    page.wait_for_selector("[data-testid=privacy-saved]")
    customer.refresh_from_db()
    assert customer.quiet_start.strftime("%H:%M") == "22:00" and customer.quiet_end.strftime("%H:%M") == "07:30"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "4-privacy")
