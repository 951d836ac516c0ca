"""Pickup and delivery: the service area, trip requests refused on every bad field at once, the transition table, the
"driver on the way" message, delivery only once paid, the API's scoping."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from aftersales.appointments.tests.conftest import local, next_monday, setup_store
from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.mobility import trips
from aftersales.mobility.models import Trip

pytestmark = pytest.mark.django_db
AREA = [[113.2, 23.0], [113.5, 23.0], [113.5, 23.3], [113.2, 23.3]]


@pytest.fixture
def pickup(world):
    setup_store(world.a)
    trips.service_area_set(actor=world.manager, store=world.a, polygon=AREA)
    customer = CustomerFactory(home_store=world.a, name="陈静", title="ms")
    vehicle = VehicleFactory(owner=customer, plate="粤A2B3C4")
    monday = next_monday()
    return SimpleNamespace(world=world, customer=customer, vehicle=vehicle, start=local(monday, "09:00"),
                           end=local(monday, "10:00"), monday=monday, driver=world.staff["driver"])


def door(driver, trip, phase, *, km=1000, marks=()):
    """The driver's handover at the door through reception's services: mileage, fuel, damage, the owner signs."""
    from aftersales.reception import services as reception

    from .conftest import signed

    trips.trip_handover(actor=driver, trip=trip, phase=phase)
    trip.refresh_from_db()
    with trips.door_step(actor=driver, trip=trip, phase=phase) as sheet:  # reception's permissions lent for the sheet
        reception.handover_update(actor=driver, handover=sheet, data={"mileage": km, "energy_level": 60})
        for x, y in marks:
            reception.damage_mark_add(actor=driver, handover=sheet, x=x, y=y, kind="scratch")
        return reception.handover_sign(actor=driver, handover=sheet, signature=signed())


def _request(p, **kw):
    args = {"actor": p.world.advisor, "store": p.world.a, "vehicle": p.vehicle, "address": "天河路 100 号",
            "lng": 113.33, "lat": 23.13, "window_start": p.start, "window_end": p.end, **kw}
    return trips.trip_request(**args)


def test_point_in_polygon():
    assert trips.point_in_polygon(113.3, 23.1, AREA)
    assert not trips.point_in_polygon(114.0, 23.1, AREA)
    assert trips.point_in_polygon(113.2, 23.0, AREA)  # a corner
    concave = [[0, 0], [4, 0], [4, 4], [2, 1], [0, 4]]
    assert trips.point_in_polygon(1, 1, concave) and not trips.point_in_polygon(2, 3, concave)


def test_request_names_every_bad_field_and_writes_nothing(pickup):
    with pytest.raises(ValidationFailed) as caught:
        _request(pickup, address="", lng="east", lat=95, window_start=pickup.start - dt.timedelta(days=30), window_end="")
    assert {e["field"] for e in caught.value.extra["errors"]} == {"address", "lng", "lat", "window_start", "window_end"}
    with pytest.raises(ValidationFailed) as caught:
        _request(pickup, lng=114.0)
    assert caught.value.code == "outside_area" and caught.value.field == "address"
    with pytest.raises(ValidationFailed) as caught:  # lunch break: the store is closed 12:00-13:00
        _request(pickup, window_start=local(pickup.monday, "11:30"), window_end=local(pickup.monday, "12:30"))
    assert caught.value.code == "closed"
    sunday = pickup.monday - dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        _request(pickup, window_start=local(sunday, "10:00"), window_end=local(sunday, "11:00"))
    assert caught.value.code in ("closed", "in_past")
    assert Trip.objects.count() == 0


def test_the_whole_trip_with_message_and_payment_gate(pickup):
    from aftersales.billing.models import DeliveryCredit, Invoice
    from aftersales.messaging.models import Message
    from aftersales.workshop.services import repair_order_check_in

    trip = _request(pickup)
    assert trip.status == "requested" and trip.ordered_via == "advisor"
    with pytest.raises(ValidationFailed):
        trips.trip_schedule(actor=pickup.world.advisor, trip=trip, driver=pickup.world.technician)
    trip = trips.trip_schedule(actor=pickup.world.advisor, trip=trip, driver=pickup.driver)
    assert trip.status == "scheduled"
    with pytest.raises(IllegalTransition):
        trips.trip_move(actor=pickup.driver, trip=trip, to="delivered")
    with pytest.raises(ValidationFailed) as caught:
        trips.trip_move(actor=pickup.driver, trip=trip, to="on_the_way", eta="")
    assert caught.value.field == "eta"
    with pytest.raises(Conflict):  # another driver cannot take it
        trips.trip_move(actor=make_staff("driver", pickup.world.a), trip=trip, to="on_the_way", eta=pickup.start)
    trips.trip_move(actor=pickup.driver, trip=trip, to="on_the_way", eta=pickup.start - dt.timedelta(minutes=10))
    message = Message.objects.get(kind="mobility.driver_on_the_way")
    assert message.customer_id == pickup.customer.pk and "08:50" in message.body
    with pytest.raises(Conflict) as caught:  # not without the door-step handover, signed by the owner
        trips.trip_move(actor=pickup.driver, trip=trip, to="picked_up")
    assert caught.value.code == "handover_unsigned"
    door(pickup.driver, trip, "pickup")
    for step in ("picked_up", "at_store"):
        trips.trip_move(actor=pickup.driver, trip=trip, to=step)
    order = repair_order_check_in(actor=pickup.world.advisor, store=pickup.world.a, customer=pickup.customer,
                                  vehicle=pickup.vehicle, mileage=1000, complaint="保养")
    Trip.objects.filter(pk=trip.pk).update(order=order)
    trip.refresh_from_db()
    trips.trip_move(actor=pickup.driver, trip=trip, to="out_for_delivery")
    with pytest.raises(Conflict) as caught:
        trips.trip_move(actor=pickup.driver, trip=trip, to="delivered")
    assert caught.value.code == "handover_unsigned"
    door(pickup.driver, trip, "delivery", km=1012)
    with pytest.raises(Conflict) as caught:
        trips.trip_move(actor=pickup.driver, trip=trip, to="delivered")
    assert caught.value.code == "invoice_missing"
    assert Invoice.objects.count() == 0 and DeliveryCredit.objects.count() == 0
    assert Trip.objects.get(pk=trip.pk).status == "out_for_delivery"
    assert [e.to_state for e in trip.events.all()] == ["requested", "scheduled", "on_the_way", "picked_up", "at_store", "out_for_delivery"]


def test_api_scoping_and_bad_fields(pickup):
    api = Api.session(pickup.world.advisor)
    body = assert_error(api.post("/api/mobility/trips", {"vehicle_id": pickup.vehicle.pk, "address": "", "lng": "x",
                                                        "lat": 23.1, "window_start": "soon", "window_end": None}), 422)
    assert {e["field"] for e in body["errors"]} == {"address", "lng", "window_start", "window_end"}
    response = api.post("/api/mobility/trips", {"vehicle_id": pickup.vehicle.pk, "address": "天河路 100 号", "lng": 113.33,
                                               "lat": 23.13, "window_start": pickup.start.isoformat(), "window_end": pickup.end.isoformat()})
    assert response.status_code == 201, response.content
    tid = response.json()["id"]
    day = pickup.monday.isoformat()
    assert [t["id"] for t in api.get("/api/mobility/trips", {"day": day}).json()] == [tid]
    other = Api.session(pickup.world.advisor_b)
    assert_error(other.get(f"/api/mobility/trips/{tid}"), 404)
    assert_error(other.post(f"/api/mobility/trips/{tid}/move", {"to": "cancelled"}), 404)
    assert_error(other.post(f"/api/mobility/trips/{tid}/schedule", {"driver_id": pickup.driver.pk}), 404)
    driver = Api.session(pickup.driver)
    assert_error(driver.post("/api/mobility/trips", {"vehicle_id": pickup.vehicle.pk}), 403)
    assert api.post(f"/api/mobility/trips/{tid}/schedule", {"driver_id": pickup.driver.pk}).json()["status"] == "scheduled"
    assert_error(api.request("put", "/api/mobility/service-area", {"polygon": [[1, 2]]}), 403)
    assert_error(Api.session(pickup.world.manager).request("put", "/api/mobility/service-area", {"polygon": [[1, 2]]}), 422, field="polygon")


def test_pickup_sheet_is_receptions_and_opens_the_order_at_check_in(pickup):
    """The driver's sheet is reception's handover sheet (same services, same table): at the store the advisor opens
    the repair order from it, the trip follows that order, and the delivery sheet shows the new damage beside it."""
    from aftersales.reception import services as reception
    from aftersales.reception.models import Handover

    trip = _request(pickup, notes="保养，左前轮有异响")
    with pytest.raises(Conflict) as caught:  # not before the driver is on the way
        trips.trip_handover(actor=pickup.driver, trip=trip, phase="pickup")
    assert caught.value.code in ("not_your_trip", "wrong_time")
    trip = trips.trip_schedule(actor=pickup.world.advisor, trip=trip, driver=pickup.driver)
    with pytest.raises(Conflict) as caught:
        trips.trip_handover(actor=pickup.driver, trip=trip, phase="pickup")
    assert caught.value.code == "wrong_time"
    trips.trip_move(actor=pickup.driver, trip=trip, to="on_the_way", eta=pickup.start)
    with pytest.raises(Conflict):  # another driver of the store cannot fill it
        trips.trip_handover(actor=make_staff("driver", pickup.world.a), trip=trip, phase="pickup")
    sheet = trips.trip_handover(actor=pickup.driver, trip=trip, phase="pickup")
    with pytest.raises(Forbidden):  # the driver holds none of reception's permissions outside their trip's sheet
        reception.handover_update(actor=pickup.driver, handover=sheet, data={"mileage": 1})
    trip.refresh_from_db()
    with pytest.raises(ValidationFailed) as caught, trips.door_step(actor=pickup.driver, trip=trip, phase="pickup") as s:
        reception.handover_update(actor=pickup.driver, handover=s, data={"mileage": "lots"})  # reception's own checks
    assert caught.value.field == "mileage"
    sheet = door(pickup.driver, trip, "pickup", km=15000, marks=[(10, 20)])
    assert trips.trip_handover(actor=pickup.driver, trip=trip, phase="pickup").pk == sheet.pk  # once per phase
    assert Handover.objects.count() == 1 and sheet.status == "signed" and sheet.marks.count() == 1
    trips.trip_move(actor=pickup.driver, trip=trip, to="picked_up")
    trips.trip_move(actor=pickup.driver, trip=trip, to="at_store")
    sheet.refresh_from_db()
    assert sheet.customer_words == "保养，左前轮有异响"  # the trip's notes are the owner's request on the sheet
    order = reception.handover_open_order(actor=pickup.world.advisor, handover=sheet)  # check-in from the door sheet
    assert order.vehicle_id == pickup.vehicle.pk
    trip = trips.trip_move(actor=pickup.driver, trip=trip, to="out_for_delivery")
    assert trip.order_id == order.pk  # the trip follows the order opened from its pickup sheet
    delivery = door(pickup.driver, trip, "delivery", km=15003, marks=[(10, 20), (80, 50)])
    assert delivery.pk != sheet.pk and delivery.marks.count() == 2
    assert Handover.objects.count() == 2


def test_door_step_page_on_the_phone(pickup, settings, tmp_path):
    """The driver's handover page: started by a tap, filled field by field (errors on the field, nothing saved),
    signed on the phone; another store's driver gets 404, a technician 403."""
    from django.test import Client

    from aftersales.reception.tests.conftest import png

    from .conftest import signed

    settings.MEDIA_ROOT = str(tmp_path / "media")
    trip = trips.trip_schedule(actor=pickup.world.advisor, trip=_request(pickup), driver=pickup.driver)
    client = Client()
    client.force_login(pickup.driver)
    url = f"/mobility/trips/{trip.pk}/handover/pickup/"
    assert client.get(url).status_code == 302  # nothing to show before the sheet is started
    assert client.post(url, {"action": "start"}).status_code == 302  # too early: back to the trips with a message
    trip = trips.trip_move(actor=pickup.driver, trip=trip, to="on_the_way", eta=pickup.start)
    assert client.post(url, {"action": "start"})["Location"].endswith(url)
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="car-outline"' in page.content.decode()
    bad = client.post(url, {"action": "save", "mileage": "很多", "energy_level": "150"})
    assert bad.status_code == 422 and 'data-field="mileage"' in bad.content.decode()
    assert client.post(url, {"action": "save", "mileage": "15000", "energy_level": "55"}).status_code == 302
    assert client.post(url, {"action": "mark", "x": "30", "y": "40", "kind": "dent"}).status_code == 302
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo = SimpleUploadedFile("p.png", png(), content_type="image/png")
    assert client.post(url, {"action": "photo", "photo": photo}).status_code == 302
    assert client.post(url, {"action": "sign", "signature": signed(), "signer_name": "陈静"}).status_code == 302
    trip.refresh_from_db()
    sheet = trip.pickup_handover
    assert (sheet.mileage, sheet.energy_level, sheet.status, sheet.marks.count(), sheet.photos.count()) == (15000, 55, "signed", 1, 1)
    other = Client()
    other.force_login(make_staff("driver", pickup.world.b))
    assert other.get(url).status_code == 404
    tech = Client()
    tech.force_login(pickup.world.technician)
    assert tech.get(url).status_code == 403


def test_pickup_fee_by_tier_voucher_or_store_fee(pickup):
    """Free for tier A; with a pickup voucher the fee line goes on the order and the voucher takes it off at the till;
    otherwise the store's fee, on the repair order as a fee line."""
    import datetime as _dt

    from aftersales.engagement.models import CustomerTier
    from aftersales.loyalty.models import Voucher, VoucherTemplate
    from aftersales.workshop.models import RepairLine
    from aftersales.workshop.services import repair_order_check_in

    w = pickup.world
    trips.service_area_set(actor=w.manager, store=w.a, polygon=AREA, pickup_fee="80")
    order = repair_order_check_in(actor=w.advisor, store=w.a, customer=pickup.customer, vehicle=pickup.vehicle,
                                  mileage=1000, complaint="保养")
    trip = _request(pickup, order=order)
    assert (trip.fee, trip.fee_basis) == (80, "store_fee")
    line = RepairLine.objects.get(job_id=trip.fee_job_id)
    assert (line.code, line.amount, line.kind) == ("PICKUP", 80, "fee")

    today = _dt.date.today()
    template = VoucherTemplate.objects.create(group=w.a.group, code="pickup-free", name_zh="免费取送车", name_en="Free pickup",
                                              kind="free_item", service_codes=["PICKUP"])
    voucher = Voucher.objects.create(template=template, customer=pickup.customer, store=w.a, code="PK0001",
                                     valid_from=today - _dt.timedelta(days=1), valid_until=today + _dt.timedelta(days=30))
    with pytest.raises(ValidationFailed) as caught:
        _request(pickup, voucher="NOPE", address="")
    assert {e["field"] for e in caught.value.extra["errors"]} == {"voucher", "address"}
    with_voucher = _request(pickup, voucher="pk0001")
    assert (with_voucher.fee_basis, with_voucher.voucher_id) == ("voucher", voucher.pk)

    CustomerTier.objects.create(customer=pickup.customer, store=w.a, tier="A", reason="d_lapsed", computed_on=today, since=today)
    tier_a = _request(pickup)
    assert (tier_a.fee, tier_a.fee_basis, tier_a.fee_job_id) == (0, "tier_a", None)


def test_masked_call_through_the_relay_never_shows_the_owners_mobile(pickup, settings):
    """The driver's page shows the owner's mobile masked; "call the owner" binds a middle number at the call-through
    provider (a fake speaking its bind protocol) or, without one, gives the store's number."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from django.test import Client

    bound = []

    class Relay(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bound.append((self.path, body))
            out = json.dumps({"x": "+8617100001111"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = pickup.driver
    driver.phone = "+8613900001234"
    driver.save()
    trip = trips.trip_schedule(actor=pickup.world.advisor, trip=_request(pickup), driver=driver)
    client = Client()
    client.force_login(driver)
    mobile = pickup.customer.mobile
    page = client.get("/mobility/driver/").content.decode()
    assert mobile not in page and mobile[-4:] in page and f"geo:{trip.lat}" in page
    try:
        settings.AFTERSALES_CALL_RELAY_URL = f"http://127.0.0.1:{server.server_port}"
        page = client.post(f"/mobility/trips/{trip.pk}/call/").content.decode()
        assert 'href="tel:+8617100001111"' in page and mobile not in page
        assert bound == [("/bind", {"a": "+8613900001234", "b": mobile, "ref": f"trip-{trip.pk}", "expires_in": 14400})]
    finally:
        server.shutdown()
    settings.AFTERSALES_CALL_RELAY_URL = ""
    page = client.post(f"/mobility/trips/{trip.pk}/call/").content.decode()
    assert mobile not in page and (pickup.world.a.phone or "") in page
    other = Client()
    other.force_login(make_staff("driver", pickup.world.a))
    assert other.post(f"/mobility/trips/{trip.pk}/call/").status_code == 404  # another driver's trip: not theirs to see


def _advisor_search(p):
    from django.test import Client

    desk = Client()
    desk.force_login(p.world.advisor)
    return desk.get("/search/", {"q": p.customer.name}).content.decode()


def test_driver_holds_only_their_own_trips(pickup, settings, tmp_path):
    """Least privilege: a driver's role holds the trip permissions only. Reception's pages (the list, another car's
    sheet, even their own trip's sheet there), customers, vehicles and repair orders are closed; another driver's trip
    and another store's trip are a 404 on every page and endpoint; the desk's moves (cancel, assign, plan) refused."""
    from django.test import Client

    from aftersales.reception import services as reception
    from aftersales.staff.roles import ROLE_PERMISSIONS, Role

    assert sorted(ROLE_PERMISSIONS[Role.DRIVER]) == ["mobility.change_trip", "mobility.view_trip"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    w = pickup.world
    mine = trips.trip_schedule(actor=w.advisor, trip=_request(pickup), driver=pickup.driver)
    colleague = make_staff("driver", w.a)
    theirs = trips.trip_schedule(actor=w.advisor, trip=_request(pickup), driver=colleague)
    counter_sheet = reception.handover_start(actor=w.advisor, store=w.a, vehicle=pickup.vehicle)
    mine = trips.trip_move(actor=pickup.driver, trip=mine, to="on_the_way", eta=pickup.start)
    own_sheet = trips.trip_handover(actor=pickup.driver, trip=mine, phase="pickup")

    client = Client()
    client.force_login(pickup.driver)
    assert client.get("/mobility/driver/").status_code == 200
    assert client.get("/")["Location"].endswith("/mobility/driver/")  # the driver's home is their trips
    assert f"/customers/{pickup.customer.pk}/" not in client.get("/search/", {"q": pickup.customer.name}).content.decode()
    assert f"/customers/{pickup.customer.pk}/" in _advisor_search(pickup)  # the same search finds them for the desk
    assert client.get(f"/mobility/trips/{mine.pk}/handover/pickup/").status_code == 200
    for url in ("/reception/", "/reception/start/", f"/reception/{counter_sheet.pk}/", f"/reception/{own_sheet.pk}/",
                f"/reception/{own_sheet.pk}/pdf/", "/customers/", f"/customers/{pickup.customer.pk}/",
                "/mobility/", "/mobility/trips/board/", "/mobility/trips/new/", "/mobility/book/"):
        assert client.get(url).status_code in (403, 404), url
    for url in (f"/reception/{counter_sheet.pk}/marks/", f"/reception/{own_sheet.pk}/marks/"):
        assert client.post(url, {"x": 1, "y": 1, "kind": "dent"}).status_code in (403, 404), url
    # another driver's trip: 404 on the pages, the API and through the services
    assert client.get(f"/mobility/trips/{theirs.pk}/handover/pickup/").status_code == 404
    assert client.post(f"/mobility/trips/{theirs.pk}/move/", {"to": "on_the_way", "eta": "09:00"}).status_code == 404
    assert client.post(f"/mobility/trips/{theirs.pk}/call/").status_code == 404
    assert client.post(f"/mobility/trips/{mine.pk}/schedule/", {"driver": colleague.pk}).status_code == 403
    api = Api.session(pickup.driver)
    assert_error(api.get(f"/api/mobility/trips/{theirs.pk}"), 404)
    assert_error(api.post(f"/api/mobility/trips/{theirs.pk}/move", {"to": "on_the_way", "eta": pickup.start.isoformat()}), 404)
    assert_error(api.post(f"/api/mobility/trips/{mine.pk}/schedule", {"driver_id": colleague.pk}), 403)
    assert [t["id"] for t in api.get("/api/mobility/trips", {"day": pickup.monday.isoformat()}).json()] == [mine.pk]
    assert api.get(f"/api/mobility/trips/{mine.pk}").status_code == 200
    with pytest.raises(Forbidden):  # the desk cancels; a driver does not
        trips.trip_move(actor=pickup.driver, trip=mine, to="cancelled")
    with pytest.raises(Forbidden):  # reception's services outside the door step
        reception.damage_mark_add(actor=pickup.driver, handover=counter_sheet, x=1, y=1)
    with pytest.raises(Conflict), trips.door_step(actor=pickup.driver, trip=theirs, phase="pickup"):  # own trip's sheet only
        pass
    # another store's driver: the trip is a 404
    stranger = Client()
    stranger.force_login(make_staff("driver", w.b))
    assert stranger.get(f"/mobility/trips/{mine.pk}/handover/pickup/").status_code == 404
    assert_error(Api.session(make_staff("driver", w.b)).get(f"/api/mobility/trips/{mine.pk}"), 404)
