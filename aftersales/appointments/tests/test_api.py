import datetime as dt

import pytest

from aftersales.appointments import services
from aftersales.appointments.models import Appointment
from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, count_queries, fill, ids
from aftersales.common.tests.factories import make_vin

from .conftest import local, setup_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(shop):
    return services.appointment_book(
        actor=shop.world.advisor, store=shop.store, service_type=shop.maintenance, start=local(shop.monday, "09:00"),
        customer=shop.customer, vehicle=shop.vehicle,
    )


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["appointments"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method != "get" else None)
    assert_error(response, 401, "unauthenticated")


def test_service_types_and_availability(shop):
    api = Api.session(shop.world.advisor)
    response = api.get("/api/appointments/service-types")
    assert response.status_code == 200
    assert {row["code"] for row in response.json()} == {"maint", "body"}
    response = api.get("/api/appointments/availability", {
        "date": shop.monday.isoformat(), "service_type_id": shop.maintenance.pk, "store_id": shop.store.pk,
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["duration_minutes"] == 60 and body["slots"][0]["local_time"] == "08:30" and len(body["slots"]) == 26
    response = api.get("/api/appointments/availability", {
        "date": shop.monday.isoformat(), "service_type_id": shop.maintenance.pk, "advisor_id": shop.world.manager.pk,
    })
    assert_error(response, 422, "advisor_unknown", "advisor")


def test_other_store_is_404_everywhere(shop, booked):
    api = Api.session(shop.world.advisor_b)
    assert_error(api.get("/api/appointments/service-types", {"store_id": shop.store.pk}), 404)
    assert_error(api.get("/api/appointments/availability", {
        "date": shop.monday.isoformat(), "service_type_id": shop.maintenance.pk, "store_id": shop.store.pk}), 404)
    assert ids(api.get("/api/appointments/")) == set()
    assert_error(api.get(f"/api/appointments/{booked.pk}"), 404)
    for action in ("reschedule", "cancel", "no-show", "arrive"):
        data = {"start": local(shop.monday, "10:00").isoformat()} if action == "reschedule" else {}
        assert_error(api.post(f"/api/appointments/{booked.pk}/{action}", data), 404)
    assert_error(api.post("/api/appointments/", {
        "store_id": shop.store.pk, "service_type_id": shop.maintenance.pk, "start": local(shop.monday, "10:00").isoformat(),
        "customer_id": shop.customer.pk, "vehicle_id": shop.vehicle.pk}), 404)
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_book_new_customer_then_slot_taken_409(shop):
    api = Api.session(shop.world.advisor)
    payload = {
        "service_type_id": shop.maintenance.pk, "start": local(shop.monday, "09:00").isoformat(),
        "customer": {"name": "李娜", "mobile": "13900001111"},
        "vehicle": {"plate": "粤A00001", "vin": make_vin(), "make": "Honda", "model": "Accord"},
        "fault_description": "刹车异响", "channel": "phone",
    }
    response = api.post("/api/appointments/", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "booked" and body["plate"] == "粤A00001" and body["bay_name"] == "B1"
    assert body["events"][0]["to_state"] == "booked" and body["no_show_count"] == 0
    payload["start"] = local(shop.monday, "09:30").isoformat()
    payload["customer"] = None
    payload["vehicle"] = None
    payload["customer_id"], payload["vehicle_id"] = shop.customer.pk, shop.vehicle.pk
    error = assert_error(api.post("/api/appointments/", payload), 409, "slot_taken", "start")
    assert error["next_free"][0].startswith(shop.monday.isoformat())


def test_book_bad_input(shop):
    api = Api.session(shop.world.advisor)
    base = {"service_type_id": shop.maintenance.pk, "start": local(shop.monday, "12:30").isoformat(),
            "customer_id": shop.customer.pk, "vehicle_id": shop.vehicle.pk}
    assert_error(api.post("/api/appointments/", base), 422, "outside_opening_hours", "start")
    assert_error(api.post("/api/appointments/", {**base, "start": "2020-01-01T09:00:00+08:00"}), 422, "start_in_past", "start")
    assert_error(api.post("/api/appointments/", {**base, "start": "soon"}), 422, "invalid", "start")
    assert_error(api.post("/api/appointments/", {**base, "start": local(shop.monday, "09:00").isoformat(), "service_type_id": 0}),
                 422, "service_type_unknown", "service_type")
    assert Appointment.objects.count() == 0


def test_list_detail_and_life_cycle(shop, booked):
    api = Api.session(shop.world.advisor)
    count, response = count_queries(lambda: api.get("/api/appointments/", {"store_id": shop.store.pk, "date": shop.monday.isoformat()}))
    assert ids(response) == {booked.pk}
    assert count <= 12
    assert ids(api.get("/api/appointments/", {"status": "cancelled"})) == set()
    assert ids(api.get("/api/appointments/", {"date": (shop.monday + dt.timedelta(days=1)).isoformat()})) == set()
    assert api.get(f"/api/appointments/{booked.pk}").json()["id"] == booked.pk
    response = api.post(f"/api/appointments/{booked.pk}/reschedule", {"start": local(shop.monday, "14:00").isoformat()})
    assert response.status_code == 200, response.content
    assert response.json()["start"].startswith(local(shop.monday, "14:00").strftime("%Y-%m-%dT%H:%M"))
    response = api.post(f"/api/appointments/{booked.pk}/cancel", {"reason": "客户有事"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert_error(api.post(f"/api/appointments/{booked.pk}/arrive", {}), 409, "illegal_transition", "status")


def test_no_show_and_arrive_and_arrivals(shop, booked):
    api = Api.session(shop.world.advisor)
    assert_error(api.post(f"/api/appointments/{booked.pk}/no-show", {}), 422, "not_started", "status")
    response = api.post(f"/api/appointments/{booked.pk}/arrive", {})
    assert response.status_code == 200 and response.json()["status"] == "arrived"
    assert api.get("/api/appointments/arrivals").status_code == 200
    response = api.get("/api/appointments/preparation", {"date": shop.monday.isoformat()})
    assert response.status_code == 200 and response.json() == []  # arrived: no longer to prepare


def test_preparation_lists_tomorrows_bookings(shop, booked):
    response = Api.session(shop.world.staff["foreman"]).get("/api/appointments/preparation", {"date": shop.monday.isoformat()})
    assert response.status_code == 200
    rows = response.json()
    assert [r["appointment"]["id"] for r in rows] == [booked.pk] and rows[0]["parts_ready"] is True


@pytest.mark.parametrize("role", ["technician", "foreman", "cashier", "parts_clerk"])
def test_view_only_roles_cannot_book_or_change(shop, booked, role):
    api = Api.session(shop.world.staff[role])
    can_view = role in ("technician", "foreman")
    response = api.get(f"/api/appointments/{booked.pk}")
    assert response.status_code == (200 if can_view else 403)
    assert_error(api.post("/api/appointments/", {
        "service_type_id": shop.maintenance.pk, "start": local(shop.monday, "10:00").isoformat(),
        "customer_id": shop.customer.pk, "vehicle_id": shop.vehicle.pk}), 403)
    for action in ("cancel", "no-show", "arrive"):
        assert_error(api.post(f"/api/appointments/{booked.pk}/{action}", {}), 403)
    assert_error(api.post(f"/api/appointments/{booked.pk}/reschedule", {"start": local(shop.monday, "10:00").isoformat()}), 403)


def test_call_centre_books_through_the_api(shop):
    response = Api.session(shop.world.staff["call_centre_agent"]).post("/api/appointments/", {
        "service_type_id": shop.maintenance.pk, "start": local(shop.monday, "10:00").isoformat(),
        "customer_id": shop.customer.pk, "vehicle_id": shop.vehicle.pk, "channel": "phone"})
    assert response.status_code == 201, response.content


def test_group_admin_books_at_store_b(world):
    setup = setup_store(world.b)
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    from .conftest import next_monday

    customer = CustomerFactory(home_store=world.b)
    car = VehicleFactory(owner=customer)
    response = Api.session(world.admin).post("/api/appointments/", {
        "store_id": world.b.pk, "service_type_id": setup.maintenance.pk, "start": local(next_monday(), "10:00").isoformat(),
        "customer_id": customer.pk, "vehicle_id": car.pk})
    assert response.status_code == 201, response.content
    assert response.json()["advisor_id"] == world.advisor_b.pk
