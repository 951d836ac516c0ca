"""The workshop floor's writes: dispatch, clocking, waiting for parts, promised time, parts within the authorization,
old parts, and the 30-minute progress flag."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.messaging.models import Message, Notification
from aftersales.workshop import floor_services as fs
from aftersales.workshop.choices import JobStatus, OrderStatus
from aftersales.workshop.floor_selectors import order_job_rows
from aftersales.workshop.models import ProgressFlag, RepairJob, RepairJobEvent, RepairLine, RepairOrder, TimeEntry
from aftersales.workshop.services import progress_note_add, repair_order_move

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


# ---- dispatch -----------------------------------------------------------------------------------------------------
def test_dispatch_stores_technician_and_bay_and_moves_the_job(floor):
    order = authorized_order(floor)
    job = order.made_jobs[0]
    done = fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0], at=floor.at("09:00"))
    assert (done.status, done.technician_id, done.bay_id) == (JobStatus.DISPATCHED, floor.tech.pk, floor.bays[0].pk)
    event = RepairJobEvent.objects.filter(job=job).last()
    assert (event.from_state, event.to_state, event.actor_id) == (JobStatus.AUTHORIZED, JobStatus.DISPATCHED, floor.foreman.pk)
    assert AuditEvent.objects.filter(action="repair_job.assigned").exists()
    # reassigning a dispatched job keeps it dispatched and changes the technician's bay
    again = fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[1])
    assert (again.status, again.bay_id) == (JobStatus.DISPATCHED, floor.bays[1].pk)


@pytest.mark.parametrize(
    ("who", "bay", "code", "field"),
    [
        ("body", 0, "technician_lacks_skill", "technician"),
        ("tech_b", 0, "technician_other_store", "technician"),
        ("advisor", 0, "not_a_technician", "technician"),
        ("tech", "b", "bay_unknown", "bay"),
        (None, 0, "technician_unknown", "technician"),
    ],
)
def test_dispatch_refuses_the_wrong_technician_or_bay_and_changes_nothing(floor, who, bay, code, field):
    order = authorized_order(floor, [{"title": "发动机异响", "standard_hours": "2", "required_skill": "engine"}])
    job = order.made_jobs[0]
    technician = getattr(floor, who) if who else None
    bay_row = floor.bay_b if bay == "b" else floor.bays[bay]
    with pytest.raises(ValidationFailed) as exc:
        fs.job_dispatch(actor=floor.foreman, job=job, technician=technician, bay=bay_row)
    assert (exc.value.code, exc.value.field) == (code, field)
    job.refresh_from_db()
    assert (job.status, job.technician_id, job.bay_id) == (JobStatus.AUTHORIZED, None, None)
    assert not RepairJobEvent.objects.filter(job=job, to_state=JobStatus.DISPATCHED).exists()


def test_dispatch_needs_the_foreman_role_and_the_store(floor):
    order = authorized_order(floor)
    job = order.made_jobs[0]
    for actor in (floor.tech, floor.advisor):
        with pytest.raises(Forbidden):
            fs.job_dispatch(actor=actor, job=job, technician=floor.tech, bay=floor.bays[0])
    with pytest.raises(Forbidden):
        fs.job_dispatch(actor=floor.world.manager_b, job=job, technician=floor.tech, bay=floor.bays[0])


def test_dispatch_refuses_a_job_not_authorized(floor):
    order = authorized_order(floor, authorize=False)
    with pytest.raises(Conflict) as exc:
        fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    assert exc.value.code == "order_not_working"


def test_unassign_takes_the_job_back(floor):
    order = authorized_order(floor)
    job = fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    back = fs.job_unassign(actor=floor.foreman, job=job, reason="换人")
    assert (back.status, back.technician_id, back.bay_id) == (JobStatus.AUTHORIZED, None, None)


# ---- clocking -----------------------------------------------------------------------------------------------------
def dispatched(floor, n: int = 1, **kwargs):
    order = authorized_order(floor, [{"title": f"作业{i}", "standard_hours": "1.5"} for i in range(n)], **kwargs)
    jobs = [fs.job_dispatch(actor=floor.foreman, job=j, technician=floor.tech, bay=floor.bays[0]) for j in order.made_jobs]
    return order, jobs


def test_clock_on_starts_the_job_and_the_order(floor):
    order, (job,) = dispatched(floor)
    entry = fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))
    assert entry.ended_at is None and entry.technician_id == floor.tech.pk
    job.refresh_from_db()
    order.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS and order.status == OrderStatus.IN_PROGRESS
    assert order.events.last().actor_id == floor.tech.pk  # the technician moved it, without change_repairorder
    assert order.last_public_update_at == floor.at("09:00")


def test_clocking_on_a_second_job_clocks_off_the_first(floor):
    _order, (first, second) = dispatched(floor, 2)
    one = fs.clock_on(actor=floor.tech, job=first, at=floor.at("09:00"))
    two = fs.clock_on(actor=floor.tech, job=second, at=floor.at("09:40"))
    one.refresh_from_db()
    assert (one.ended_at, one.end_reason) == (floor.at("09:40"), "switch")
    assert TimeEntry.objects.filter(technician=floor.tech, ended_at__isnull=True).get() == two
    # tapping Start again on the same job is the same entry
    assert fs.clock_on(actor=floor.tech, job=second, at=floor.at("09:45")).pk == two.pk
    assert TimeEntry.objects.count() == 2


def test_pause_resume_finish_and_actual_hours(floor):
    order, (job,) = dispatched(floor)
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))
    paused = fs.clock_off(actor=floor.tech, at=floor.at("09:30"))
    assert paused.end_reason == "pause"
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS
    assert fs.clock_off(actor=floor.tech, at=floor.at("09:31")) is None  # nothing open: nothing to pause
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("10:00"))
    finished = fs.job_finish(actor=floor.tech, job=job, at=floor.at("10:45"))
    assert finished.status == JobStatus.DONE
    assert not TimeEntry.objects.filter(ended_at__isnull=True).exists()
    (row,) = order_job_rows(floor.tech, order, now=floor.at("12:00"))
    assert row.worked == Decimal("1.25") and row.standard == Decimal("1.50")
    assert row.efficiency == 120 and row.remaining == Decimal("0.00")


def test_clocking_rules(floor):
    _order, (job,) = dispatched(floor)
    other = floor.body
    with pytest.raises(Forbidden) as exc:
        fs.clock_on(actor=other, job=job)
    assert exc.value.code == "not_your_job"
    with pytest.raises(Forbidden):
        fs.clock_on(actor=floor.advisor, job=job)  # no clocking permission
    with pytest.raises(Conflict) as exc:
        fs.job_finish(actor=floor.tech, job=job)
    assert exc.value.code == "job_not_started"
    assert not TimeEntry.objects.exists()


def test_waiting_for_parts_and_back(floor):
    order, (job,) = dispatched(floor)
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))
    with pytest.raises(ValidationFailed) as exc:
        fs.order_wait_for_parts(actor=floor.tech, order=order, reason="  ")
    assert exc.value.field == "reason"
    waiting = fs.order_wait_for_parts(actor=floor.tech, order=order, reason="等刹车片", at=floor.at("09:20"))
    assert waiting.status == OrderStatus.WAITING_PARTS
    assert TimeEntry.objects.get().end_reason == "pause"  # the technician was clocked off
    with pytest.raises(Conflict) as exc:
        fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:30"))
    assert exc.value.code == "order_waiting"
    back = fs.order_parts_arrived(actor=floor.foreman, order=order, at=floor.at("10:00"))
    assert back.status == OrderStatus.IN_PROGRESS
    with pytest.raises(Conflict):
        fs.order_parts_arrived(actor=floor.foreman, order=order)
    with pytest.raises(Forbidden):
        fs.order_wait_for_parts(actor=floor.world.staff["cashier"], order=order, reason="x")


def test_promised_time(floor):
    order = authorized_order(floor)
    later = floor.at("17:00")
    done = fs.order_set_promised(actor=floor.advisor, order=order, promised_at=later, at=floor.at("09:00"))
    assert done.promised_at == later
    assert fs.order_set_promised(actor=floor.advisor, order=order, promised_at="2099-01-01 10:00").promised_at.year == 2099
    for bad, code in [(floor.at("08:00"), "promised_in_past"), ("tomorrow", "datetime_format"), (None, "required")]:
        with pytest.raises(ValidationFailed) as exc:
            fs.order_set_promised(actor=floor.advisor, order=order, promised_at=bad, at=floor.at("09:00"))
        assert (exc.value.code, exc.value.field) == (code, "promised_at")
    with pytest.raises(Forbidden):
        fs.order_set_promised(actor=floor.tech, order=order, promised_at=later)


# ---- parts --------------------------------------------------------------------------------------------------------
@pytest.fixture
def stock(floor):
    from aftersales.parts.catalogue import part_create
    from aftersales.parts.services import stock_receive

    manager = floor.world.manager
    pads = part_create(actor=manager, group=floor.world.group, number="BP-1", name_zh="刹车片", cost_price="100.00",
                       sale_price="300.00", tracking="batch", warranty_months=12)
    oil = part_create(actor=manager, group=floor.world.group, number="OIL-5", name_zh="机油", cost_price="40.00",
                      sale_price="80.00", unit="litre")
    batch_move = stock_receive(actor=manager, store=floor.store, part=pads, quantity=10, unit_cost="100.00",
                               batch_number="LOT-2026-11", origin="日本", production_date=dt.date(2026, 10, 1))
    stock_receive(actor=manager, store=floor.store, part=oil, quantity=20, unit_cost="40.00")
    return pads, oil, batch_move.batch


def parts_order(floor, job_type="repair"):
    return authorized_order(floor, [{
        "title": "更换前刹车片", "job_type": job_type, "standard_hours": "1",
        "lines": [{"kind": "labour", "description": "工时", "quantity": "1", "unit_price": "200"},
                  {"kind": "part", "code": "BP-1", "description": "刹车片", "quantity": "2", "unit_price": "300"}],
    }])


def test_issue_within_the_estimate_records_the_batch_and_consumes_the_reservation(floor, stock):
    from aftersales.parts.models import StockItem
    from aftersales.parts.services import reserve
    from aftersales.workshop.floor_selectors import parts_fitted

    pads, _oil, batch = stock
    order = parts_order(floor)
    job = order.made_jobs[0]
    reserve(actor=floor.parts_clerk, store=floor.store, part=pads, quantity=2, source="job", reference=f"job:{job.pk}")
    movement = fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=2, batch=batch)
    assert movement.quantity == Decimal("-2") and movement.batch == batch and movement.repair_job_id == job.pk
    item = StockItem.objects.get(store=floor.store, part=pads)
    assert (item.on_hand, item.reserved) == (Decimal("8"), Decimal("0"))
    assert RepairLine.objects.get(job=job, kind="part").part_id == pads.pk  # the estimate line is linked to the part
    (fitted,) = parts_fitted(floor.advisor, order)
    assert (fitted.part, fitted.batch.number, fitted.batch.origin, fitted.quantity) == (pads, "LOT-2026-11", "日本", Decimal("2"))
    assert fitted.batch.warranty_until is not None
    # a returned part goes back to stock and off the fitted list
    fs.job_part_return(actor=floor.parts_clerk, job=job, part=pads, quantity=1, batch=batch, reason="多领")
    item.refresh_from_db()
    assert item.on_hand == Decimal("9")
    assert parts_fitted(floor.advisor, order)[0].quantity == Decimal("1")


def test_issue_beyond_the_authorized_total_is_refused_and_writes_nothing(floor, stock):
    from aftersales.parts.models import StockItem, StockMovement

    pads, oil, batch = stock
    order = parts_order(floor)
    job = order.made_jobs[0]
    before = order.authorized_total
    with pytest.raises(Conflict) as exc:
        fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=3, batch=batch)
    assert (exc.value.code, exc.value.field, exc.value.extra["amount"]) == ("authorization_needed", "quantity", "300.00")
    assert "authoriz" in str(exc.value.message)
    with pytest.raises(Conflict):  # a part not on the estimate at all
        fs.job_part_issue(actor=floor.parts_clerk, job=job, part=oil, quantity=1)
    assert not StockMovement.objects.filter(kind="issue").exists()
    assert StockItem.objects.get(store=floor.store, part=pads).on_hand == Decimal("10")
    assert RepairLine.objects.filter(job=job).count() == 2
    order.refresh_from_db()
    assert order.authorized_total == before


def test_issue_to_a_warranty_job_adds_a_zero_line(floor, stock):
    _pads, oil, _batch = stock
    order = parts_order(floor, job_type="warranty")
    job = order.made_jobs[0]
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=oil, quantity="4.5")
    line = RepairLine.objects.get(job=job, part=oil)
    assert (line.quantity, line.unit_price, line.amount, line.unit_cost) == (
        Decimal("4.5"), Decimal("0.00"), Decimal("0.00"), Decimal("40.00"))
    order.refresh_from_db()
    assert order.total == Decimal("0.00")


def test_issue_refusals(floor, stock):
    pads, _oil, _batch = stock
    order = parts_order(floor)
    job = order.made_jobs[0]
    with pytest.raises(ValidationFailed) as exc:
        fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=1)  # tracked: batch needed
    assert exc.value.field == "batch"
    with pytest.raises(Forbidden):
        fs.job_part_issue(actor=floor.tech, job=job, part=pads, quantity=1)
    proposed = authorized_order(floor, authorize=False)
    with pytest.raises(Conflict) as exc:
        fs.job_part_issue(actor=floor.parts_clerk, job=proposed.made_jobs[0], part=pads, quantity=1)
    assert exc.value.code == "job_not_authorized"


def test_old_part_kept_for_the_customer(floor, stock):
    from aftersales.workshop.floor_selectors import old_parts_kept

    order = parts_order(floor)
    line = RepairLine.objects.get(order=order, kind="part")
    fs.line_keep_old_part(actor=floor.tech, line=line, keep=True)
    assert [x.pk for x in old_parts_kept(floor.advisor, order)] == [line.pk]
    labour = RepairLine.objects.get(order=order, kind="labour")
    with pytest.raises(ValidationFailed):
        fs.line_keep_old_part(actor=floor.tech, line=labour, keep=True)
    with pytest.raises(Forbidden):
        fs.line_keep_old_part(actor=floor.world.advisor_b, line=line, keep=False)


# ---- the 30-minute progress flag ----------------------------------------------------------------------------------
def test_silent_order_is_flagged_once_per_silent_period(floor):
    from aftersales.messaging.dispatch import dispatch_due

    order, (job,) = dispatched(floor)
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))  # a public update at 09:00
    assert fs.flag_silent_orders(now=floor.at("09:29")) == 0
    assert fs.flag_silent_orders(now=floor.at("09:31")) == 1
    assert fs.flag_silent_orders(now=floor.at("09:45")) == 0  # the same silent period: once
    assert fs.flag_silent_orders(now=floor.at("10:30")) == 0
    flag = ProgressFlag.objects.get()
    assert (flag.order_id, flag.silent_since, flag.advisor_id) == (order.pk, floor.at("09:00"), floor.advisor.pk)
    message = Message.objects.get(kind="workshop.progress_silent")
    assert (message.staff_user_id, message.channel) == (floor.advisor.pk, "app")
    assert order.number in message.body
    dispatch_due()
    assert Notification.objects.filter(staff_user=floor.advisor, message=message).exists()
    # a public note starts a new period, flagged again 30 minutes later
    progress_note_add(actor=floor.advisor, order=order, text="正在更换机油", is_public=True, at=floor.at("10:40"))
    assert fs.flag_silent_orders(now=floor.at("11:05")) == 0
    assert fs.flag_silent_orders(now=floor.at("11:11")) == 1
    assert ProgressFlag.objects.count() == 2 and Message.objects.filter(kind="workshop.progress_silent").count() == 2
    # a private note does not count as an update
    progress_note_add(actor=floor.advisor, order=order, text="内部备注", at=floor.at("11:30"))
    assert fs.flag_silent_orders(now=floor.at("11:45")) == 0


def test_silence_counts_opening_time_only_and_not_cars_out_of_the_workshop(floor):
    late, _jobs = dispatched(floor)
    fs.clock_on(actor=floor.tech, job=_jobs[0], at=floor.at("17:50"))
    next_day = floor.day + dt.timedelta(days=1)
    # 10 open minutes before closing, then the night does not count: at 08:45 only 25 minutes have passed
    assert fs.flag_silent_orders(now=floor.at("08:45", next_day)) == 0
    assert fs.flag_silent_orders(now=floor.at("08:51", next_day)) == 1
    ready = authorized_order(floor, at="08:40")
    repair_order_move(actor=floor.advisor, order=ready, to=OrderStatus.CANCELLED, at=floor.at("08:45"))
    assert fs.flag_silent_orders(now=floor.at("17:00", next_day)) == 0
    assert not ProgressFlag.objects.filter(order=ready).exists()
    assert ProgressFlag.objects.filter(order=late).count() == 1


def test_ready_orders_are_not_flagged(floor):
    order, (job,) = dispatched(floor)
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))
    fs.job_finish(actor=floor.tech, job=job, at=floor.at("09:30"))
    repair_order_move(actor=floor.foreman, order=order, to=OrderStatus.QUALITY_CHECK, at=floor.at("09:31"))
    repair_order_move(actor=floor.foreman, order=order, to=OrderStatus.READY, at=floor.at("09:40"))
    assert fs.flag_silent_orders(now=floor.at("15:00")) == 0


def test_the_task_runs_the_sweep(floor):
    from aftersales.workshop.tasks import flag_silent_orders

    assert flag_silent_orders() == 0  # nothing in the workshop: nothing to flag, no error


def test_job_can_be_started_again_after_rework(floor):
    order, (job,) = dispatched(floor)
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))
    fs.job_finish(actor=floor.tech, job=job, at=floor.at("09:30"))
    from aftersales.workshop.services import repair_job_move

    repair_job_move(actor=floor.world.staff["qc_inspector"], job=job, to=JobStatus.REWORK, reason="漏油", at=floor.at("09:40"))
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:50"))
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    with pytest.raises(IllegalTransition):
        repair_job_move(actor=floor.tech, job=job, to=JobStatus.PASSED_QC)
    assert RepairOrder.objects.get(pk=order.pk).status == OrderStatus.IN_PROGRESS
