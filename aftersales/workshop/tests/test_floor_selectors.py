"""Reads of the workshop floor: AT RISK / LATE, the dispatch suggestion, the board (scoping, fixed query count),
efficiency and the progress-update interval."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.appointments.models import Bay
from aftersales.common.errors import NotFound
from aftersales.common.tests.api_helpers import count_queries
from aftersales.workshop import floor_selectors as sel
from aftersales.workshop import floor_services as fs
from aftersales.workshop.choices import OrderStatus
from aftersales.workshop.models import RepairOrder
from aftersales.workshop.services import progress_note_add, repair_order_move

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


def board_order(floor, order, now):
    board = sel.board_for(floor.foreman, floor.store, now=now)
    return next(o for o in board.orders if o.order.pk == order.pk)


# ---- at risk ------------------------------------------------------------------------------------------------------
def test_at_risk_compares_remaining_hours_with_the_technicians_shift_before_the_promise(floor):
    order = authorized_order(floor, [{"title": "大保养", "standard_hours": "3", "required_skill": "maintenance"}], promised="12:00")
    job = fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    # 09:30: 3 h of work, 2.5 h of shift before 12:00 → at risk
    row = board_order(floor, order, floor.at("09:30"))
    assert row.risk == sel.Risk.AT_RISK and "3.00" in row.risk_reason and "2.50" in row.risk_reason
    # 08:45: 3.25 h of shift left → on time
    assert board_order(floor, order, floor.at("08:45")).risk == sel.Risk.OK
    # worked time counts: clocked on 08:45–09:45 leaves 2 h of work and 2.25 h of shift at 09:45
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("08:45"))
    assert board_order(floor, order, floor.at("09:45")).risk == sel.Risk.OK
    assert board_order(floor, order, floor.at("09:45")).remaining == Decimal("2.00")
    # past the promised time and still in the workshop → late
    assert board_order(floor, order, floor.at("12:01")).risk == sel.Risk.LATE


def test_at_risk_uses_the_technicians_own_shift_and_opening_hours_for_unassigned_work(floor):
    order = authorized_order(floor, [{"title": "钣金修复", "standard_hours": "2", "required_skill": "body"}], promised="14:00")
    # nobody holds it: 4.5 h of opening time before 14:00 at 09:30 → fine
    assert board_order(floor, order, floor.at("09:30")).risk == sel.Risk.OK
    # given to the body technician whose shift ends at 12:00: 1.5 h left at 10:30 for 2 h of work
    fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.body, bay=floor.bays[1])
    assert board_order(floor, order, floor.at("10:30")).risk == sel.Risk.AT_RISK
    assert board_order(floor, order, floor.at("09:30")).risk == sel.Risk.OK
    # without a promised time there is no risk to show
    plain = authorized_order(floor)
    assert board_order(floor, plain, floor.at("17:59")).risk == sel.Risk.NONE


def test_at_risk_counts_the_night_as_no_time(floor):
    order = authorized_order(floor, [{"title": "变速箱检修", "standard_hours": "4"}], at="16:00")
    order.promised_at = floor.at("10:00", floor.day + dt.timedelta(days=1))
    order.save(update_fields=["promised_at"])
    # 16:30 → 18:00 is 1.5 h, 08:30 → 10:00 is 1.5 h: 3 h of opening time for 4 h of unassigned work
    assert board_order(floor, order, floor.at("16:30")).risk == sel.Risk.AT_RISK
    order.promised_at = floor.at("11:30", floor.day + dt.timedelta(days=1))
    order.save(update_fields=["promised_at"])
    assert board_order(floor, order, floor.at("16:30")).risk == sel.Risk.OK


# ---- the dispatch suggestion --------------------------------------------------------------------------------------
def test_suggestion_ranks_by_skill_free_time_and_load(floor):
    from aftersales.common.tests.factories import make_staff

    from .conftest import shifts

    second = make_staff("technician", floor.store, skills=["maintenance"], username="tech-2", display_name="刘洋")
    shifts(second, floor.store, "08:30", "18:00")
    # the first technician already holds 3 h of work today
    busy = authorized_order(floor, [{"title": "大保养", "standard_hours": "3"}])
    fs.job_dispatch(actor=floor.foreman, job=busy.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    order = authorized_order(floor, [{"title": "机油更换", "standard_hours": "1", "required_skill": "maintenance"}])
    job = order.made_jobs[0]
    ranked = sel.dispatch_suggestions(floor.foreman, sel.job_get(floor.foreman, job.pk), now=floor.at("09:00"))
    names = [s.technician.pk for s in ranked]
    assert names == [second.pk, floor.tech.pk, floor.body.pk]
    top, mid, last = ranked
    assert (top.has_skill, top.free, top.assigned) == (True, Decimal("9.00"), Decimal("0.00"))
    assert (mid.free, mid.assigned, mid.assigned_jobs) == (Decimal("6.00"), Decimal("3.00"), 1)
    assert not last.has_skill and any("Lacks" in r or "缺" in r for r in last.reasons)
    assert all(s.reasons for s in ranked)
    # late in the day the busy technician no longer has time for the job; a booked appointment takes free time
    late = sel.dispatch_suggestions(floor.foreman, job, now=floor.at("17:30"))
    assert [s.fits for s in late] == [False, False, False]


def test_booked_appointments_take_free_time(floor):
    from aftersales.appointments.models import Appointment, ServiceType
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    order = authorized_order(floor)
    kind = ServiceType.objects.create(store=floor.store, code="m", name_zh="保养", duration_minutes=120)
    customer = CustomerFactory(home_store=floor.store)
    Appointment.objects.create(
        store=floor.store, customer=customer, vehicle=VehicleFactory(owner=customer), service_type=kind,
        advisor=floor.advisor, technician=floor.tech, bay=floor.bays[0], start=floor.at("14:00"), end=floor.at("16:00"),
    )
    ranked = sel.dispatch_suggestions(floor.foreman, order.made_jobs[0], now=floor.at("09:00"))
    mine = next(s for s in ranked if s.technician.pk == floor.tech.pk)
    assert (mine.shift_left, mine.booked, mine.free) == (Decimal("9.00"), Decimal("2.00"), Decimal("7.00"))


# ---- the board ----------------------------------------------------------------------------------------------------
def test_board_shows_bays_technicians_jobs_and_flags(floor):
    order = authorized_order(floor, [{"title": "机油更换", "standard_hours": "1"}, {"title": "轮胎换位", "standard_hours": "0.5"}],
                             promised="17:00")
    first, second = order.made_jobs
    fs.job_dispatch(actor=floor.foreman, job=first, technician=floor.tech, bay=floor.bays[0])
    fs.clock_on(actor=floor.tech, job=first, at=floor.at("09:00"))
    board = sel.board_for(floor.foreman, floor.store, now=floor.at("09:40"))
    (row,) = board.orders
    assert row.silent and row.silent_minutes == 40
    assert [r.job.pk for r in board.unassigned] == [second.pk]
    bay = next(b for b in board.bays if b.bay.pk == floor.bays[0].pk)
    assert [r.job.pk for r in bay.jobs] == [first.pk]
    tech = next(t for t in board.technicians if t.user.pk == floor.tech.pk)
    assert tech.on_shift and tech.clocked.job.pk == first.pk and tech.load == Decimal("0.33")
    assert board.counts == {"orders": 1, "at_risk": 0, "late": 0, "silent": 1, "unassigned": 1}
    progress_note_add(actor=floor.advisor, order=order, text="机油更换中", is_public=True, at=floor.at("09:45"))
    assert not sel.board_for(floor.foreman, floor.store, now=floor.at("09:50")).orders[0].silent


def test_board_is_scoped_to_the_users_stores(floor):
    authorized_order(floor)
    with pytest.raises(NotFound):
        sel.board_for(floor.world.advisor_b, floor.store)
    other = authorized_order(floor, store=floor.world.b, advisor=floor.world.advisor_b)
    assert [o.order.pk for o in sel.board_for(floor.world.advisor_b, floor.world.b).orders] == [other.pk]


def test_board_query_count_does_not_grow_with_the_floor(floor):
    def build(n):
        for i in range(n):
            order = authorized_order(floor, [{"title": f"作业{i}", "standard_hours": "1"}, {"title": "检查", "standard_hours": "0.5"}],
                                     promised="16:00")
            bay = Bay.objects.create(store=floor.store, name=f"{Bay.objects.count() + 1}号工位")  # one car per bay (issue 14, item 3)
            fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=bay)

    build(1)
    foreman = type(floor.foreman).objects.get(pk=floor.foreman.pk)
    small, _board = count_queries(lambda: sel.board_for(foreman, floor.store, now=floor.at("10:00")))
    build(5)
    foreman = type(floor.foreman).objects.get(pk=floor.foreman.pk)
    large, board = count_queries(lambda: sel.board_for(foreman, floor.store, now=floor.at("10:00")))
    assert len(board.orders) == 6
    assert small == large <= 11, (small, large)


# ---- hours, efficiency, intervals ---------------------------------------------------------------------------------
def test_technician_efficiency(floor):
    order = authorized_order(floor, [{"title": "A", "standard_hours": "2"}, {"title": "B", "standard_hours": "1"}])
    a, b = (fs.job_dispatch(actor=floor.foreman, job=j, technician=floor.tech, bay=floor.bays[0]) for j in order.made_jobs)
    fs.clock_on(actor=floor.tech, job=a, at=floor.at("09:00"))
    fs.job_finish(actor=floor.tech, job=a, at=floor.at("10:30"))  # 1.5 h for 2 standard hours
    fs.clock_on(actor=floor.tech, job=b, at=floor.at("10:30"))
    fs.job_finish(actor=floor.tech, job=b, at=floor.at("12:00"))  # 1.5 h for 1 standard hour
    (row,) = sel.technician_efficiency(floor.manager if hasattr(floor, "manager") else floor.world.manager, floor.store,
                                       floor.at("00:00"), floor.at("23:59"))
    assert (row.technician.pk, row.jobs, row.standard, row.actual, row.percent) == (
        floor.tech.pk, 2, Decimal("3.00"), Decimal("3.00"), 100)
    with pytest.raises(NotFound):
        sel.technician_efficiency(floor.world.advisor_b, floor.store, floor.at("00:00"), floor.at("23:59"))


def test_progress_update_interval(floor):
    order = authorized_order(floor, at="08:40")  # check-in 08:40, estimate 08:42, authorized 08:43
    job = fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:30"))  # 47-minute gap
    progress_note_add(actor=floor.advisor, order=order, text="进行中", is_public=True, at=floor.at("09:50"))
    fs.job_finish(actor=floor.tech, job=job, at=floor.at("10:10"))
    repair_order_move(actor=floor.foreman, order=order, to=OrderStatus.QUALITY_CHECK, at=floor.at("10:20"))
    repair_order_move(actor=floor.foreman, order=order, to=OrderStatus.READY, at=floor.at("10:40"))
    quick = authorized_order(floor, at="11:00")  # still in the workshop: the gap runs until now
    report = sel.progress_update_intervals(floor.advisor, floor.store, floor.at("00:00"), floor.at("23:59"), now=floor.at("11:20"))
    assert report.orders == 2 and report.max_gap_minutes == 47
    assert report.within_30 == 1 and report.within_30_percent == 50
    assert report.worst[0][0].pk == order.pk
    assert quick.pk in [o.pk for o, _m in report.worst]


def test_suggested_update_text_follows_the_work(floor):
    from aftersales.customers.models import Customer

    order = authorized_order(floor, authorize=False)
    Customer.objects.filter(pk=order.customer_id).update(language="en")
    order = RepairOrder.objects.select_related("customer").get(pk=order.pk)
    assert "estimate" in sel.suggested_update_text(order, sel.order_job_rows(floor.advisor, order))
    order = authorized_order(floor)
    Customer.objects.filter(pk=order.customer_id).update(language="en")
    job = fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))
    order = RepairOrder.objects.select_related("customer").get(pk=order.pk)
    text = sel.suggested_update_text(order, sel.order_job_rows(floor.advisor, order))
    assert job.title in text and floor.bays[0].name in text and "under way" in text
    fs.job_finish(actor=floor.tech, job=job, at=floor.at("09:30"))
    assert "done" in sel.suggested_update_text(order, sel.order_job_rows(floor.advisor, order))
    Customer.objects.filter(pk=order.customer_id).update(language="zh-hans")
    order = RepairOrder.objects.select_related("customer").get(pk=order.pk)
    assert "done" not in sel.suggested_update_text(order, sel.order_job_rows(floor.advisor, order))  # in Chinese


def test_my_jobs_lists_assigned_work_and_what_was_finished_today(floor):
    order = authorized_order(floor, [{"title": "A", "standard_hours": "1"}, {"title": "B", "standard_hours": "1"}])
    a, b = (fs.job_dispatch(actor=floor.foreman, job=j, technician=floor.tech, bay=floor.bays[0]) for j in order.made_jobs)
    fs.clock_on(actor=floor.tech, job=a, at=floor.at("09:00"))
    fs.job_finish(actor=floor.tech, job=a, at=floor.at("10:00"))
    fs.clock_on(actor=floor.tech, job=b, at=floor.at("10:00"))
    rows = sel.my_jobs(floor.tech, now=floor.at("11:00"))
    assert [r.job.pk for r in rows] == [b.pk, a.pk]  # the one being worked on first, the finished one last
    tomorrow = sel.my_jobs(floor.tech, now=floor.at("11:00", floor.day + dt.timedelta(days=1)))
    assert [r.job.pk for r in tomorrow] == [b.pk]
    assert sel.my_jobs(floor.body, now=floor.at("11:00")) == []


def test_a_car_waiting_for_weeks_does_not_blind_the_board(floor):
    from aftersales.workshop.models import RepairOrder as Order

    old = authorized_order(floor, at="08:40")
    Order.objects.filter(pk=old.pk).update(
        opened_at=floor.at("08:40") - dt.timedelta(days=60), last_public_update_at=floor.at("09:00") - dt.timedelta(days=60)
    )
    order = authorized_order(floor, [{"title": "大保养", "standard_hours": "3"}], promised="12:00")
    fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0], at=floor.at("08:50"))
    board = sel.board_for(floor.foreman, floor.store, now=floor.at("09:30"))
    rows = {o.order.pk: o for o in board.orders}
    assert rows[order.pk].risk == sel.Risk.AT_RISK  # today's shifts are still known
    assert rows[old.pk].silent and rows[order.pk].silent_minutes == 40  # the car going into its bay was an update
    tech = next(t for t in board.technicians if t.user.pk == floor.tech.pk)
    assert tech.on_shift and tech.shift_left == Decimal("8.50")


def test_interval_report_over_a_long_period(floor):
    first = authorized_order(floor, at="08:40")
    later_day = floor.day + dt.timedelta(days=45)
    late = authorized_order(floor, at="08:40")
    from aftersales.workshop.models import RepairOrder as Order
    from aftersales.workshop.models import RepairOrderEvent

    shift = later_day - floor.day
    Order.objects.filter(pk=late.pk).update(opened_at=late.opened_at + shift, last_public_update_at=late.last_public_update_at + shift)
    for event in RepairOrderEvent.objects.filter(order=late):
        RepairOrderEvent.objects.filter(pk=event.pk).update(at=event.at + shift)
    report = sel.progress_update_intervals(floor.advisor, floor.store, floor.at("00:00"), floor.at("23:59", later_day),
                                           now=floor.at("09:43", later_day))
    gaps = {o.pk: m for o, m in report.worst}
    assert gaps[late.pk] == 60  # 08:43 → 09:43 on the later day, measured although it is 45 days after the first
    assert gaps[first.pk] > 60
