"""Daily KPI rollups: idempotent per store and day, the dashboard's figures identical with and without them (past
days from the rollups, today raw), fewer queries, and a reconcile that reports and repairs differences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.analytics import kpis, rollups, selectors
from aftersales.analytics.models import DailyRollup, PeriodRollup, RollupReconcile
from aftersales.analytics.periods import Period
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
    # customers who come back (repurchase, churn over distinct customers: one of them visits both stores), a refund
    for i in range(4):
        c = f.customer(gz)
        f.paid_visit(gz, c, "2026-01-15")
        f.paid_visit(gz, c, f"2026-0{5 + i}-10", refunded="500" if i == 3 else "0")
        if i % 2:
            f.paid_visit(gz, c, "2026-11-20")
        if i == 1:
            f.paid_visit(sz, c, "2026-12-02")
    # the stock now (stock over 180 days, parts turnover's denominator), imported gross profit, a store's labour rate
    from decimal import Decimal

    from aftersales.analytics.models import GrossProfitMonth, KpiSettings
    from aftersales.parts.models import Part, StockItem

    part = Part.objects.create(group=gz.group, number="P-1", name_zh="机油")
    StockItem.objects.create(store=gz, part=part, on_hand=Decimal("10"), avg_cost=Decimal("30"), last_movement_at=NOW - dt.timedelta(days=200))
    StockItem.objects.create(store=sz, part=part, on_hand=Decimal("4"), avg_cost=Decimal("30"), last_movement_at=NOW - dt.timedelta(days=3))
    for month in (dt.date(2026, 11, 1), dt.date(2026, 12, 1)):
        GrossProfitMonth.objects.create(store=gz, month=month, new_car=Decimal("900"), other=Decimal("100"), imported_at=NOW)
    KpiSettings.objects.create(store=gz, labour_cost_per_hour=Decimal("95.50"), waiting_baseline=Decimal("40"))
    # the other store's baseline: its first full quarter (its first order in June, so July–September)
    o = f.order(sz, opened=f.at("2026-06-20", "09:00"), delivered=f.at("2026-06-20", "15:00"))
    for day, minutes in (("2026-07-10", 50), ("2026-08-10", 70)):
        o = f.order(sz, opened=f.at(day, "09:00"), delivered=f.at(day, "15:00"))
        f.clock(f.job(o), tech, f.at(day, "09:00") + dt.timedelta(minutes=minutes), 60)
    return {"gz": gz, "sz": sz, "admin": make_staff(Role.GROUP_ADMIN, gz), "tech": tech}


def _figures(data):
    """Every figure the dashboard shows: each KPI's value, previous value, numerator and denominator, trend and each
    store's values; the gross profit table and the waiting-time baseline and change."""
    out = {}
    for r in data["headline"] + [r for _t, rows in data["sections"] for r in rows]:
        # numerators to 4 places: ex-VAT amounts divide per line, and a sum of days may differ in the 12th digit
        out[r["kpi"].code] = (r["value"], r["previous"], round(r["numerator"], 4), round(r["denominator"], 4), tuple(r["trend"]),
                              tuple((c["value"], c["previous"], c["rag"]) for c in r["stores"]), r["rag"],
                              r.get("baseline"), r.get("change"))
    out["profit"] = {k: round(v, 4) for k, v in (data["profit"] or {}).items()}
    out["imported"] = round(data["imported"], 4) if data["imported"] is not None else None
    assert len(out) == len(kpis.KPIS) + 2
    return out


def _rollup_all(now=NOW, first=dt.date(2026, 5, 1)):
    """Daily rows since ``first``; period rows of every week, month, quarter and year since then, days of the last 10."""
    days = _days(first, now.date())
    rollups.rollup_days(days, now=now)
    periods = rollups.periods_of(days, ("week", "month", "quarter", "year")) + rollups.periods_of(days[-10:], ("day",))
    return rollups.rollup_periods(periods, now=now)


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


def test_dashboard_reads_every_figure_from_rollups_the_same_as_the_raw_tables(world):
    _rollup_all()
    gz = world["gz"].pk
    cases = [(store_id, kind, None) for store_id in (None, gz) for kind in ("day", "week", "month", "quarter", "year")]
    cases += [(None, "month", dt.date(2026, 11, 15)), (gz, "week", dt.date(2026, 11, 15)), (None, "day", dt.date(2026, 11, 28))]
    for store_id, kind, day in cases:
        raw = selectors.dashboard(user=world["admin"], store_id=store_id, kind=kind, day=day, now=NOW, use_rollups=False)
        rolled = selectors.dashboard(user=world["admin"], store_id=store_id, kind=kind, day=day, now=NOW)
        assert _figures(rolled) == _figures(raw), (store_id, kind, day)
        if kind != "year":  # six years back: the years before the rollups began are read raw
            assert rolled["as_of"] == NOW
    # the figures are not all empty: the test would pass on nothing otherwise
    data = _figures(selectors.dashboard(user=world["admin"], store_id=None, kind="quarter", now=NOW))
    for code in ("csat", "nps", "repurchase", "churn", "waiting", "profit_share", "stale_stock", "parts_turnover", "labour_rate"):
        assert data[code][3], code  # a denominator
    assert data["repurchase"][2] and data["churn"][2] and data["waiting"][7] is not None and data["imported"]


def test_the_dashboard_reads_rollups_in_a_constant_small_number_of_queries(world):
    _rollup_all()
    # every period a dashboard of any kind shows: six trend periods (back to 2021 for years)
    rollups.rollup_periods([Period.containing(k, NOW.date()).shift(-i) for k in rollups.PERIOD_KINDS for i in range(7)], now=NOW)
    selectors.dashboard(user=world["admin"], store_id=None, now=NOW)  # the user's permissions and stores, cached on them
    counts = {}
    for store_id in (None, world["gz"].pk):
        for kind in ("day", "week", "month", "quarter", "year"):
            with CaptureQueriesContext(connection) as ctx:
                selectors.dashboard(user=world["admin"], store_id=store_id, kind=kind, now=NOW)
            counts[(store_id, kind)] = len(ctx.captured_queries)
    # the stores, the targets, the period rows, the imported gross profit and the stock: 5, any kind, store or group
    assert max(counts.values()) <= 5, counts
    # another store in the group changes nothing
    f.store(group=world["gz"].group, name="佛山店")
    PeriodRollup.objects.all().delete()
    days = _days(dt.date(2026, 5, 1), NOW.date())
    rollups.rollup_days(days, now=NOW)
    rollups.rollup_periods(rollups.periods_of(days, ("month",)), now=NOW)
    from django.core.cache import cache

    from aftersales.staff.models import User

    cache.clear()  # the admin's visible stores, as on their next request
    admin = User.objects.get(pk=world["admin"].pk)
    selectors.dashboard(user=admin, store_id=None, now=NOW)  # the user's permissions and stores, cached on them
    with CaptureQueriesContext(connection) as ctx:
        data = selectors.dashboard(user=admin, store_id=None, kind="month", now=NOW)
    assert len(data["headline"][0]["stores"]) == 3 and data["as_of"] == NOW
    assert len(ctx.captured_queries) == counts[(None, "month")]


def test_a_stale_or_missing_period_row_is_read_from_the_raw_tables(world):
    _rollup_all()
    later = NOW + rollups.FRESH + dt.timedelta(minutes=1)
    with CaptureQueriesContext(connection) as ctx:
        stale = selectors.dashboard(user=world["admin"], store_id=None, kind="month", now=later)
    assert len(ctx.captured_queries) > 20 and stale["as_of"] is None  # the current month read raw, not 15 minutes old figures
    assert _figures(stale) == _figures(selectors.dashboard(user=world["admin"], store_id=None, kind="month", now=later, use_rollups=False))
    # a past month whose group row is missing
    PeriodRollup.objects.filter(store__isnull=True, kind="month", start=dt.date(2026, 10, 1)).delete()
    raw = selectors.dashboard(user=world["admin"], store_id=None, kind="month", day=dt.date(2026, 11, 15), now=NOW, use_rollups=False)
    assert _figures(selectors.dashboard(user=world["admin"], store_id=None, kind="month", day=dt.date(2026, 11, 15), now=NOW)) == _figures(raw)
    # a group row computed over other stores than the scope's (a store opened since) is not used
    f.store(group=world["gz"].group, name="佛山店")
    from django.core.cache import cache

    from aftersales.staff.models import User

    cache.clear()  # the admin's visible stores, as on their next request
    admin = User.objects.get(pk=world["admin"].pk)
    data = selectors.dashboard(user=admin, store_id=None, kind="month", day=dt.date(2026, 11, 15), now=NOW)
    assert data["as_of"] is None and len(data["headline"][0]["stores"]) == 3


def test_the_current_task_refreshes_the_current_periods(world, clock):
    clock("2026-12-05 12:00")
    from django.utils import timezone

    from aftersales.analytics import tasks

    assert tasks.rollup_current() == 5 * 3  # day, week, month, quarter, year × (2 stores + the group)
    now = timezone.now()
    assert set(PeriodRollup.objects.values_list("kind", "start")) == {
        ("day", dt.date(2026, 12, 5)), ("week", dt.date(2026, 11, 30)), ("month", dt.date(2026, 12, 1)),
        ("quarter", dt.date(2026, 10, 1)), ("year", dt.date(2026, 1, 1))}
    group = PeriodRollup.objects.get(store__isnull=True, kind="year")
    assert group.values["stores"] == sorted([world["gz"].pk, world["sz"].pk])
    # the year's repurchase counts the customer who came to both stores once in the group row
    scope = kpis.Scope([world["gz"], world["sz"]], selectors.Period("year", dt.date(2026, 1, 1)), now)
    assert group.values["repurchase"] == [str(x) for x in kpis.repurchase(scope)[None]]


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
    assert run.facts_missing == 70  # no staff facts were built: counted apart, never as differences
    diffs = {(d["store"], d["day"], d["code"]) for d in run.differences}
    assert (world["gz"].pk, "2026-11-21", "csat") in diffs and (world["gz"].pk, "2026-11-21", "nps") in diffs
    # the order's day (delivered: complaint-rate base), the answer's day, the day its follow-up fell overdue (72 h)
    assert {(d["store"], d["day"]) for d in run.differences} == {
        (world["gz"].pk, "2026-11-20"), (world["gz"].pk, "2026-11-21"), (world["gz"].pk, "2026-11-23")}
    again = rollups.reconcile(now=NOW, days=35)
    assert again.differences == [] and again.missing == 0 and again.facts_missing == 0
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


def test_a_dirty_day_refreshes_the_periods_containing_it_each_once(world, monkeypatch):
    from decimal import Decimal

    from aftersales.analytics import facts

    _rollup_all()
    gz, sz = world["gz"], world["sz"]
    # late answers about past days (Tuesday 10 and Wednesday 11 November, one week), not yet in any rollup
    for store, day in ((gz, "2026-11-10"), (sz, "2026-11-11"), (gz, "2026-11-11")):
        f.followup(f.order(store, opened=f.at(day, "09:00")), answered=f.at(day, "19:00"), overall=2, recommend=0)
    month = PeriodRollup.objects.get(store=gz, kind="month", start=dt.date(2026, 11, 1))
    was = month.values["csat"]
    facts._mark_moments([(gz.pk, gz.time_zone, dt.date(2026, 11, 10)), (gz.pk, gz.time_zone, dt.date(2026, 11, 11)),
                         (sz.pk, sz.time_zone, dt.date(2026, 11, 11))], now=NOW)
    computed: list = []
    real = rollups.compute_periods

    def spy(stores, periods, now):
        computed.extend(periods)
        return real(stores, periods, now)

    monkeypatch.setattr(rollups, "compute_periods", spy)
    facts.refresh_dirty(now=NOW)
    # each period containing a marked day once, though three store-days were marked
    assert sorted(computed, key=lambda p: (p.kind, p.start)) == [
        Period("day", dt.date(2026, 11, 10)), Period("day", dt.date(2026, 11, 11)), Period("month", dt.date(2026, 11, 1)),
        Period("quarter", dt.date(2026, 10, 1)), Period("week", dt.date(2026, 11, 9)), Period("year", dt.date(2026, 1, 1))]
    # every row of those periods (both stores and the group) equals the raw tables now
    for period in computed:
        raw = {k: kpis.csat(kpis.Scope([gz, sz], period, NOW))[k] for k in (gz.pk, sz.pk, None)}
        rows = {r.store_id: r.values for r in PeriodRollup.objects.filter(kind=period.kind, start=period.start)}
        assert set(rows) == {gz.pk, sz.pk, None}
        for key, (n, d) in raw.items():
            assert [Decimal(x) for x in rows[key]["csat"]] == [n, d], (period, key)
    month.refresh_from_db()
    assert [Decimal(x) for x in month.values["csat"]] == [Decimal(was[0]), Decimal(was[1]) + 2]  # two more answers, neither 8–10
    assert not facts.refresh_dirty(now=NOW)  # nothing marked: nothing recomputed
    assert len(computed) == 6
