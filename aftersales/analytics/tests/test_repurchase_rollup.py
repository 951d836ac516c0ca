"""Repurchase read from the period rows where the period is rolled up, from the raw tables otherwise: the same
numbers both ways on a hand-computed set (a visit exactly 12 months before the period, the day before that, the
last day before the period, the period's last day, a refunded visit, a customer of two stores)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.analytics import kpis, rollups, selectors
from aftersales.analytics.kpis import Scope
from aftersales.analytics.models import PeriodRollup
from aftersales.analytics.periods import Period
from aftersales.staff.roles import sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db
DEC = Period("month", dt.date(2026, 12, 1))
NOW = f.at("2027-01-10", "12:00")


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(name="广州店")
    sz = f.store(group=gz.group, name="深圳店")
    c1, c2, c3, c4, c5, c6 = (f.customer(gz) for _ in range(6))
    f.paid_visit(gz, c1, "2025-12-01")  # exactly 12 months before the period: in the base
    f.paid_visit(gz, c1, "2026-12-10")  # … and back in the period
    f.paid_visit(gz, c2, "2025-11-30")  # a day earlier: not in the base, though back in the period
    f.paid_visit(gz, c2, "2026-12-11")
    f.paid_visit(gz, c3, "2026-06-10")  # in the base, not back
    f.paid_visit(gz, c3, "2026-12-12", refunded="500")  # a refunded visit is not a visit
    f.paid_visit(gz, c4, "2026-11-30")  # the last day before the period …
    f.paid_visit(gz, c4, "2026-12-31")  # … back on its last day
    f.paid_visit(gz, c5, "2026-05-10", refunded="500")  # refunded: never in the base
    f.paid_visit(gz, c5, "2026-12-02")
    f.paid_visit(sz, c6, "2026-03-01")
    f.paid_visit(sz, c6, "2026-12-05")
    f.paid_visit(sz, c3, "2026-02-01")  # c3 at the other store too: back there neither
    return {"gz": gz, "sz": sz}


# gz: base {c1, c3, c4}, back {c1, c4}; sz: base {c6, c3}, back {c6}; the group: {c1, c3, c4, c6}, back {c1, c4, c6}
HAND = {"gz": (Decimal(2), Decimal(3)), "sz": (Decimal(1), Decimal(2)), None: (Decimal(3), Decimal(4))}


def _expect(world, figures, keys=("gz", "sz", None)):
    for key in keys:
        pk = world[key].pk if key else None
        assert figures[pk] == HAND[key], key


def test_raw_when_not_rolled_up_and_from_the_period_rows_when_rolled_up(world):
    gz, sz = world["gz"], world["sz"]
    group, one = Scope([gz, sz], DEC, NOW), Scope([gz], DEC, NOW)
    assert rollups.stored_figures("repurchase", group) is None  # nothing rolled up: the raw tables
    _expect(world, kpis.repurchase(group))
    assert kpis.repurchase(one)[None] == HAND["gz"]
    assert rollups.rollup_periods([DEC], now=NOW) == 3  # two stores and the group
    stored = rollups.stored_figures("repurchase", group)
    assert stored is not None
    _expect(world, stored)
    _expect(world, kpis.repurchase(group))
    assert rollups.stored_figures("repurchase", one)[None] == HAND["gz"] == kpis.repurchase(one)[gz.pk]
    assert kpis.repurchase(group) == {k: v for k, v in kpis.repurchase_raw(group).items() if k in (gz.pk, sz.pk, None)}
    # it is the row that is read: a changed row shows (the raw computation does not)
    row = PeriodRollup.objects.get(store=gz, kind="month", start=DEC.start)
    row.values["repurchase"] = ["7", "9"]
    row.save()
    assert kpis.repurchase(one)[gz.pk] == (Decimal(7), Decimal(9))
    assert kpis.repurchase_raw(one)[gz.pk] == HAND["gz"]
    # two stores of a group of three: the group's row counts the third store's customers too, so the raw tables
    f.store(group=gz.group, name="佛山店")
    rollups.rollup_periods([DEC], now=NOW)
    assert rollups.stored_figures("repurchase", group) is None
    _expect(world, kpis.repurchase(group))


def test_a_current_period_is_read_from_its_row_only_while_fresh(world):
    gz = world["gz"]
    now = f.at("2026-12-31", "20:00")  # the month is current
    scope = Scope([gz], DEC, now)
    rollups.rollup_periods([DEC], now=now)
    row = PeriodRollup.objects.get(store=gz, kind="month", start=DEC.start)
    row.values["repurchase"] = ["7", "9"]
    row.save()
    assert kpis.repurchase(scope)[gz.pk] == (Decimal(7), Decimal(9))
    later = Scope([gz], DEC, now + rollups.FRESH + dt.timedelta(minutes=1))
    assert kpis.repurchase(later)[gz.pk] == HAND["gz"]  # too old: the raw tables


def test_the_rows_are_written_from_the_raw_tables_and_the_review_reads_them(world):
    gz, sz = world["gz"], world["sz"]
    rollups.rollup_periods([DEC], now=NOW)
    row = PeriodRollup.objects.get(store=gz, kind="month", start=DEC.start)
    row.values["repurchase"] = ["7", "9"]
    row.save()
    # recomputing the rows reads the raw tables, never the rows themselves
    rollups.rollup_periods([DEC], now=NOW)
    assert PeriodRollup.objects.get(pk=row.pk).values["repurchase"] == ["2", "3"]
    # the dashboard without rollups reads raw; with them, the rows: the same figures
    from aftersales.common.tests.factories import make_staff
    from aftersales.staff.roles import Role

    admin = make_staff(Role.GROUP_ADMIN, gz)
    raw = selectors.dashboard(user=admin, store_id=None, kind="month", day=DEC.start, now=NOW, use_rollups=False)
    rolled = selectors.dashboard(user=admin, store_id=None, kind="month", day=DEC.start, now=NOW)
    pick = lambda d: next(r for r in d["headline"] if r["kpi"].code == "repurchase")  # noqa: E731
    assert (pick(raw)["numerator"], pick(raw)["denominator"]) == HAND[None] == (pick(rolled)["numerator"], pick(rolled)["denominator"])
    assert [s["value"] for s in pick(raw)["stores"]] == [s["value"] for s in pick(rolled)["stores"]]
    assert sz.pk in {s["store"].pk for s in pick(rolled)["stores"]}
