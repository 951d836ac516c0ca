"""The appointment staff screens: calendar, booking by slot, walk-in, life-cycle buttons, scoping, permissions."""

import datetime as dt
import time
from urllib.parse import quote

import pytest
from django.core import signing
from django.utils import timezone

from aftersales.appointments import services
from aftersales.appointments.models import Appointment
from aftersales.appointments.views import WALK_IN_SALT
from aftersales.common.tests.factories import make_vin
from aftersales.common.validators import normalize_mobile
from aftersales.customers.models import Customer
from aftersales.vehicles.models import Vehicle

from .conftest import local

pytestmark = pytest.mark.django_db


def _book(shop, start="09:00", **kwargs):
    return services.appointment_book(
        actor=shop.world.advisor, store=shop.store, service_type=shop.maintenance, start=local(shop.monday, start),
        customer=shop.customer, vehicle=shop.vehicle, **kwargs,
    )


def _form_data(shop, start, **extra):
    return {
        "store": shop.store.pk, "start": start.isoformat(), "service_type": shop.maintenance.pk, "advisor": "",
        "mobile": "13900001111", "name": "李娜", "plate": "粤A88888", "vin": make_vin(), "make": "Honda",
        "model": "Accord", "fault_description": "刹车异响", **extra,
    }


def test_login_required(client):
    for url in ("/appointments/", "/appointments/book/", "/appointments/walk-in/", "/appointments/arrivals/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_technician_sees_the_calendar_but_cannot_book(client, shop):
    client.force_login(shop.world.technician)
    assert client.get("/appointments/").status_code == 200
    assert client.get("/appointments/book/").status_code == 403
    assert client.post("/appointments/book/form/", _form_data(shop, local(shop.monday, "09:00"))).status_code == 403
    assert client.get("/appointments/walk-in/").status_code == 403
    appointment = _book(shop)
    assert client.post(f"/appointments/{appointment.pk}/cancel/").status_code == 403
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"


def test_other_stores_appointment_is_404(client, shop):
    appointment = _book(shop)
    client.force_login(shop.world.advisor_b)
    assert client.get(f"/appointments/{appointment.pk}/").status_code == 404
    assert client.post(f"/appointments/{appointment.pk}/cancel/").status_code == 404
    client.force_login(shop.world.advisor)
    assert client.get(f"/appointments/{appointment.pk}/").status_code == 200


def test_book_from_a_free_slot_and_see_it_on_the_calendar(client, shop):
    client.force_login(shop.world.advisor)
    query = f"?store={shop.store.pk}&date={shop.monday.isoformat()}&service_type={shop.maintenance.pk}"
    page = client.get(f"/appointments/book/{query}")
    assert page.status_code == 200 and 'data-testid="slot"' in page.content.decode()
    partial = client.get(f"/appointments/book/{query}", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and ">09:00<" in partial
    start = local(shop.monday, "09:00")
    assert client.get(f"/appointments/book/form/?store={shop.store.pk}&service_type={shop.maintenance.pk}&start={quote(start.isoformat())}").status_code == 200

    response = client.post("/appointments/book/form/", _form_data(shop, start))
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment = Appointment.objects.get()
    assert appointment.start == start and appointment.channel == "phone"
    assert Customer.objects.filter(mobile=normalize_mobile("13900001111"), name="李娜").exists()
    assert Vehicle.objects.filter(plate="粤A88888", owner=appointment.customer).exists()
    calendar = client.get(response["Location"]).content.decode()
    assert "粤A88888" in calendar and "李娜" in calendar

    week = client.get(f"/appointments/week/?store={shop.store.pk}&date={shop.monday.isoformat()}").content.decode()
    assert "粤A88888" in week
    detail = client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert 'data-testid="timeline"' in detail and "刹车异响" in detail


def test_booking_errors_inline_and_a_taken_slot_shows_next_free_times(client, shop):
    client.force_login(shop.world.advisor)
    start = local(shop.monday, "09:00")
    response = client.post("/appointments/book/form/", _form_data(shop, start, mobile="123"))
    assert response.status_code == 200
    assert 'data-field="mobile"' in response.content.decode()

    _book(shop, "09:00")  # one bay, one technician: 09:00 is gone
    response = client.post("/appointments/book/form/", _form_data(shop, start))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="next-free"' in html and "10:00" in html
    assert Appointment.objects.count() == 1


def test_walk_in_creates_customer_vehicle_and_appointment_and_measures_the_time(client, shop, clock):
    clock(f"{shop.monday.isoformat()} 10:02")  # the store open and its bay free: the figure is the registration alone
    client.force_login(shop.world.advisor)
    page = client.get(f"/appointments/walk-in/?store={shop.store.pk}")
    assert page.status_code == 200 and 'name="started"' in page.content.decode()
    started = signing.dumps(time.time() - 125, salt=WALK_IN_SALT)
    response = client.post("/appointments/walk-in/", {
        "store": shop.store.pk, "started": started, "mobile": "13700002222", "name": "王芳", "plate": "粤B55555",
        "vin": make_vin(), "make": "Toyota", "model": "Corolla", "service_type": shop.maintenance.pk,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment = Appointment.objects.get()
    assert appointment.channel == "walk_in" and appointment.customer.mobile == normalize_mobile("13700002222")
    assert appointment.vehicle.plate == "粤B55555" and appointment.bay_id == shop.bays[0].pk
    assert 125 <= appointment.walk_in_seconds < 200
    assert appointment.start >= timezone.now() - dt.timedelta(minutes=5)
    detail = client.get(response["Location"]).content.decode()
    assert 'data-testid="walk-in-time"' in detail


def test_walk_in_with_a_forged_start_is_not_measured_as_zero(client, shop):
    client.force_login(shop.world.advisor)
    response = client.post("/appointments/walk-in/", {
        "store": shop.store.pk, "started": "forged", "mobile": "13700003333", "name": "周", "plate": "粤B66666",
        "vin": make_vin(), "make": "Toyota", "model": "Corolla", "service_type": shop.maintenance.pk,
    })
    assert response.status_code == 302
    assert Appointment.objects.get().walk_in_seconds is None


def test_cancel_no_show_and_arrive_buttons(client, shop):
    client.force_login(shop.world.advisor)
    first = _book(shop, "09:00")
    assert client.post(f"/appointments/{first.pk}/cancel/", {"reason": "客户改期"}).status_code == 302
    first.refresh_from_db()
    assert first.status == "cancelled" and first.events.filter(to_state="cancelled", reason="客户改期").exists()

    second = _book(shop, "10:00")
    # not started yet: refused with a message, nothing changes
    client.post(f"/appointments/{second.pk}/no-show/")
    second.refresh_from_db()
    assert second.status == "booked"
    past = timezone.now() - dt.timedelta(hours=2)
    Appointment.objects.filter(pk=second.pk).update(start=past, end=past + dt.timedelta(hours=1))
    assert client.post(f"/appointments/{second.pk}/no-show/").status_code == 302
    second.refresh_from_db()
    assert second.status == "no_show"
    assert client.post(f"/appointments/{second.pk}/arrive/", {"next": "/appointments/arrivals/"})["Location"] == "/appointments/arrivals/"
    second.refresh_from_db()
    assert second.status == "arrived"
    assert client.get(f"/appointments/{second.pk}/cancel/").status_code == 405


def test_reschedule_by_clicking_another_slot(client, shop):
    client.force_login(shop.world.advisor)
    appointment = _book(shop, "09:00")
    page = client.get(f"/appointments/{appointment.pk}/reschedule/")
    assert page.status_code == 200 and 'data-testid="slot"' in page.content.decode()
    new = local(shop.monday, "14:00")
    assert client.post(f"/appointments/{appointment.pk}/reschedule/", {"start": new.isoformat()}).status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == new


def test_arrivals_and_preparation_pages(client, shop):
    client.force_login(shop.world.advisor)
    _book(shop, "09:00")
    assert client.get("/appointments/arrivals/").status_code == 200
    page = client.get(f"/appointments/preparation/?date={shop.monday.isoformat()}").content.decode()
    assert shop.vehicle.plate in page
    home = client.get("/").content.decode()
    assert 'data-testid="nav-appointments"' in home


def test_walk_in_figure_counts_the_wait_for_a_bay_the_floor_holds(client, shop, clock):
    """Issue 14, item 3: the registration-to-bay figure measures a bay that was free: when the only bay holds another
    car (a job dispatched there), the walk-in gets the next free time and the figure counts the wait to it."""
    from aftersales.workshop import floor_services as fs
    from aftersales.workshop.choices import JobStatus, OrderStatus
    from aftersales.workshop.services import repair_job_add, repair_job_move, repair_order_check_in, repair_order_move

    clock(f"{shop.monday.isoformat()} 10:02")
    manager = shop.world.manager
    order = repair_order_check_in(actor=manager, store=shop.store, customer=shop.customer, vehicle=shop.vehicle, mileage=1000)
    job = repair_job_add(actor=manager, order=order, title="大修", standard_hours="3", required_skill="maintenance",
                         lines=[{"kind": "labour", "description": "工时", "quantity": "3", "unit_price": "200"}])
    repair_order_move(actor=manager, order=order, to=OrderStatus.ESTIMATE_SENT)
    repair_job_move(actor=manager, job=job, to=JobStatus.AUTHORIZED)
    repair_order_move(actor=manager, order=order, to=OrderStatus.AUTHORIZED)
    fs.job_dispatch(actor=manager, job=job, technician=shop.techs[0], bay=shop.bays[0])
    client.force_login(shop.world.advisor)
    started = signing.dumps(time.time() - 120, salt=WALK_IN_SALT)
    response = client.post("/appointments/walk-in/", {
        "store": shop.store.pk, "started": started, "mobile": "13700004444", "name": "陈", "plate": "粤B77777",
        "vin": make_vin(), "make": "Toyota", "model": "Corolla", "service_type": shop.maintenance.pk,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment = Appointment.objects.get(channel="walk_in")
    assert appointment.start >= timezone.now() + dt.timedelta(hours=2)  # the bay is held by the car being worked on
    wait = (appointment.start - timezone.now()).total_seconds()
    assert appointment.walk_in_seconds >= 120 + wait - 15 * 60 - 5
