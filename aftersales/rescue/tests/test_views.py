"""The rescue screens: the dispatcher's board and the call entry (desk), a case, units; the crew's phone page; the
owner's request and live pages in the owner app. Another store's case is a 404 on every page."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from aftersales.portal.tests.conftest import sign_in
from aftersales.rescue import services
from aftersales.rescue.models import RescueCase

from .conftest import CAR, data_url, png

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_call_entry_board_and_dispatch_on_screen(rescue):
    r = rescue
    desk = _client(r.dispatcher)
    assert 'data-testid="nav-rescue"' in desk.get("/").content.decode()
    response = desk.post("/rescue/new/", {"incident": "", "lat": "95", "lng": "200", "caller_phone": "12"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-testid="error-lat"' in page and 'data-testid="error-lng"' in page and not RescueCase.objects.exists()
    response = desk.post("/rescue/new/", {"incident": "accident", "lat": CAR[0], "lng": CAR[1], "drivable": "no",
                                          "caller_name": "<script>x</script>", "vehicle": r.vehicle.pk})
    case = RescueCase.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/rescue/cases/{case.pk}/"
    page = desk.get(f"/rescue/cases/{case.pk}/").content.decode()
    assert f'data-testid="dispatch-{r.tow.pk}"' in page and "<script>x</script>" not in page
    assert 'data-testid="case-point-gcj"' in page and "uri.amap.com/marker" in page
    assert desk.post(f"/rescue/cases/{case.pk}/dispatch/", {"unit": r.tow.pk}).status_code == 302
    case.refresh_from_db()
    assert case.status == "dispatched"
    board = desk.get("/rescue/").content.decode()
    assert case.number in board and 'data-testid="rescue-figures"' in board
    assert desk.get("/rescue/", HTTP_HX_REQUEST="true").status_code == 200
    other = _client(r.world.advisor_b)
    assert other.get(f"/rescue/cases/{case.pk}/").status_code == 404
    assert other.post(f"/rescue/cases/{case.pk}/cancel/", {"reason": "x"}).status_code == 404
    assert _client(r.world.staff["cashier"]).get("/rescue/").status_code == 403


def test_units_page(rescue):
    r = rescue
    manager = _client(r.world.manager)
    assert "拖车1" in manager.get("/rescue/units/").content.decode()
    response = manager.post("/rescue/units/", {"form": "area", "base_lat": "91", "base_lng": "x", "speed_kmh": "0"})
    assert response.status_code == 422
    response = manager.post("/rescue/units/", {"form": "unit", "name": "拖车9", "kind": "tow_truck", "capabilities": ["flatbed"],
                                               "crew": [r.crew.pk]})
    assert response.status_code == 302


def test_crew_phone_page_walks_the_job(rescue):
    r = rescue
    case = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=CAR[0], lng=CAR[1], vehicle=r.vehicle)
    services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    crew = _client(r.crew)
    assert crew.get("/rescue/crew/").status_code == 302  # one job: straight to it
    url = f"/rescue/crew/{case.pk}/"
    page = crew.get(url).content.decode()
    assert f"geo:{case.lat},{case.lng}" in page and 'data-testid="crew-accept"' in page
    assert "https://uri.amap.com/navigation?to=114.08" in page and "coordinate=gaode" in page  # GCJ-02 for AMap
    assert crew.post(url, {"action": "accept"}).status_code == 302
    assert crew.post(url, {"action": "position", "lat": "x", "lng": "114"}).status_code == 422
    assert crew.post(url, {"action": "position", "lat": "22.58", "lng": "114.07"}, HTTP_HX_REQUEST="true").status_code == 204
    assert crew.post(url, {"action": "on_scene"}).status_code == 302
    upload = io.BytesIO(png(fmt="JPEG"))
    upload.name = "p.jpg"
    assert crew.post(url, {"action": "photo", "photo": upload}).status_code == 302
    assert crew.post(url, {"action": "sign", "signature": data_url(png()), "signer_name": "张伟"}).status_code == 302
    assert crew.post(url, {"action": "tow", "work_done": "拖回店"}).status_code == 302
    assert crew.post(url, {"action": "at_store"}).status_code == 302
    case.refresh_from_db()
    assert case.status == "at_store" and case.signed_at and case.photos.count() == 1
    assert _client(r.crew2).get(url).status_code == 404  # another unit's crew
    desk = _client(r.dispatcher)
    response = desk.post(f"/rescue/cases/{case.pk}/check-in/")
    case.refresh_from_db()
    assert response["Location"] == f"/reception/{case.handover_id}/"


def test_owner_requests_and_follows(rescue):
    r = rescue
    owner = Client()
    sign_in(owner, r.customer)
    home = owner.get("/app/").content.decode()
    assert 'data-testid="to-rescue"' in home
    assert owner.get("/app/rescue/").status_code == 200
    response = owner.post("/app/rescue/", {"vehicle": r.vehicle.pk, "incident": "volcano", "lat": "91", "lng": "0"})
    assert response.status_code == 422 and 'data-testid="error-lat"' in response.content.decode()
    assert 'data-testid="error-incident"' in response.content.decode()
    response = owner.post("/app/rescue/", {"vehicle": r.vehicle.pk, "incident": "battery", "drivable": "yes",
                                           "lat": CAR[0], "lng": CAR[1]})
    case = RescueCase.objects.get()
    assert response.status_code == 302 and case.customer_id == r.customer.pk
    r.crew2.phone = "+8613900001111"
    r.crew2.save(update_fields=["phone"])
    services.case_dispatch(actor=r.dispatcher, case=case, unit=r.van)
    page = owner.get(f"/app/rescue/{case.pk}/").content.decode()
    assert "13900001111" not in page  # the crew's own number never reaches the customer
    assert 'data-testid="eta-minutes"' in page and "强" in page and "tel:4008001234" in page
    live = owner.get(f"/app/rescue/{case.pk}/?part=live", HTTP_HX_REQUEST="true")
    assert live.status_code == 200 and 'data-testid="eta-minutes"' in live.content.decode()
    assert 'data-testid="home-rescue"' in owner.get("/app/").content.decode()
    stranger = Client()
    from aftersales.common.tests.factories import CustomerFactory

    sign_in(stranger, CustomerFactory(home_store=r.world.a), ip="10.0.0.2")
    assert stranger.get(f"/app/rescue/{case.pk}/").status_code == 404
    assert stranger.post(f"/app/rescue/{case.pk}/cancel/").status_code == 404
    assert owner.post(f"/app/rescue/{case.pk}/cancel/").status_code == 302
    case.refresh_from_db()
    assert case.status == "cancelled"
