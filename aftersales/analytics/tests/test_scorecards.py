"""Staff scorecards on a hand-computed quarter: attribution (advisor of the order; technicians by clocked time),
weights, targets, the service star, and who may see which scorecard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.analytics import scorecards, selectors
from aftersales.analytics.kpis import Scope
from aftersales.analytics.periods import Period
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role

from . import factories as f

pytestmark = pytest.mark.django_db
Q4 = Period.containing("quarter", dt.date(2026, 11, 1))
NOW = f.at("2027-01-05")


@pytest.fixture
def world(staff_stores):
    gz, adv, t1, t2 = (staff_stores[k] for k in ("gz", "adv", "t1", "t2"))
    o1 = f.order(gz, opened=f.at("2026-11-02", "09:00"), advisor=adv)
    j1 = f.job(o1)
    f.clock(j1, t1, f.at("2026-11-02", "09:20"), 60)
    f.clock(j1, t2, f.at("2026-11-02", "10:30"), 30)
    f.followup(o1, answered=f.at("2026-11-03"), overall=9)
    o2 = f.order(gz, opened=f.at("2026-11-05", "09:00"), advisor=adv)
    f.clock(f.job(o2), t1, f.at("2026-11-05", "09:50"), 60)
    f.followup(o2, answered=f.at("2026-11-06"), overall=6)
    o3 = f.order(gz, opened=f.at("2026-12-01", "09:00"), advisor=adv)
    f.followup(o3, answered=f.at("2026-12-02"), overall=10)
    return staff_stores


def _cards(world):
    scope = Scope([world["gz"]], Q4, NOW, {})
    return {c.user.pk: c for c in scorecards.scorecards(scope)}


def test_csat_attribution_advisor_by_order_technicians_by_clocked_time(world):
    cards = _cards(world)
    adv = {c.code: c for c in cards[world["adv"].pk].components}
    assert adv["csat"].actual == Decimal("66.7")  # 9, 6, 10: two of three 8–10
    t1 = {c.code: c for c in cards[world["t1"].pk].components}
    # technician one: 2/3 of order one (satisfied) and all of order two (not): (2/3) / (2/3 + 1) = 40 %
    assert t1["csat"].actual == Decimal("40.0")
    t2 = {c.code: c for c in cards[world["t2"].pk].components}
    assert t2["csat"].actual == Decimal("100.0") and t2["csat"].denominator == Decimal(1) / 3
    assert world["other"].pk not in cards  # another store's advisor


def test_points_weights_and_missing_components(world):
    card = _cards(world)[world["adv"].pk]
    by = {c.code: c for c in card.components}
    assert by["csat"].points == Decimal("74.1")  # 66.7 of the 90 target
    assert by["efficiency"].actual == Decimal("50.0")  # order one in work after 20 min, order two after 50 min
    assert by["referrals"].points == Decimal("0.0") and by["referrals"].target == Decimal("6.0")  # 2 a month over 92 days
    assert by["repurchase"].actual is None and by["complaints"].actual is None  # left out: the weights scale up
    expected = (Decimal("74.1") * Decimal("0.30") + Decimal("0") * Decimal("0.15") + Decimal("50.0") * Decimal("0.15")) / Decimal("0.60")
    assert card.total == expected.quantize(Decimal("0.1"))


def test_service_star_needs_three_followups(world):
    cards = list(_cards(world).values())
    star = scorecards.service_star(cards)
    assert star is not None and star.user == world["adv"]  # the only one with three follow-ups


def test_who_sees_which_scorecard(client, world):
    manager = make_staff(Role.STORE_MANAGER, world["gz"])
    client.force_login(manager)
    r = client.get("/cockpit/scorecards/?period=quarter&date=2026-11-01")
    assert r.status_code == 200 and "顾问甲" in r.content.decode() and "深圳顾问" not in r.content.decode()
    assert client.get(f"/cockpit/scorecards/?store={world['sz'].pk}").status_code == 404
    client.force_login(world["adv"])
    assert client.get("/cockpit/scorecards/").status_code == 403
    r = client.get("/me/scorecard/?period=quarter&date=2026-11-01")
    assert r.status_code == 200 and r.context["r"]["card"].user == world["adv"]
    assert r.context["r"]["card"].components[0].actual == Decimal("66.7")
    d = selectors.my_scorecard(user=world["t2"], kind="quarter", day=dt.date(2026, 11, 1), now=NOW)
    assert d["card"].user == world["t2"] and d["card"].role == "technician"
