"""Repair orders: a visit with jobs and lines, amounts computed in one place; delivery through the state table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.common.errors import Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.vehicles.models import MileageReading
from aftersales.vehicles.services import mileage_record
from aftersales.workshop.choices import OrderStatus
from aftersales.workshop.models import RepairJob, RepairLine, RepairOrder, RepairOrderEvent
from aftersales.workshop.services import repair_order_deliver, repair_order_record_visit

pytestmark = pytest.mark.django_db

JOBS = [
    {
        "title": "10,000 km service", "job_type": "maintenance",
        "lines": [
            {"kind": "labour", "description": "Labour", "quantity": "2", "unit_price": "150.00", "discount": "10.00"},
            {"kind": "part", "code": "OF-1", "description": "Oil filter", "quantity": "1.5", "unit_price": "99.99"},
        ],
    },
    {"title": "Check", "job_type": "inspection", "lines": [{"kind": "fee", "description": "Check fee", "unit_price": 50}]},
]


@pytest.fixture
def car(world):
    customer = CustomerFactory(home_store=world.a)
    return VehicleFactory(owner=customer)


def visit(world, car, **kwargs):
    kwargs.setdefault("actor", world.advisor)
    kwargs.setdefault("store", world.a)
    kwargs.setdefault("customer", car.owner)
    kwargs.setdefault("opened_at", timezone.now())
    kwargs.setdefault("jobs", JOBS)
    return repair_order_record_visit(vehicle=car, **kwargs)


def test_record_visit_computes_amounts(world, car):
    order = visit(world, car, advisor=world.advisor, mileage=15000, complaint="保养")
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    assert order.number.startswith("ROA") and order.number.endswith("001")
    lines = list(RepairLine.objects.filter(order=order).order_by("id"))
    assert [line.amount for line in lines] == [Decimal("290.00"), Decimal("149.99"), Decimal("50.00")]
    assert order.total == Decimal("489.99")
    jobs = list(RepairJob.objects.filter(order=order).order_by("seq"))
    assert [(j.seq, j.job_type, j.title) for j in jobs] == [(1, "maintenance", "10,000 km service"), (2, "inspection", "Check")]
    assert [line.job_id for line in lines] == [jobs[0].pk, jobs[0].pk, jobs[1].pk]
    car.refresh_from_db()
    assert car.current_mileage == 15000
    assert MileageReading.objects.get(vehicle=car).source == "visit"
    assert car.owner.store_links.filter(store=world.a).exists()
    event = AuditEvent.objects.get(action="repair_order.opened")
    assert event.changes == {"total": [None, "489.99"]}


def test_order_numbers_count_up_per_store_and_day(world, car):
    first = visit(world, car)
    second = visit(world, car)
    assert first.number[:-3] == second.number[:-3]
    assert int(second.number[-3:]) == int(first.number[-3:]) + 1


def test_visit_at_another_store_links_the_customer(world, car):
    visit(world, car, actor=world.advisor_b, store=world.b)
    assert car.owner.store_links.filter(store=world.b).exists()


@pytest.mark.parametrize(
    ("jobs", "field"),
    [
        ([], "jobs"),
        ([{"title": "x", "job_type": "magic", "lines": []}], "jobs[1].job_type"),
        ([{"title": "x", "lines": [{"kind": "gift", "description": "x"}]}], "jobs[1].lines[1].kind"),
        ([{"title": "x", "lines": [{"kind": "part", "description": "x", "quantity": "0"}]}], "jobs[1].lines[1].quantity"),
        ([{"title": "x", "lines": [{"kind": "part", "description": "x", "quantity": "abc"}]}], "jobs[1].lines[1].quantity"),
        ([JOBS[0], {"title": "y", "lines": [{"kind": "part", "description": "x", "unit_price": "1.234"}]}],
         "jobs[2].lines[1].unit_price"),
        ([{"title": "x", "lines": [{"kind": "part", "description": "x", "unit_price": "-5"}]}],
         "jobs[1].lines[1].unit_price"),
    ],
)
def test_invalid_visit_names_the_field_and_writes_nothing(world, car, jobs, field):
    with pytest.raises(ValidationFailed) as exc:
        visit(world, car, jobs=jobs, mileage=1000)
    assert exc.value.field == field
    assert RepairOrder.objects.count() == 0
    assert RepairLine.objects.count() == 0
    assert not MileageReading.objects.exists()


def test_visit_with_mileage_going_backwards_writes_nothing(world, car):
    mileage_record(actor=world.advisor, vehicle=car, km=50000, read_at=timezone.now() - dt.timedelta(days=5))
    with pytest.raises(ValidationFailed) as exc:
        visit(world, car, mileage=40000)
    assert exc.value.code == "km_backwards"
    assert RepairOrder.objects.count() == 0
    assert RepairJob.objects.count() == 0


def test_vehicle_of_another_customer_is_refused(world, car):
    with pytest.raises(ValidationFailed) as exc:
        visit(world, car, customer=CustomerFactory(home_store=world.a))
    assert exc.value.field == "vehicle"


def test_visit_permissions(world, car):
    with pytest.raises(Forbidden):
        visit(world, car, actor=world.technician)
    with pytest.raises(Forbidden):
        visit(world, car, actor=world.staff["cashier"])
    with pytest.raises(Forbidden) as exc:
        visit(world, car, actor=world.advisor_b, store=world.a)
    assert exc.value.code == "store_not_allowed"
    assert RepairOrder.objects.count() == 0


def test_deliver_moves_state_and_writes_an_event(world, car):
    order = visit(world, car)
    delivered = repair_order_deliver(actor=world.advisor, order=order)
    assert delivered.status == OrderStatus.DELIVERED
    assert delivered.delivered_at is not None
    event = RepairOrderEvent.objects.get(order=order)
    assert (event.from_state, event.to_state, event.actor_id) == ("open", "delivered", world.advisor.pk)
    assert AuditEvent.objects.filter(action="repair_order.delivered", object_id=str(order.pk)).count() == 1


def test_illegal_transitions_are_refused(world, car):
    order = visit(world, car)
    repair_order_deliver(actor=world.staff["foreman"], order=order)
    with pytest.raises(IllegalTransition) as exc:
        repair_order_deliver(actor=world.advisor, order=order)
    assert (exc.value.code, exc.value.field) == ("illegal_transition", "status")
    assert RepairOrderEvent.objects.filter(order=order).count() == 1
    cancelled = visit(world, car)
    RepairOrder.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED)
    with pytest.raises(IllegalTransition):
        repair_order_deliver(actor=world.advisor, order=cancelled)
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.delivered_at) == (OrderStatus.CANCELLED, None)
    assert not RepairOrderEvent.objects.filter(order=cancelled).exists()


def test_deliver_needs_permission(world, car):
    order = visit(world, car)
    with pytest.raises(Forbidden):
        repair_order_deliver(actor=world.technician, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
