"""Pickup and delivery in headless Chromium: the dispatcher assigns the day's trip to a driver at desk size; the
driver, on a 390-px phone, sees the trip in order with the navigation hand-off and tells the owner he is on the
way (the message is queued), fills the handover sheet at the door (mileage, fuel, damage on the outline, the owner's
signature) and picks the car up; the advisor checks it in from that sheet; once invoiced the driver delivers it with
the second door-step sheet, new damage beside the pickup's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.appointments.tests.conftest import local, next_monday, setup_store
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

from .test_browser_mobility import login, sign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("AFTERSALES_SHOTS") or str(Path(__file__).resolve().parent.parent / "var" / "screenshots")
AREA = [[113.2, 23.0], [113.5, 23.0], [113.5, 23.3], [113.2, 23.3]]


def door_step(phone, trip, phase, km, mark_at, tmp_shot, back):
    """The driver's handover sheet on the phone: mileage and fuel, a tap on the outline, the owner signs."""
    phone.click(f"[data-testid=handover-{trip.pk}-{phase}]")
    phone.wait_for_selector("[data-testid=door-form]")
    phone.fill("#id_mileage", str(km))
    phone.fill("#id_energy_level", "60")
    phone.click("[data-testid=door-save]")
    phone.wait_for_selector("[data-testid=car-outline]")
    outline = phone.locator("[data-testid=car-outline]").last
    outline.scroll_into_view_if_needed()
    box = outline.bounding_box()
    phone.mouse.click(box["x"] + box["width"] * mark_at[0], box["y"] + box["height"] * mark_at[1])
    phone.wait_for_selector("[data-testid=mark-form]:not([hidden])")
    with phone.expect_navigation():
        phone.click("[data-testid=mark-form] button")
    sign(phone)
    with phone.expect_navigation():
        phone.click("[data-testid=door-sign]")
    phone.wait_for_selector("[data-testid=signature-image]")
    phone.screenshot(path=tmp_shot, full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400
    phone.goto(back)


def test_dispatcher_assigns_and_driver_goes_on_a_phone(live_server, world, browser_page, staff_phone, settings, tmp_path):
    from aftersales.messaging.models import Message
    from aftersales.mobility import trips
    from aftersales.mobility.models import Trip

    settings.MEDIA_ROOT = str(tmp_path / "media")
    setup_store(world.a)
    trips.service_area_set(actor=world.manager, store=world.a, polygon=AREA)
    customer = CustomerFactory(home_store=world.a, name="陈静", title="ms")
    vehicle = VehicleFactory(owner=customer, plate="粤A2B3C4")
    monday = next_monday()
    driver = world.staff["driver"]
    driver.first_name = "建国"
    driver.save()
    trip = trips.trip_request(actor=world.advisor, store=world.a, vehicle=vehicle, address="天河路 100 号<b>", lng=113.33,
                              lat=23.13, window_start=local(monday, "09:00"), window_end=local(monday, "10:00"),
                              notes="保养")
    os.makedirs(SHOTS, exist_ok=True)

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, live_server, world.advisor)
    page.click("[data-testid=nav-trips]")
    page.goto(f"{live_server.url}/mobility/trips/board/?day={monday.isoformat()}")
    page.click("[data-testid=plan-routes]")  # the route plan: one driver, one trip in its window
    page.wait_for_selector("[data-testid=plan-stop]")
    page.screenshot(path=f"{SHOTS}/trips-plan.png", full_page=True)
    with page.expect_navigation():
        page.click("[data-testid=apply-plan]")
    page.wait_for_selector("[data-testid=trip-board]")
    assert Trip.objects.get().planned_at is not None
    assert "天河路 100 号<b>" in page.locator("[data-testid=trip-board]").inner_text()  # shown as typed, escaped
    page.screenshot(path=f"{SHOTS}/trips-board.png", full_page=True)
    assert Trip.objects.get().status == "scheduled"

    phone = staff_phone(driver)
    phone.click("[data-testid=nav-driver]")
    phone.wait_for_selector(f"[data-testid=trip-{trip.pk}]")
    href = phone.locator(f"[data-testid=navigate-{trip.pk}]").get_attribute("href")
    assert href.startswith("https://uri.amap.com/marker?position=113.330000,23.130000")
    phone.fill("input[name=eta]", "08:50")
    phone.screenshot(path=f"{SHOTS}/trips-driver-phone.png", full_page=True)
    phone.click(f"[data-testid=move-{trip.pk}-on_the_way]")
    phone.wait_for_selector(f"[data-testid=move-{trip.pk}-picked_up]")
    assert Trip.objects.get().status == "on_the_way"
    message = Message.objects.get(kind="mobility.driver_on_the_way")
    assert "建国" in message.body and "08:50" in message.body
    door_step(phone, trip, "pickup", 15000, (0.3, 0.3), f"{SHOTS}/trips-door-pickup.png", f"{live_server.url}/mobility/driver/")
    phone.wait_for_selector(f"[data-testid=move-{trip.pk}-picked_up]")
    phone.click(f"[data-testid=move-{trip.pk}-picked_up]")
    phone.wait_for_selector(f"[data-testid=move-{trip.pk}-at_store]")
    assert Trip.objects.get().status == "picked_up"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400
    phone.click(f"[data-testid=move-{trip.pk}-at_store]")
    phone.wait_for_selector(f"[data-testid=move-{trip.pk}-out_for_delivery]")

    # at the store: the advisor checks the car in from the driver's sheet; serviced and invoiced (nothing to pay)
    from aftersales.billing.services import invoice_issue
    from aftersales.reception.services import handover_open_order
    from aftersales.workshop.models import RepairOrder

    sheet = Trip.objects.get().pickup_handover
    assert (sheet.mileage, sheet.status, sheet.marks.count()) == (15000, "signed", 1)
    order = handover_open_order(actor=world.advisor, handover=sheet)
    RepairOrder.objects.filter(pk=order.pk).update(status="ready")
    invoice_issue(actor=world.manager, order=RepairOrder.objects.get(pk=order.pk))

    phone.click(f"[data-testid=move-{trip.pk}-out_for_delivery]")
    phone.wait_for_selector(f"[data-testid=handover-{trip.pk}-delivery]")
    phone.click(f"[data-testid=move-{trip.pk}-delivered]")  # not before the sheet at the door is signed
    phone.wait_for_selector(".messages")
    assert Trip.objects.get().status == "out_for_delivery"
    door_step(phone, trip, "delivery", 15004, (0.8, 0.6), f"{SHOTS}/trips-door-delivery.png", f"{live_server.url}/mobility/driver/")
    phone.wait_for_selector(f"[data-testid=move-{trip.pk}-delivered]")
    phone.click(f"[data-testid=move-{trip.pk}-delivered]")
    phone.wait_for_selector(f"[data-testid=trip-{trip.pk}]", state="detached")
    done = Trip.objects.get()
    assert done.status == "delivered" and done.order_id == order.pk
    assert done.delivery_handover.marks.count() == 1 and done.delivery_handover.mileage == 15004


def test_owner_orders_a_pickup_on_a_phone(live_server, world, owner_phone, settings):
    """The owner books a service with pickup in the app: an address outside the area is refused with nothing
    written; at home (the phone's location) the appointment and the trip are made together."""
    from aftersales.appointments.models import Appointment
    from aftersales.mobility import trips
    from aftersales.mobility.models import Trip

    settings.AFTERSALES_PUBLIC_URL = live_server.url
    setup = setup_store(world.a)
    trips.service_area_set(actor=world.manager, store=world.a, polygon=AREA)
    customer = CustomerFactory(home_store=world.a, name="陈静", title="ms")
    VehicleFactory(owner=customer, plate="粤A2B3C4")
    monday = next_monday()
    os.makedirs(SHOTS, exist_ok=True)

    page = owner_phone(customer, geolocation={"longitude": 114.9, "latitude": 23.1})  # location not allowed yet

    page.click("[data-testid=pickup-car]")
    page.wait_for_selector("[data-testid=pickup-address]")
    page.select_option("[data-testid=service-type]", str(setup.maintenance.pk))
    page.fill("[data-testid=day]", monday.isoformat())
    with page.expect_response(lambda r: "part=slots" in r.url and f"day={monday.isoformat()}" in r.url):
        page.dispatch_event("[data-testid=day]", "change")
    page.wait_for_function("document.querySelector('#slots').innerText.includes('10:00')")
    page.wait_for_timeout(200)
    page.locator("label.slot", has_text="10:00").first.click()
    page.fill("[data-testid=pickup-address]", "东莞某地")
    page.click("[data-testid=use-location]")  # refused: said plainly, nothing filled
    page.wait_for_selector("[data-testid=locate-error]")
    assert "定位" in page.inner_text("[data-testid=locate-error]") and page.input_value("#lng") == ""
    page.screenshot(path=f"{SHOTS}/trips-owner-location-refused.png", full_page=True)
    page.context.grant_permissions(["geolocation"])
    page.click("[data-testid=use-location]")
    page.wait_for_selector("[data-testid=located]")
    page.wait_for_selector("[data-testid=locate-error]", state="hidden")
    assert page.input_value("#lng") == "114.900000" and "23.1" in page.inner_text("[data-testid=located]")
    with page.expect_navigation(timeout=60_000):
        page.click("[data-testid=book-submit]")
    page.wait_for_selector("[data-testid=address-error]")
    assert Appointment.objects.count() == 0 and Trip.objects.count() == 0
    page.screenshot(path=f"{SHOTS}/trips-owner-outside.png", full_page=True)

    page.context.set_geolocation({"longitude": 113.33, "latitude": 23.13})
    page.fill("[data-testid=pickup-address]", "天河路 100 号")
    page.click("[data-testid=use-location]")
    page.wait_for_function("document.querySelector('#lng').value === '113.330000'")
    page.locator("label.slot", has_text="10:00").first.click()
    with page.expect_navigation(timeout=60_000):
        page.click("[data-testid=book-submit]")
    assert page.locator("[data-testid=appointment-page]").count() == 1, page.inner_text("main")
    page.screenshot(path=f"{SHOTS}/trips-owner-booked.png", full_page=True)
    trip = Trip.objects.get()
    appointment = Appointment.objects.get()
    assert trip.ordered_via == "owner_app" and trip.window_start == appointment.start and trip.vehicle_id == appointment.vehicle_id
    assert trip.appointment_id == appointment.pk and page.locator("[data-testid=pickup-status]").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
