"""An advisor opens the care calendar, sees today's reminder and records that the customer booked, in headless
Chromium (Debian's package)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.care.models import Reminder
from aftersales.care.services import reminder_sweep
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_advisor_records_a_booking_on_the_care_calendar(live_server, world, browser_page):
    page = browser_page
    today = timezone.localdate()
    car = VehicleFactory(owner=CustomerFactory(home_store=world.a, name="王芳"), plate="粤B54321",
                         insurance_expiry=today + dt.timedelta(days=7))
    reminder_sweep(today=today)
    reminder = Reminder.objects.get(vehicle=car, kind="insurance")

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.advisor.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("[data-testid=nav-care]")

    row = page.locator("[data-testid=sent-today] [data-testid=reminder]", has_text="粤B54321")
    row.wait_for()
    assert "王芳" in row.inner_text()
    row.locator("[data-testid=act-booked]").click()
    page.wait_for_selector("ul.messages")
    row = page.locator("[data-testid=sent-today] [data-testid=reminder]", has_text="粤B54321")
    from django.utils import translation

    with translation.override(page.locator("html").get_attribute("lang") or "zh-hans"):  # the page's language
        expected = str(reminder.__class__(status="booked").get_status_display())
    assert row.locator("[data-testid=reminder-status]").inner_text() == expected
    assert row.locator("[data-testid=act-booked]").count() == 0
    reminder.refresh_from_db()
    assert reminder.status == "booked" and reminder.action_by_id == world.advisor.pk
