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


def test_call_centre_books_a_known_caller_by_mobile_and_a_new_caller(live_server, world, browser_page):
    """Issue 14 item 3, as the call-centre agent: typing a known mobile loads the caller's name and cars; a new caller
    and their car are created while booking (no permission error)."""
    from aftersales.appointments.models import Appointment
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    setup = setup_store(world.a, bays=2)
    monday = next_monday()
    known = CustomerFactory(home_store=world.a, name="张伟", mobile="+8613811112222")
    car = VehicleFactory(owner=known, plate="粤B12345", make="Toyota", model="Camry")
    agent = world.staff["call_centre_agent"]
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/appointments/book/?date={monday.isoformat()}&service_type={setup.maintenance.pk}")
    page.locator("[data-testid=slot]", has_text="09:00").click()
    page.wait_for_selector("[data-testid=booking-form]")
    page.locator("#id_mobile").press_sequentially("13811112222")
    page.wait_for_selector("[data-testid=known-customer]")
    assert page.input_value("#id_name") == "张伟"
    assert page.input_value("#id_vehicle") == str(car.pk)
    page.click("[data-testid=book-submit]")
    page.wait_for_selector("[data-testid=day-calendar]")
    assert Appointment.objects.get(vehicle=car).customer == known

    page.goto(f"{live_server.url}/appointments/book/?date={monday.isoformat()}&service_type={setup.maintenance.pk}")
    page.locator("[data-testid=slot]", has_text="10:00").click()
    page.wait_for_selector("[data-testid=booking-form]")
    page.locator("#id_mobile").press_sequentially("13922223333")
    page.fill("#id_name", "李娜")
    page.fill("#id_plate", "粤A66666")
    page.fill("#id_vin", make_vin())
    page.fill("#id_make", "Honda")
    page.fill("#id_model", "Accord")
    page.wait_for_timeout(800)  # the mobile lookup answered "new caller": nothing typed is replaced
    assert page.input_value("#id_name") == "李娜"
    page.click("[data-testid=book-submit]")
    page.wait_for_selector("[data-testid=day-calendar]")
    new = Appointment.objects.get(vehicle__plate="粤A66666")
    assert new.customer.name == "李娜" and new.created_by == agent
