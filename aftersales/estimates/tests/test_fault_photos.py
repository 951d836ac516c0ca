"""Photos with the customer's description of the fault (issue 21): kept with the booking or the repair order, shown to
the advisor beside the preliminary diagnosis (the estimate editor's panel and ``POST /api/estimates/diagnose``),
scoped to the user's stores; bad files are refused with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.appointments.models import Appointment, Bay, ServiceType
from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.estimates import services
from aftersales.estimates.models import FaultPhoto

from .conftest import photo_bytes, upload

pytestmark = pytest.mark.django_db


def _appointment(world, shop, text="刹车时有异响，照片见附件"):
    service = ServiceType.objects.create(store=world.a, code="rep", name_zh="维修", name_en="Repair", kind="repair")
    bay = Bay.objects.create(store=world.a, name="1")
    now = timezone.now()
    return Appointment.objects.create(store=world.a, customer=shop.customer, vehicle=shop.vehicle, service_type=service,
                                      advisor=world.advisor, technician=world.technician, bay=bay, start=now,
                                      end=now + dt.timedelta(hours=1), fault_description=text)


def test_photos_of_the_booking_reach_the_advisor_with_the_diagnosis(client, world, shop):
    booking = _appointment(world, shop)
    # the owner booking for themselves (no staff actor: the owner app resolved the booking from the owner)
    services.fault_photos_add(photos=[upload("brake.jpg"), upload("disc.png", photo_bytes("PNG"), "image/png")],
                              appointment=booking)
    shop.order.appointment = booking
    shop.order.complaint = booking.fault_description
    shop.order.save(update_fields=["appointment", "complaint"])

    client.force_login(world.advisor)
    html = client.get(f"/orders/{shop.order.pk}/diagnosis/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="diagnosis-photos"' in html and html.count('data-testid="diagnosis-photo"') == 2
    photo = FaultPhoto.objects.order_by("id").first()
    served = client.get(f"/fault-photos/{photo.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"

    body = Api.session(world.advisor).post("/api/estimates/diagnose", {"appointment": booking.pk}).json()
    assert body["found"] and body["system"] == "brakes"  # the booking's own words, read when no text is sent
    assert [p["id"] for p in body["photos"]] == list(FaultPhoto.objects.order_by("id").values_list("pk", flat=True))
    assert body["photos"][0]["url"] == f"/fault-photos/{photo.pk}/"
    by_order = Api.session(world.advisor).post("/api/estimates/diagnose", {"order": shop.order.pk}).json()
    assert len(by_order["photos"]) == 2  # the order reads its booking's photos too
    plain = Api.session(world.advisor).post("/api/estimates/diagnose", {"text": "brakes grinding"}).json()
    assert plain["photos"] == []


def test_another_stores_request_and_photo_are_not_found(client, world, shop):
    booking = _appointment(world, shop)
    [photo] = services.fault_photos_add(photos=[upload()], appointment=booking)
    other = Api.session(world.advisor_b)
    assert_error(other.post("/api/estimates/diagnose", {"appointment": booking.pk}), 404)
    assert_error(other.post("/api/estimates/diagnose", {"order": shop.order.pk}), 404)
    response = other.client.post("/api/estimates/fault-photos", {"order": shop.order.pk, "photos": [upload()]})
    assert_error(response, 404)
    client.force_login(world.advisor_b)
    assert client.get(f"/fault-photos/{photo.pk}/").status_code == 404
    client.force_login(world.advisor)
    assert client.get(f"/fault-photos/{photo.pk}/").status_code == 200
    client.logout()
    assert client.get(f"/fault-photos/{photo.pk}/").status_code == 302  # to the login page
    assert FaultPhoto.objects.count() == 1


def test_upload_over_the_api_checks_every_file_before_writing_any(world, shop):
    api = Api.session(world.advisor)
    url = "/api/estimates/fault-photos"
    bad = api.client.post(url, {"order": shop.order.pk, "photos": [upload(), upload("a.txt", b"nope", "text/plain")]})
    assert_error(bad, 422, "photo_not_image", "photos")
    assert not FaultPhoto.objects.exists()
    too_many = api.client.post(url, {"order": shop.order.pk, "photos": [upload() for _ in range(7)]})
    assert_error(too_many, 422, "too_many_photos", "photos")
    neither = api.client.post(url, {"photos": [upload()]})
    assert neither.status_code == 422
    assert not FaultPhoto.objects.exists()
    good = api.client.post(url, {"order": shop.order.pk, "photos": [upload(), upload()]})
    assert good.status_code == 201, good.content
    assert len(good.json()) == 2 and FaultPhoto.objects.filter(order=shop.order, store=world.a).count() == 2
    # a technician may not add the customer's photos
    tech = Api.session(world.technician).client.post(url, {"order": shop.order.pk, "photos": [upload()]})
    assert tech.status_code == 403
