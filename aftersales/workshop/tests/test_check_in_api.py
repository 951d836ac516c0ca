"""POST /api/workshop/orders: a car checked in over the API (walk-in, booking, integration) without the handover
sheet. Scoped to the caller's stores and customers; bad input names the field and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.customers.models import CustomerStore
from aftersales.vehicles.models import MileageReading
from aftersales.workshop.choices import OrderStatus
from aftersales.workshop.models import RepairOrder, RepairOrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def car(world):
    customer = CustomerFactory(group=world.group, home_store=world.a)
    CustomerStore.objects.get_or_create(customer=customer, store=world.a)
    return customer, VehicleFactory(owner=customer)


def test_check_in_opens_the_order_with_event_reading_and_audit(world, car):
    customer, vehicle = car
    promised = (timezone.now() + dt.timedelta(hours=4)).isoformat()
    response = Api.session(world.advisor).post("/api/workshop/orders", {
        "customer_id": customer.pk, "vehicle_id": vehicle.pk, "mileage": 23456, "complaint": " 异响 / noise ",
        "promised_at": promised,
    })
    assert response.status_code == 201, response.content
    body = response.json()
    order = RepairOrder.objects.get(pk=body["id"])
    assert (body["status"], body["number"], body["store_id"]) == (OrderStatus.CHECKED_IN, order.number, world.a.pk)
    assert (order.customer_id, order.vehicle_id, order.mileage_in, order.complaint) == (customer.pk, vehicle.pk, 23456, "异响 / noise")
    assert order.advisor_id == world.advisor.pk and order.promised_at is not None
    assert RepairOrderEvent.objects.filter(order=order, to_state=OrderStatus.CHECKED_IN, actor=world.advisor).exists()
    assert MileageReading.objects.filter(vehicle=vehicle, km=23456).exists()
    assert AuditEvent.objects.filter(action="repair_order.checked_in", object_id=str(order.pk)).exists()


def test_bearer_token_works_too(world, car):
    from aftersales.staff.services import token_create

    customer, vehicle = car
    _token, key = token_create(actor=world.manager, user=world.advisor, name="dms")
    response = Api.bearer(key).post("/api/workshop/orders", {"customer_id": customer.pk, "vehicle_id": vehicle.pk})
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    ({"mileage": -1}, 422, "mileage_out_of_range", "mileage"),
    ({"mileage": 99_000_000}, 422, "mileage_out_of_range", "mileage"),
    ({"complaint": "x" * 2001}, 422, "too_long", "complaint"),
    ({"promised_at": "2001-01-01T10:00:00+08:00"}, 422, "promised_in_past", "promised_at"),
    ({"appointment_id": 999999}, 422, "appointment_unknown", "appointment_id"),
    ({"mileage": "many"}, 422, None, "mileage"),
])
def test_bad_input_names_the_field_and_writes_nothing(world, car, change, status, code, field):
    customer, vehicle = car
    body = {"customer_id": customer.pk, "vehicle_id": vehicle.pk, **change}
    response = Api.session(world.advisor).post("/api/workshop/orders", body)
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert not RepairOrder.objects.exists() and not MileageReading.objects.exists()


def test_a_car_of_another_customer_is_refused(world, car):
    customer, _vehicle = car
    other = VehicleFactory(owner=CustomerFactory(group=world.group, home_store=world.a))
    response = Api.session(world.advisor).post("/api/workshop/orders", {"customer_id": customer.pk, "vehicle_id": other.pk})
    assert_error(response, 422, "vehicle_not_owned")
    assert not RepairOrder.objects.exists()


def test_scoping_other_store_and_invisible_customer(world, car):
    customer, vehicle = car
    api = Api.session(world.advisor)
    assert_error(api.post("/api/workshop/orders", {"customer_id": customer.pk, "vehicle_id": vehicle.pk,
                                                   "store_id": world.b.pk}), 404)
    # a customer known only at store B is invisible to store A's advisor
    stranger = CustomerFactory(group=world.group, home_store=world.b)
    CustomerStore.objects.get_or_create(customer=stranger, store=world.b)
    car_b = VehicleFactory(owner=stranger)
    assert_error(api.post("/api/workshop/orders", {"customer_id": stranger.pk, "vehicle_id": car_b.pk}), 404)
    assert not RepairOrder.objects.exists()


@pytest.mark.parametrize("role", ["technician", "cashier", "parts_clerk"])
def test_roles_without_check_in_are_403(world, car, role):
    customer, vehicle = car
    response = Api.session(world.staff[role]).post("/api/workshop/orders", {"customer_id": customer.pk, "vehicle_id": vehicle.pk})
    assert_error(response, 403)
    assert not RepairOrder.objects.exists()
