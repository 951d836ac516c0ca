"""The advisor's reception greeting shows the connected car's open alerts (severity, problem, recommended service),
in the reader's language, assembled at the top (aftersales/web/reception.py) so appointments imports nothing above it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.appointments.models import Appointment, Bay, ServiceType
from aftersales.customers.models import CustomerStore
from aftersales.telematics.models import Alert
from aftersales.web.reception import greeting_cards

pytestmark = pytest.mark.django_db


def _service(store):
    return ServiceType.objects.create(store=store, code="diag", name_zh="故障诊断", name_en="Fault diagnosis",
                                      kind="repair", duration_minutes=60)


def test_greeting_lists_open_alerts_with_severity_and_service_in_the_readers_language(client, tel):
    world = tel.world
    _service(world.a)
    tel.send(1, dtc=["P0524"])  # oil pressure: critical at once
    alert = Alert.objects.get()
    assert alert.recommended_service is not None

    world.advisor.language = "zh-hans"
    world.advisor.save(update_fields=["language"])
    client.force_login(world.advisor)
    page = client.get("/appointments/reception/", {"q": "粤A12345", "store": world.a.pk}).content.decode()
    assert 'data-testid="reception-alerts"' in page and page.count('data-testid="reception-alert"') == 1
    start = page.index('data-testid="reception-alerts"')
    section = page[start:start + 1500]
    assert "P0524" in section and "故障诊断" in section and "严重" in section, section
    world.advisor.language = "en"
    world.advisor.save(update_fields=["language"])
    page = client.get("/appointments/reception/", {"q": "粤A12345", "store": world.a.pk}).content.decode()
    assert "Fault diagnosis" in page and "Critical" in page and "P0524" in page

    # the code clears: the alert closes and leaves the greeting
    tel.send(2, dtc=[])
    assert Alert.objects.get().status == "closed"
    page = client.get("/appointments/reception/", {"q": "粤A12345", "store": world.a.pk}).content.decode()
    assert 'data-testid="reception-card"' in page and 'data-testid="reception-alerts"' not in page


def test_a_booked_car_with_an_alert_is_marked_on_the_greeting(client, tel):
    world = tel.world
    service = _service(world.a)
    tel.send(1, dtc=["P0524"])
    now = timezone.now()
    bay = Bay.objects.create(store=world.a, name="1")
    Appointment.objects.create(store=world.a, customer=tel.owner, vehicle=tel.vehicle, service_type=service,
                               advisor=world.advisor, technician=world.technician, bay=bay, start=now,
                               end=now + dt.timedelta(hours=1))
    cards = greeting_cards(world.advisor, world.a, "粤A12345")
    assert len(cards) == 1
    [(template, section)] = cards[0].sections
    assert template == "telematics/_reception_alerts.html"
    assert [a.code for a in section["alerts"]] == ["P0524"] and section["alerts"][0].problem
    assert len(cards[0].today) == 1 and section["booked"] == {tel.vehicle.pk}
    client.force_login(world.advisor)
    page = client.get("/appointments/reception/", {"q": "粤A12345", "store": world.a.pk}).content.decode()
    assert 'data-testid="reception-booking"' in page and 'data-testid="reception-alert-booked"' in page


def test_another_stores_alerts_stay_out_and_queries_are_fixed(client, tel):
    world = tel.world
    tel.send(1, dtc=["P0524"])
    # store B may see the customer (linked) but not store A's alert
    CustomerStore.objects.get_or_create(customer=tel.owner, store=world.b)
    cards = greeting_cards(world.advisor_b, world.b, "粤A12345")
    assert cards and not cards[0].sections
    client.force_login(world.advisor_b)
    page = client.get("/appointments/reception/", {"q": "粤A12345", "store": world.b.pk}).content.decode()
    assert 'data-testid="reception-alerts"' not in page
    # a store the user does not belong to is refused
    client.force_login(world.advisor)
    assert client.get("/appointments/reception/", {"q": "粤A12345", "store": world.b.pk}).status_code == 404

    url = "/appointments/reception/"
    with CaptureQueriesContext(connection) as one:
        client.get(url, {"q": "粤A12345", "store": world.a.pk}, HTTP_HX_REQUEST="true")
    tel.send(2, dtc=["P0524", "P0217"])
    with CaptureQueriesContext(connection) as more:
        client.get(url, {"q": "粤A12345", "store": world.a.pk}, HTTP_HX_REQUEST="true")
    assert Alert.objects.filter(status="open").count() >= 2
    assert len(more.captured_queries) <= len(one.captured_queries)
