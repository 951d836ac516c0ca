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


def _login(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_call_centre_works_the_overdue_list(live_server, world, browser_page, tmp_path):
    """A maintenance reminder whose date passed last week is on the calendar's overdue list; the agent records the
    booking and it leaves the list (issue 15: overdue reminders were hidden from "this week")."""
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    today = timezone.localdate()
    car = VehicleFactory(owner=CustomerFactory(home_store=world.a, name="逾期客户"), plate="粤B70001")
    Reminder.objects.create(store=world.a, customer=car.owner, vehicle=car, kind="maintenance", due_km=20000,
                            due_date=today - dt.timedelta(days=6), lead_days=7, remind_on=today - dt.timedelta(days=13),
                            status="sent")
    _login(page, live_server, world.staff["call_centre_agent"])
    page.goto(f"{live_server.url}/care/")
    row = page.locator("[data-testid=overdue] [data-testid=reminder]", has_text="粤B70001")
    row.wait_for()
    assert "逾期客户" in row.inner_text()
    page.screenshot(path=str(tmp_path / "overdue.png"), full_page=True)
    row.locator("[data-testid=act-booked]").click()
    page.wait_for_selector("ul.messages")
    assert page.locator("[data-testid=overdue] [data-testid=reminder]", has_text="粤B70001").count() == 0


def test_advisor_sees_imported_history_and_what_is_due_next_on_the_360(live_server, world, browser_page, tmp_path):
    from aftersales.care.tests.test_imported_history import run_import
    from aftersales.common.tests.factories import make_vin
    from aftersales.customers.models import Customer

    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    vin = make_vin()
    run_import(world, f"2025-09-20,a,13800138001,张三,{vin},粤A12345,Toyota,Camry,8000,900.00,,更换雨刮,OLD-1",
               f"2026-03-02,a,13800138001,张三,{vin},粤A12345,Toyota,Camry,12000,1500.00,100.00,机油保养,OLD-2")
    reminder_sweep(today=dt.date(2026, 8, 26), send=False)
    zhang = Customer.objects.get(mobile="+8613800138001")
    _login(page, live_server, world.advisor)
    page.goto(f"{live_server.url}/customers/{zhang.pk}/")
    visits = page.locator("#visits [data-testid=visit]")
    assert visits.count() == 2 and "2026-03-02" in visits.first.inner_text()
    assert "2,300.00" in page.locator("[data-testid=visit-totals]").inner_text()
    upcoming = page.locator("[data-testid=care-date][data-kind=maintenance]")
    assert "2026-09-02" in upcoming.inner_text()
    # the tier card has no table squeezed into it any more: a link to the history
    assert page.locator("[data-testid=tier-panel] table").count() == 0
    box = page.locator("[data-testid=tier-panel]").bounding_box()
    assert box and box["width"] > 250
    page.screenshot(path=str(tmp_path / "360.png"), full_page=True)
