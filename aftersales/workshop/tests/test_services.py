"""Repair orders: visits with jobs and lines, amounts computed in one place; check-in, jobs and every state move
through the transition tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.vehicles.models import MileageReading
from aftersales.vehicles.services import mileage_record
from aftersales.workshop.choices import JOB_TRANSITIONS, ORDER_TRANSITIONS, JobStatus, OrderStatus
from aftersales.workshop.models import RepairJob, RepairJobEvent, RepairLine, RepairOrder, RepairOrderEvent
from aftersales.workshop.services import (
    repair_job_add,
    repair_job_move,
    repair_order_check_in,
    repair_order_deliver,
    repair_order_move,
    repair_order_record_visit,
)

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
    assert order.status == OrderStatus.CHECKED_IN
    assert order.authorized_total == Decimal("0.00")
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


def test_finished_visit_is_delivered_with_its_jobs_passed(world, car):
    opened = timezone.now() - dt.timedelta(days=3)
    order = visit(world, car, opened_at=opened, delivered_at=opened + dt.timedelta(hours=4))
    order.refresh_from_db()
    assert (order.status, order.delivered_at) == (OrderStatus.DELIVERED, opened + dt.timedelta(hours=4))
    assert order.authorized_total == order.total == Decimal("489.99")
    assert set(order.jobs.values_list("status", flat=True)) == {JobStatus.PASSED_QC}
    event = RepairOrderEvent.objects.get(order=order)
    assert (event.from_state, event.to_state) == ("", "delivered")
    with pytest.raises(ValidationFailed) as exc:
        visit(world, car, opened_at=opened, delivered_at=opened - dt.timedelta(minutes=1))
    assert exc.value.field == "delivered_at"


def lane(world, order, *, to_ready=True):
    """Drive an order through the lane with the real moves: estimate, approval, work, QC, ready."""
    a = world.advisor
    repair_order_move(actor=a, order=order, to=OrderStatus.ESTIMATE_SENT)
    for job in order.jobs.all():
        repair_job_move(actor=a, job=job, to=JobStatus.AUTHORIZED, reason="signed")
    repair_order_move(actor=a, order=order, to=OrderStatus.AUTHORIZED)
    repair_order_move(actor=a, order=order, to=OrderStatus.IN_PROGRESS)
    for job in order.jobs.all():
        for to in (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC):
            repair_job_move(actor=world.staff["foreman"], job=job, to=to)
    repair_order_move(actor=a, order=order, to=OrderStatus.QUALITY_CHECK)
    if to_ready:
        repair_order_move(actor=a, order=order, to=OrderStatus.READY)
    order.refresh_from_db()
    return order


def test_check_in_opens_an_order_with_an_event(world, car):
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=car.owner, vehicle=car,
                                  mileage=12000, complaint=" 异响 ")
    assert (order.status, order.advisor_id, order.complaint) == (OrderStatus.CHECKED_IN, world.advisor.pk, "异响")
    assert order.last_public_update_at == order.opened_at
    event = RepairOrderEvent.objects.get(order=order)
    assert (event.from_state, event.to_state, event.actor_id) == ("", "checked_in", world.advisor.pk)
    assert MileageReading.objects.filter(vehicle=car, km=12000).exists()
    with pytest.raises(Forbidden):
        repair_order_check_in(actor=world.advisor_b, store=world.a, customer=car.owner, vehicle=car)
    with pytest.raises(ValidationFailed) as exc:
        repair_order_check_in(actor=world.advisor, store=world.a, customer=car.owner, vehicle=car,
                              promised_at=timezone.now() - dt.timedelta(hours=1))
    assert exc.value.field == "promised_at"
    assert RepairOrder.objects.count() == 1


def test_job_add_prices_lines_and_keeps_warranty_cost(world, car):
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=car.owner, vehicle=car)
    job = repair_job_add(actor=world.advisor, order=order, title="更换刹车片", standard_hours="1.5", lines=[
        {"kind": "labour", "description": "工时", "quantity": "1.5", "unit_price": "280"},
        {"kind": "part", "description": "刹车片", "quantity": "1", "unit_price": "420", "is_aftermarket": True},
    ])
    warranty = repair_job_add(actor=world.advisor, order=order, title="保修更换", job_type="warranty", lines=[
        {"kind": "part", "description": "水泵", "quantity": "1", "unit_price": "600"},
    ])
    order.refresh_from_db()
    assert (job.seq, warranty.seq, job.status) == (1, 2, JobStatus.PROPOSED)
    assert order.total == Decimal("840.00")  # 1.5 × 280 + 420; the warranty job costs the customer nothing
    line = warranty.lines.get()
    assert (line.unit_price, line.unit_cost, line.amount) == (Decimal("0.00"), Decimal("600.00"), Decimal("0.00"))
    assert job.lines.filter(is_aftermarket=True).count() == 1
    with pytest.raises(ValidationFailed) as exc:
        repair_job_add(actor=world.advisor, order=order, title="x", lines=[{"kind": "part", "description": "y", "quantity": "-1"}])
    assert exc.value.field == "job.lines[1].quantity"
    with pytest.raises(ValidationFailed) as exc:
        repair_job_add(actor=world.advisor, order=order, title="  ")
    assert exc.value.field == "title"
    assert order.jobs.count() == 2


def test_authorized_total_follows_job_decisions(world, car):
    order = visit(world, car)
    repair_order_move(actor=world.advisor, order=order, to=OrderStatus.ESTIMATE_SENT)
    with pytest.raises(Conflict) as exc:
        repair_order_move(actor=world.advisor, order=order, to=OrderStatus.AUTHORIZED)
    assert exc.value.code == "nothing_authorized"
    first, second = order.jobs.order_by("seq")
    repair_job_move(actor=world.advisor, job=first, to=JobStatus.AUTHORIZED, reason="signed on the tablet")
    repair_job_move(actor=world.advisor, job=second, to=JobStatus.DECLINED, reason="too expensive")
    order.refresh_from_db()
    second.refresh_from_db()
    assert (order.authorized_total, order.total) == (Decimal("439.99"), Decimal("439.99"))
    assert second.declined_reason == "too expensive"
    assert list(RepairJobEvent.objects.filter(job=second).values_list("from_state", "to_state", "reason")) == [
        ("proposed", "declined", "too expensive")
    ]


def test_whole_lane_to_delivery(world, car):
    order = lane(world, visit(world, car))
    delivered = repair_order_deliver(actor=world.advisor, order=order)
    assert delivered.status == OrderStatus.DELIVERED and delivered.delivered_at is not None
    states = list(RepairOrderEvent.objects.filter(order=order).values_list("to_state", flat=True))
    assert states == ["checked_in", "estimate_sent", "authorized", "in_progress", "quality_check", "ready", "delivered"]
    assert AuditEvent.objects.filter(action="repair_order.delivered", object_id=str(order.pk)).count() == 1


@pytest.mark.parametrize("table", ["order", "job"])
def test_every_move_outside_the_table_is_refused(world, car, table):
    transitions, states = (ORDER_TRANSITIONS, OrderStatus) if table == "order" else (JOB_TRANSITIONS, JobStatus)
    order = visit(world, car)
    job = order.jobs.first()
    for current in states.values:
        for target in states.values:
            if target in transitions[current]:
                continue
            if table == "order":
                RepairOrder.objects.filter(pk=order.pk).update(status=current)
                with pytest.raises(IllegalTransition):
                    repair_order_move(actor=world.manager, order=order, to=target)
                assert RepairOrder.objects.get(pk=order.pk).status == current
            else:
                RepairJob.objects.filter(pk=job.pk).update(status=current)
                with pytest.raises(IllegalTransition):
                    repair_job_move(actor=world.manager, job=job, to=target)
                assert RepairJob.objects.get(pk=job.pk).status == current
    assert not RepairJobEvent.objects.filter(job=job).exists()
    assert list(RepairOrderEvent.objects.filter(order=order).values_list("to_state", flat=True)) == ["checked_in"]


def test_moves_need_permission_and_store(world, car):
    order = visit(world, car)
    with pytest.raises(Forbidden):
        repair_order_move(actor=world.technician, order=order, to=OrderStatus.INSPECTING)
    with pytest.raises(Forbidden):
        repair_order_move(actor=world.advisor_b, order=order, to=OrderStatus.INSPECTING)
    with pytest.raises(Forbidden):
        repair_job_move(actor=world.staff["cashier"], job=order.jobs.first(), to=JobStatus.AUTHORIZED)
    with pytest.raises(Forbidden):
        repair_job_move(actor=world.advisor_b, job=order.jobs.first(), to=JobStatus.AUTHORIZED)
    order.refresh_from_db()
    assert order.status == OrderStatus.CHECKED_IN
    assert set(order.jobs.values_list("status", flat=True)) == {JobStatus.PROPOSED}


def test_delivery_only_from_ready(world, car):
    order = visit(world, car)
    with pytest.raises(IllegalTransition):
        repair_order_deliver(actor=world.advisor, order=order)
    order.refresh_from_db()
    assert (order.status, order.delivered_at) == (OrderStatus.CHECKED_IN, None)


def test_public_updates_reset_the_customer_clock(world, car):
    from aftersales.workshop.services import progress_note_add

    t0 = timezone.now() - dt.timedelta(hours=2)
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=car.owner, vehicle=car, at=t0)
    private = progress_note_add(actor=world.technician, order=order, text="内部：等待举升机", at=t0 + dt.timedelta(minutes=20))
    order.refresh_from_db()
    assert order.last_public_update_at == t0 and not private.is_public
    progress_note_add(actor=world.technician, order=order, text="车辆在3号工位", is_public=True, at=t0 + dt.timedelta(minutes=40))
    order.refresh_from_db()
    assert order.last_public_update_at == t0 + dt.timedelta(minutes=40)
    repair_order_move(actor=world.advisor, order=order, to=OrderStatus.INSPECTING, at=t0 + dt.timedelta(minutes=50))
    order.refresh_from_db()
    assert order.last_public_update_at == t0 + dt.timedelta(minutes=50)
    with pytest.raises(ValidationFailed) as exc:
        progress_note_add(actor=world.technician, order=order, text=" ")
    assert exc.value.field == "text"
    with pytest.raises(Forbidden):
        progress_note_add(actor=world.staff["cashier"], order=order, text="x")
    assert order.notes.count() == 2


def test_progress_reaches_the_customer_unless_the_order_says_not_to(world, car):
    from aftersales.messaging.models import Message
    from aftersales.workshop.services import progress_note_add

    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=car.owner, vehicle=car)
    note = progress_note_add(actor=world.technician, order=order, text="机油更换中，位于3号工位", is_public=True)
    progress_note_add(actor=world.technician, order=order, text="内部备注", is_public=False)
    message = Message.objects.get(kind="repair.progress")
    assert message.dedup_key == f"repair-progress:{note.pk}" and "机油更换中" in message.body and "/o/" in message.body
    order = visit(world, car)
    lane(world, order)
    ready = Message.objects.get(kind="repair.ready", customer=car.owner)
    assert "489.99" in ready.body
    quiet = repair_order_check_in(actor=world.advisor, store=world.a, customer=car.owner, vehicle=car)
    RepairOrder.objects.filter(pk=quiet.pk).update(progress_messages=False)
    quiet.refresh_from_db()
    progress_note_add(actor=world.technician, order=quiet, text="举升中", is_public=True)
    assert Message.objects.filter(kind="repair.progress", dedup_key__startswith="repair-progress:").count() == 1
    # the work told the customer itself while it went through the lane (started, finished, passed QC)
    work = list(Message.objects.filter(kind="repair.progress", dedup_key__startswith="repair-work:").order_by("id"))
    assert work and all(m.customer == car.owner for m in work)
    assert any("开始作业" in m.body for m in work) and any("质检" in m.body for m in work)


def test_progress_messages_toggle_on_the_order_page(world, car, client):
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=car.owner, vehicle=car)
    client.force_login(world.advisor)
    response = client.post(f"/workshop/orders/{order.pk}/progress-messages/", {"enabled": "0", "next": f"/orders/{order.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    order.refresh_from_db()
    assert order.progress_messages is False
    assert AuditEvent.objects.filter(action="repair_order.progress_messages", object_id=str(order.pk)).exists()
    client.force_login(world.advisor_b)
    assert client.post(f"/workshop/orders/{order.pk}/progress-messages/", {"enabled": "1"}).status_code == 404
    client.force_login(world.technician)
    assert client.post(f"/workshop/orders/{order.pk}/progress-messages/", {"enabled": "1"}).status_code in (403, 409)
    order.refresh_from_db()
    assert order.progress_messages is False
