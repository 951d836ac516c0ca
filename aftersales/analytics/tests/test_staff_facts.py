"""Staff and service-type daily facts: the scorecards read from them equal the raw computation (local-day borders
included), the hand-computed figures, coalesced event-driven refresh of the marked store-days, and a reconcile that
reports a fact that differs from the raw tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from aftersales.analytics import facts, scorecards
from aftersales.analytics.kpis import Scope
from aftersales.analytics.models import DirtyDay, StaffDailyFact
from aftersales.analytics.periods import Period
from aftersales.common import events

from . import factories as f

pytestmark = pytest.mark.django_db
NOV = Period.containing("month", dt.date(2026, 11, 1))
NOW = f.at("2026-11-20", "12:00")  # the month is current: its past days from the facts, today raw
SIX = Decimal("0.000001")


@pytest.fixture
def world(staff_stores):
    gz, sz, adv, t1, t2 = (staff_stores[k] for k in ("gz", "sz", "adv", "t1", "t2"))
    sz_adv = staff_stores["other"]
    # order one: checked in on the first local minute of the month, t1 60 min + t2 30 min, delivered 11-02
    o1 = f.order(gz, opened=f.at("2026-11-01", "00:00"), delivered=f.at("2026-11-02", "10:00"), advisor=adv)
    j1 = f.job(o1, job_type="maintenance")
    f.clock(j1, t1, f.at("2026-11-01", "00:20"), 60)
    f.clock(j1, t2, f.at("2026-11-01", "01:30"), 30)
    inv = f.invoice(o1, total="300")
    f.line(inv, o1, j1, kind="labour", amount="300", quantity="3")
    f.followup(o1, answered=f.at("2026-11-03", "23:59"), overall=9)  # last minute of 11-03 (local)
    # order two: the last day of October (outside), a waiting of 50 min, delivered 11-04 00:00 (inside)
    o2 = f.order(gz, opened=f.at("2026-10-31", "23:00"), delivered=f.at("2026-11-04", "00:00"), advisor=adv)
    j2 = f.job(o2)
    f.clock(j2, t1, f.at("2026-10-31", "23:50"), 120)
    inv2 = f.invoice(o2, total="100")
    f.line(inv2, o2, j2, kind="labour", amount="100", quantity="1")
    f.followup(o2, answered=f.at("2026-11-04", "00:00"), overall=6)  # first minute of 11-04
    o0 = f.order(gz, opened=f.at("2026-10-20", "09:00"), advisor=adv)
    f.followup(o0, answered=f.at("2026-10-31", "23:59"), overall=2)  # the day before the month: not counted
    # today (raw): an answer at 10:00
    o3 = f.order(gz, opened=f.at("2026-11-19", "09:00"), advisor=adv)
    f.followup(o3, answered=f.at("2026-11-20", "10:00"), overall=10)
    # another store's advisor: never in gz's figures
    o4 = f.order(sz, opened=f.at("2026-11-05", "09:00"), advisor=sz_adv)
    f.followup(o4, answered=f.at("2026-11-06", "10:00"), overall=3)
    return {"gz": gz, "sz": sz, "adv": adv, "t1": t1, "t2": t2, "sz_adv": sz_adv, "o1": o1, "o2": o2}


def _build(stores, first=dt.date(2026, 11, 1), last=dt.date(2026, 11, 19)):
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return facts.write_days(days, now=NOW, stores=stores)


def _flat(cards):
    return {(c.user.pk, comp.code): (comp.actual, comp.numerator.quantize(SIX), comp.denominator.quantize(SIX))
            for c in cards for comp in c.components}


def _both(scope):
    return _flat(scorecards.scorecards(scope, use_facts=True)), _flat(scorecards.scorecards(scope, use_facts=False))


def test_facts_equal_the_raw_computation_and_the_hand_computed_figures(world):
    gz, sz = world["gz"], world["sz"]
    assert _build([gz, sz]) == 2 * 19
    scope = Scope([gz], NOV, NOW, {})
    assert facts.period_sums(scope) is not None  # read from the facts
    from_facts, raw = _both(scope)
    assert from_facts == raw
    adv, t1, t2 = world["adv"].pk, world["t1"].pk, world["t2"].pk
    # CSAT: 11-03 23:59 (9), 11-04 00:00 (6), today 10:00 (10); 10-31 23:59 (2) is October: 2 of 3
    assert from_facts[(adv, "csat")] == (Decimal("66.7"), Decimal(2), Decimal(3))
    # t1: 2/3 of order one (satisfied) + all of order two (not) = (2/3) / (5/3) = 40 %; t2: 1/3 of order one
    assert from_facts[(t1, "csat")][0] == Decimal("40.0")
    assert from_facts[(t2, "csat")] == (Decimal("100.0"), (Decimal(1) / 3).quantize(SIX), (Decimal(1) / 3).quantize(SIX))
    # advisor's waiting: order one (checked in 11-01 00:00, in work 20 min later) within 30 min; order two is October
    assert from_facts[(adv, "efficiency")] == (Decimal("100.0"), Decimal(1), Decimal(1))
    # t1's efficiency: order one delivered 11-02 (3 h sold × 2/3 = 2 h on 1 h clocked), order two delivered 11-04
    # 00:00 (1 h sold on 2 h clocked): 3 h sold ÷ 3 h clocked = 100 %
    assert from_facts[(t1, "efficiency")][1:] == (Decimal(3), Decimal(3))
    assert world["sz_adv"].pk not in {k[0] for k in from_facts}
    # the group (both stores) as well
    assert _both(Scope([gz, sz], NOV, NOW, {}))[0] == _both(Scope([gz, sz], NOV, NOW, {}))[1]


def test_rows_per_dimension_and_the_service_types(world):
    gz = world["gz"]
    _build([gz])
    rows = {(r.day, r.dimension, r.key, r.code): (r.numerator, r.denominator) for r in StaffDailyFact.objects.filter(store=gz)}
    assert len([k for k in rows if k[1] == facts.MARKER]) == 19  # one marker per computed store-day
    t1 = str(world["t1"].pk)
    # the answer at 11-03 23:59 is 11-03's; t1's share of order one's time is 2/3
    assert rows[(dt.date(2026, 11, 3), "technician", t1, "csat")][0].quantize(SIX) == (Decimal(2) / 3).quantize(SIX)
    assert (dt.date(2026, 11, 4), "advisor", str(world["adv"].pk), "csat") in rows
    assert rows[(dt.date(2026, 11, 2), "service_type", "maintenance", "efficiency")] == (Decimal(3), Decimal("1.5"))
    assert rows[(dt.date(2026, 11, 4), "service_type", "repair", "efficiency")] == (Decimal(1), Decimal(2))
    # a period's service types from the facts = the raw function over the period
    scope = Scope([gz], NOV, NOW, {})
    summed = facts.period_sums(scope)
    raw = scorecards.by_member(scorecards._service_types(scope))
    assert {k: (n.quantize(SIX), d.quantize(SIX)) for k, (n, d) in summed[("service_type", "efficiency")].items()} == \
        {k: (n.quantize(SIX), d.quantize(SIX)) for k, (n, d) in raw.items()}


def test_a_missing_store_day_reads_the_raw_tables(world):
    gz = world["gz"]
    _build([gz], last=dt.date(2026, 11, 18))  # 11-19 not computed
    assert facts.period_sums(Scope([gz], NOV, NOW, {})) is None
    from_facts, raw = _both(Scope([gz], NOV, NOW, {}))
    assert from_facts == raw


def test_events_mark_store_days_once_and_the_task_recomputes_them(world, django_capture_on_commit_callbacks):
    gz = world["gz"]
    _build([gz])
    # a late answer to an older order, answered "yesterday" (11-19): the facts of 11-19 are stale until refreshed
    o = f.order(gz, opened=f.at("2026-11-10", "09:00"), advisor=world["adv"])
    fu = f.followup(o, answered=f.at("2026-11-19", "15:00"), overall=3)
    scope = Scope([gz], NOV, NOW, {})
    assert _both(scope)[0] != _both(scope)[1]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for _ in range(3):  # three events for the same answer, then an order move: one mark per store-day
            events.publish(events.FollowUpAnswered(followup_id=fu.pk, order_id=o.pk, store_id=gz.pk))
        events.publish(events.OrderMoved(order_id=o.pk, customer_id=o.customer_id, store_id=gz.pk, before="in_progress", to="delivered"))
    marked = set(DirtyDay.objects.filter(store=gz).values_list("day", flat=True))
    assert dt.date(2026, 11, 19) in marked and dt.date(2026, 11, 10) in marked
    assert DirtyDay.objects.count() == len(marked)  # each store-day once
    assert facts.refresh_dirty(now=NOW) == len(marked)
    assert not DirtyDay.objects.exists()
    from_facts, raw = _both(scope)
    assert from_facts == raw
    assert from_facts[(world["adv"].pk, "csat")] == (Decimal("50.0"), Decimal(2), Decimal(4))


def test_reconcile_reports_a_stale_fact_and_repairs_it(world):
    gz = world["gz"]
    _build([gz])
    fact = StaffDailyFact.objects.get(store=gz, day=dt.date(2026, 11, 3), dimension="advisor", code="csat")
    fact.numerator = Decimal(0)
    fact.save()
    differences: list = []
    assert facts.reconcile([gz], dt.date(2026, 11, 2), dt.date(2026, 11, 4), NOW, differences) == 0
    assert len(differences) == 1
    d = differences[0]
    assert (d["store"], d["day"], d["dimension"], d["key"], d["code"]) == (gz.pk, "2026-11-03", "advisor", str(world["adv"].pk), "csat")
    assert [Decimal(x) for x in d["stored"]] == [0, 1] and [Decimal(x) for x in d["raw"]] == [1, 1]
    again: list = []
    facts.reconcile([gz], dt.date(2026, 11, 2), dt.date(2026, 11, 4), NOW, again)
    assert again == []


def test_one_transaction_marks_its_days_with_one_read_per_source_and_one_insert(world, django_capture_on_commit_callbacks):
    """The lane's request publishes several events (the order moved, its job moved, the invoice paid): the batch
    handler reads the order once and writes every mark in one INSERT … ON CONFLICT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    gz = world["gz"]
    o = f.order(gz, opened=f.at("2026-11-10", "09:00"), delivered=f.at("2026-11-12", "16:00"), advisor=world["adv"])
    fu = f.followup(o, answered=f.at("2026-11-19", "15:00"), overall=3)
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(events.OrderMoved(order_id=o.pk, customer_id=o.customer_id, store_id=gz.pk, before="ready", to="delivered"))
        events.publish(events.OrderDelivered(order_id=o.pk, customer_id=o.customer_id, store_id=gz.pk))
        events.publish(events.FollowUpAnswered(followup_id=fu.pk, order_id=o.pk, store_id=gz.pk))
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 3, statements  # the order, the follow-up, one INSERT for all the marks
    assert set(DirtyDay.objects.filter(store=gz).values_list("day", flat=True)) == {
        dt.date(2026, 11, 10), dt.date(2026, 11, 12), dt.date(2026, 11, 19)}
    # the same change again, today only (an order opened today): read, nothing to mark, no INSERT
    today = f.order(gz, opened=dt.datetime.now(dt.UTC), advisor=world["adv"])
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(events.JobMoved(job_id=1, order_id=today.pk, before="authorized", to="dispatched"))
        events.publish(events.OrderMoved(order_id=today.pk, customer_id=today.customer_id, store_id=gz.pk, before="a", to="b"))
    assert len([q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]) == 1
    assert DirtyDay.objects.count() == 3
