"""The reception screen: plate or phone → who it is, how to greet them, today's booking, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.appointments import selectors, services
from aftersales.appointments.models import Appointment

from .conftest import local

pytestmark = pytest.mark.django_db


def test_lookup_by_plate_shows_greeting_and_todays_booking(client, shop, monkeypatch):
    world = shop.world
    start = local(shop.monday, "09:00")
    booked = services.appointment_book(
        actor=world.advisor, store=shop.store, service_type=shop.maintenance, start=start,
        customer=shop.customer, vehicle=shop.vehicle,
    )
    shop.customer.preferences = "喜欢绿茶"
    shop.customer.save()
    now = start - timezone.timedelta(minutes=20)  # the morning of the booking
    cards = selectors.reception_lookup(world.advisor, shop.store, "B12345", now=now)
    assert [c.customer.pk for c in cards] == [shop.customer.pk]
    assert [r.appointment.pk for r in cards[0].today] == [booked.pk]
    assert cards[0].today[0].status == "expected"

    monkeypatch.setattr(timezone, "now", lambda: now)
    client.force_login(world.advisor)
    page = client.get("/appointments/reception/", {"q": "粤B12345", "store": shop.store.pk}).content.decode()
    assert "张先生" in page or "Mr 张" in page
    assert "喜欢绿茶" in page and 'data-testid="reception-booking"' in page and 'data-testid="arrive"' in page
    response = client.post(f"/appointments/{booked.pk}/arrive/", {"next": "/appointments/reception/?q=B12345"})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=booked.pk).status == "arrived"


def test_other_store_customer_is_not_found_and_queries_are_fixed(client, shop):
    world = shop.world
    client.force_login(world.advisor_b)
    page = client.get("/appointments/reception/", {"q": "B12345"}).content.decode()
    assert 'data-testid="reception-card"' not in page
    client.force_login(world.advisor)
    url = "/appointments/reception/"
    with CaptureQueriesContext(connection) as one:
        client.get(url, {"q": "B12345", "store": shop.store.pk}, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as none:
        client.get(url, {"q": "B99999", "store": shop.store.pk}, HTTP_HX_REQUEST="true")
    assert len(one.captured_queries) <= 16
    assert len(none.captured_queries) <= len(one.captured_queries)


def test_reception_requires_login_and_permission(client, shop):
    assert client.get("/appointments/reception/").status_code == 302
    client.force_login(shop.world.staff["cashier"])
    assert client.get("/appointments/reception/").status_code == 403
