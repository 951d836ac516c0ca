"""An advisor books a phone appointment by clicking a free slot, in headless Chromium (Debian's package)."""

from __future__ import annotations

import pytest

from aftersales.appointments.tests.conftest import next_monday, setup_store
from aftersales.common.tests.factories import make_vin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_advisor_books_a_free_slot_and_sees_it_on_the_day_calendar(live_server, world, browser_page):
    page = browser_page
    setup = setup_store(world.a, bays=2)
    monday = next_monday()
    advisor = world.advisor

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", advisor.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/appointments/book/?date={monday.isoformat()}&service_type={setup.maintenance.pk}")
    slot = page.locator("[data-testid=slot]", has_text="10:00")
    slot.click()
    page.wait_for_selector("[data-testid=booking-form]")
    page.fill("#id_mobile", "13912345678")
    page.fill("#id_name", "李娜")
    page.fill("#id_plate", "粤A66666")
    page.fill("#id_vin", make_vin())
    page.fill("#id_make", "Honda")
    page.fill("#id_model", "Accord")
    page.fill("#id_fault_description", "保养")
    page.click("[data-testid=book-submit]")

    page.wait_for_selector("[data-testid=day-calendar]")
    block = page.locator("[data-testid=appt-block]", has_text="粤A66666")
    block.wait_for()
    assert "10:00" in block.inner_text() and "李娜" in block.inner_text()
    assert page.locator("[data-testid=day-picker]").input_value() == monday.isoformat()
