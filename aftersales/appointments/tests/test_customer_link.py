"""The customer's page behind the link in the confirmation: signed, shows the booking, cancel or pick another time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from aftersales.appointments import services
from aftersales.appointments.models import Appointment
from aftersales.common.errors import Conflict, NotFound
from aftersales.messaging.models import Message

from .conftest import local

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(shop):
    return services.appointment_book(
        actor=shop.world.advisor, store=shop.store, service_type=shop.maintenance, start=local(shop.monday, "09:00"),
        customer=shop.customer, vehicle=shop.vehicle,
    )


def test_token_is_signed_and_expires(booked):
    token = services.link_token(booked)
    assert services.appointment_from_token(token) == booked
    with pytest.raises(NotFound):
        services.appointment_from_token(token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(NotFound):
        services.appointment_from_token(str(booked.pk))
    with pytest.raises(Conflict):
        services.appointment_from_token(token, max_age=-1)


def test_page_shows_the_booking_in_the_customers_language(shop, booked):
    shop.store.address = "天河路 1 号"
    shop.store.save()
    url = f"/a/{services.link_token(booked)}/"
    page = Client().get(url).content.decode()
    assert "粤B12345" in page and "09:00" in page and "保养手册、行驶证" in page and "天河路 1 号" in page
    english = Client().get(url + "?lang=en").content.decode()
    assert "service book, registration" in english and "Your appointment" in english
    assert Client().get("/a/not-a-token/").status_code == 404
    assert Client().get(f"/a/{booked.pk}/").status_code == 404


def test_customer_cancels_online(shop, booked):
    client = Client()
    url = f"/a/{services.link_token(booked)}/"
    response = client.post(url, {"action": "cancel"})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    assert Message.objects.filter(kind="appointment.changed", customer=shop.customer).exists()
    assert booked.events.last().actor is None
    response = client.post(url, {"action": "cancel"})
    assert 'data-testid="public-error"' in response.content.decode()


def test_customer_picks_another_free_time(shop, booked):
    client = Client()
    url = f"/a/{services.link_token(booked)}/"
    page = client.get(url + "?change=1").content.decode()
    assert 'data-testid="public-slot"' in page
    new_start = local(shop.monday, "14:00")
    response = client.post(url, {"action": "reschedule", "start": timezone.localtime(new_start, shop.store.zone).isoformat()})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start == new_start and booked.status == "booked"
    # a time that is not free is refused with a clear message and nothing changes
    other = services.appointment_book(
        actor=shop.world.advisor, store=shop.store, service_type=shop.maintenance, start=local(shop.monday, "16:00"),
        customer=shop.customer, vehicle=shop.vehicle,
    )
    response = client.post(url, {"action": "reschedule", "start": other.start.isoformat()})
    assert 'data-testid="public-error"' in response.content.decode()
    booked.refresh_from_db()
    assert booked.start == new_start


def test_too_late_to_change_online(shop, booked):
    Appointment.objects.filter(pk=booked.pk).update(start=timezone.now() + dt.timedelta(minutes=30))
    booked.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.appointment_cancel_by_customer(appointment=booked, token=services.link_token(booked))
    assert exc.value.code == "too_late"
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_advisors_view_and_walk_in_figures(shop, booked, client):
    client.force_login(shop.world.advisor)
    page = client.get(f"/appointments/?store={shop.store.pk}&date={shop.monday.isoformat()}&by=advisor").content.decode()
    assert str(shop.world.advisor) in page and 'data-testid="by-bay"' in page and "粤B12345" in page
    Appointment.objects.filter(pk=booked.pk).update(channel="walk_in", walk_in_seconds=900, created_at=timezone.now())
    page = client.get(f"/appointments/arrivals/?store={shop.store.pk}").content.decode()
    assert 'data-testid="walk-in-figures"' in page and "15.0" in page and "0.0%" in page


def test_the_change_page_reaches_evening_and_weekend_times_with_a_date_picker(shop, booked):
    """Issue 14: the nearest twelve times are not all there is: the customer picks a day (Wednesday evening, Saturday)."""
    client = Client()
    url = f"/a/{services.link_token(booked)}/"
    page = client.get(url + "?change=1").content.decode()
    assert 'data-testid="public-date-input"' in page and 'type="date"' in page
    wednesday = shop.monday + dt.timedelta(days=2)  # evening 18:00–21:00
    evening = client.get(url + f"?change=1&date={wednesday.isoformat()}").content.decode()
    assert "18:00" in evening and "20:00" in evening  # the last 60-minute start of the evening
    saturday = shop.monday + dt.timedelta(days=5)  # 09:00–15:00
    weekend = client.get(url + f"?change=1&date={saturday.isoformat()}").content.decode()
    assert 'data-testid="public-slot"' in weekend and "09:00" in weekend and "14:00" in weekend
    sunday = client.get(url + f"?change=1&date={(shop.monday + dt.timedelta(days=6)).isoformat()}").content.decode()
    assert 'data-testid="public-no-slots"' in sunday
    bad = client.get(url + "?change=1&date=2001-01-01").content.decode()
    assert 'data-testid="public-error"' in bad
    response = client.post(url, {"action": "reschedule", "start": local(wednesday, "19:00").isoformat()})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start == local(wednesday, "19:00")
