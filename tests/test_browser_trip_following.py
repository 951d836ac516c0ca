"""Issue 22 (session 7) in headless Chromium: the dispatcher keeps the drivers' shifts at desk size (a bad day named
inline, nothing saved; then saved); the driver's phone (390 px) opens their trip and nothing of reception; the owner on
a 390-px phone follows the trip (step, driver's first name, ETA, call button) and chooses the delivery window."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from aftersales.appointments.tests.conftest import local, next_monday, setup_store
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

from .test_browser_mobility import login
from .test_browser_trips import AREA, SHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_shifts_driver_and_owner_following(live_server, world, browser_page, owner_phone, staff_phone, settings):
    from aftersales.mobility import trips
    from aftersales.mobility.models import DriverShift, Trip

    settings.AFTERSALES_PUBLIC_URL = live_server.url
    setup_store(world.a)
    trips.service_area_set(actor=world.manager, store=world.a, polygon=AREA)
    customer = CustomerFactory(home_store=world.a, name="陈静", title="ms")
    vehicle = VehicleFactory(owner=customer, plate="粤A2B3C4")
    monday = next_monday()
    driver = world.staff["driver"]
    driver.first_name, driver.last_name = "建国", "王"
    driver.save()
    start = local(monday, "09:00")
    trip = trips.trip_request(actor=world.advisor, store=world.a, vehicle=vehicle, address="天河路 100 号", lng=113.33,
                              lat=23.13, window_start=start, window_end=start + dt.timedelta(hours=1))
    trips.trip_schedule(actor=world.advisor, trip=trip, driver=driver)
    os.makedirs(SHOTS, exist_ok=True)

    # the dispatcher at desk size: the shift editor
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, live_server, world.advisor)
    page.goto(f"{live_server.url}/mobility/trips/board/?day={monday.isoformat()}")
    page.click("[data-testid=driver-shifts]")
    page.fill(f"[data-testid=start-{driver.pk}-0]", "14:00")
    page.fill(f"[data-testid=end-{driver.pk}-0]", "13:00")
    page.fill(f"[data-testid=start-{driver.pk}-1]", "08:00")
    page.fill(f"[data-testid=end-{driver.pk}-1]", "17:00")
    with page.expect_navigation():
        page.click(f"[data-testid=shift-save-{driver.pk}]")
    assert page.locator("[data-field=day_0] .errorlist").count() == 1 and not DriverShift.objects.exists()
    page.screenshot(path=f"{SHOTS}/trips-shifts-error.png", full_page=True)
    page.fill(f"[data-testid=start-{driver.pk}-0]", "08:30")
    page.fill(f"[data-testid=end-{driver.pk}-0]", "12:00")
    with page.expect_navigation():
        page.click(f"[data-testid=shift-save-{driver.pk}]")
    assert sorted(DriverShift.objects.values_list("weekday", flat=True)) == [0, 1]
    page.screenshot(path=f"{SHOTS}/trips-shifts.png", full_page=True)

    # the driver's phone: their trip, no reception
    phone = staff_phone(driver)
    phone.goto(f"{live_server.url}/")
    phone.wait_for_selector(f"[data-testid=call-{trip.pk}]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400
    assert phone.locator("header nav a[href='/customers/']").count() == 0  # nothing of the desk in the menu
    phone.screenshot(path=f"{SHOTS}/trips-driver-phone-own.png", full_page=True)
    assert phone.goto(f"{live_server.url}/reception/").status == 403
    trips.trip_move(actor=driver, trip=Trip.objects.get(pk=trip.pk), to="on_the_way", eta=start)

    # the owner on a phone: home → follow the trip → delivery window
    owner = owner_phone(customer)
    owner.click("[data-testid=home-trip]")
    owner.wait_for_selector("[data-testid=trip-step-current]")
    assert owner.inner_text("[data-testid=trip-driver]") == "建国"
    assert owner.locator("[data-testid=trip-eta]").count() == 1 and owner.locator("[data-testid=trip-call]").count() == 1
    owner.fill("[data-testid=dws]", f"{monday.isoformat()}T18:00")
    owner.fill("[data-testid=dwe]", f"{monday.isoformat()}T19:00")
    with owner.expect_navigation():
        owner.click("[data-testid=trip-delivery-save]")
    assert owner.locator("[data-testid=trip-error]").count() == 1  # the store is closed then: nothing written
    assert Trip.objects.get(pk=trip.pk).delivery_window_start is None
    owner.fill("[data-testid=dws]", f"{monday.isoformat()}T16:00")
    owner.fill("[data-testid=dwe]", f"{monday.isoformat()}T17:00")
    with owner.expect_navigation():
        owner.click("[data-testid=trip-delivery-save]")
    owner.wait_for_selector("[data-testid=trip-delivery-window]")
    assert Trip.objects.get(pk=trip.pk).delivery_window_start == local(monday, "16:00")
    assert owner.evaluate("document.documentElement.scrollWidth") <= 400
    owner.screenshot(path=f"{SHOTS}/trips-owner-following.png", full_page=True)
