"""Daily KPI rollups: idempotent per store and day, the dashboard's figures identical with and without them (past
days from the rollups, today raw), fewer queries, and a reconcile that reports and repairs differences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.analytics import rollups, selectors
from aftersales.analytics.models import DailyRollup, RollupReconcile
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db
NOW = f.at("2026-12-05", "12:00")


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(name="广州店")
    sz = f.store(group=gz.group, name="深圳店")
    tech = make_staff(Role.TECHNICIAN, gz)
    for i, day in enumerate(["2026-11-03", "2026-11-10", "2026-11-17", "2026-11-28", "2026-12-01", "2026-12-05"]):
        for s in (gz, sz):
            o = f.order(s, opened=f.at(day, "09:00"), delivered=f.at(day, "16:00"))
            j = f.job(o, standard_hours="2.0")
            f.clock(j, tech, f.at(day, "09:20" if i % 2 else "09:45"), 90)
            inv = f.invoice(o, total="500")
            f.line(inv, o, j, kind="labour", amount="400", quantity="2")
            f.followup(o, answered=f.at(day, "18:00"), overall=9 if i % 3 else 6, recommend=10 if i % 2 else 5)
    return {"gz": gz, "sz": sz, "admin": make_staff(Role.GROUP_ADMIN, gz), "tech": tech}


def _figures(data):
    out = {}
    for r in data["headline"]:
        out[r["kpi"].code] = (r["value"], r["previous"], tuple(r["trend"]), tuple(c["value"] for c in r["stores"]))
    for _t, rows in data["sections"]:
        for r in rows:
            # numerators to 4 places: ex-VAT amounts divide per line, and a sum of days may differ in the 12th digit
            out[r["kpi"].code] = (r["value"], r["previous"], round(r["numerator"], 4), round(r["denominator"], 4),
                                  tuple(c["value"] for c in r["stores"]))
    return out


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def test_rollups_are_idempotent_and_never_for_today(world):
    n = rollups.rollup_days(_days(dt.date(2026, 11, 1), dt.date(2026, 12, 5)), now=NOW)
    assert n == 34 * 2  # 1 Nov – 4 Dec for both stores; today (5 Dec) is read raw
    before = dict(DailyRollup.objects.values_list("pk", "values"))
    assert rollups.rollup_days(_days(dt.date(2026, 11, 1), dt.date(2026, 12, 4)), now=NOW) == 68
    assert dict(DailyRollup.objects.values_list("pk", "values")) == before
    row = DailyRollup.objects.get(store=world["gz"], day=dt.date(2026, 11, 3))
    assert row.values["csat"] == ["0", "1"] and row.values["waiting"][1] == "1"


def test_dashboard_reads_the_same_figures_from_rollups_with_fewer_queries(world):
    rollups.rollup_days(_days(dt.date(2026, 6, 1), dt.date(2026, 12, 4)), now=NOW)
    for store_id in (None, world["gz"].pk):
        for kind in ("month", "week", "day", "quarter"):
            with CaptureQueriesContext(connection) as raw_q:
                raw = selectors.dashboard(user=world["admin"], store_id=store_id, kind=kind, now=NOW, use_rollups=False)
            with CaptureQueriesContext(connection) as rolled_q:
                rolled = selectors.dashboard(user=world["admin"], store_id=store_id, kind=kind, now=NOW)
            assert _figures(rolled) == _figures(raw), (store_id, kind)
            if kind == "month":
                assert len(rolled_q.captured_queries) <= len(raw_q.captured_queries) - 25  # 124 → 95 here
                assert len(rolled_q.captured_queries) <= 100  # the budget: rollups for past days, today and the rest raw
    # a past month read entirely from rollups equals the raw figures too
    raw = selectors.dashboard(user=world["admin"], store_id=None, kind="month", day=dt.date(2026, 11, 15), now=NOW, use_rollups=False)
    rolled = selectors.dashboard(user=world["admin"], store_id=None, kind="month", day=dt.date(2026, 11, 15), now=NOW)
    assert _figures(rolled) == _figures(raw)


def test_a_missing_rollup_falls_back_to_the_raw_tables(world):
    rollups.rollup_days(_days(dt.date(2026, 11, 1), dt.date(2026, 12, 4)), now=NOW)
    DailyRollup.objects.filter(store=world["sz"], day=dt.date(2026, 11, 10)).delete()
    raw = selectors.dashboard(user=world["admin"], store_id=None, kind="month", day=dt.date(2026, 11, 15), now=NOW, use_rollups=False)
    rolled = selectors.dashboard(user=world["admin"], store_id=None, kind="month", day=dt.date(2026, 11, 15), now=NOW)
    assert _figures(rolled) == _figures(raw)


def test_reconcile_reports_and_repairs_a_difference(world):
    rollups.rollup_days(_days(dt.date(2026, 11, 1), dt.date(2026, 12, 4)), now=NOW)
    # a follow-up answered later about a past day's order, with the rollup not yet refreshed
    o = f.order(world["gz"], opened=f.at("2026-11-20", "09:00"), delivered=f.at("2026-11-20", "15:00"))
    f.followup(o, answered=f.at("2026-11-21", "10:00"), overall=10, recommend=10)
    run = rollups.reconcile(now=NOW, days=35)
    assert run.first_day == dt.date(2026, 10, 31) and run.last_day == dt.date(2026, 12, 4)
    assert run.missing == 2  # 31 October was never rolled up, for either store
    diffs = {(d["store"], d["day"], d["code"]) for d in run.differences}
    assert (world["gz"].pk, "2026-11-21", "csat") in diffs and (world["gz"].pk, "2026-11-21", "nps") in diffs
    # the order's day (delivered: complaint-rate base), the answer's day, the day its follow-up fell overdue (72 h)
    assert {(d["store"], d["day"]) for d in run.differences} == {
        (world["gz"].pk, "2026-11-20"), (world["gz"].pk, "2026-11-21"), (world["gz"].pk, "2026-11-23")}
    again = rollups.reconcile(now=NOW, days=35)
    assert again.differences == [] and again.missing == 0
    assert RollupReconcile.objects.count() == 2


def test_the_recent_task_and_the_command(world, clock):
    clock("2026-12-05 12:00")
    from aftersales.analytics import tasks

    assert tasks.rollup_recent() == 7 * 2
    assert set(DailyRollup.objects.values_list("day", flat=True)) == set(_days(dt.date(2026, 11, 28), dt.date(2026, 12, 4)))
    call_command("rollups", "--days", "10")
    assert DailyRollup.objects.count() == 10 * 2
    assert tasks.reconcile() == 0


def test_the_tasks_are_scheduled():
    from aftersales.analytics import tasks
    from aftersales.celery import app

    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    names = {tasks.rollup_recent.name, tasks.reconcile.name, tasks.mail_reviews.name}
    assert names == {"aftersales.analytics.rollup_recent", "aftersales.analytics.reconcile", "aftersales.analytics.mail_reviews"}
    assert names <= scheduled
