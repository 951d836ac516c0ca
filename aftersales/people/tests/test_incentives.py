"""The quarter's service star from the cockpit's scorecards (with its reasons), the delivery rating as the
advisor's own component (kept apart from the follow-up's CSAT), referrals per person and complaint-rate flags."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from aftersales.analytics.tests import factories as f
from aftersales.common.tests.factories import make_staff
from aftersales.feedback.models import DeliveryRating, FeedbackCase
from aftersales.people.incentives import incentives_for
from aftersales.staff.roles import Role, sync_roles

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 1)  # Q4 2026


@pytest.fixture
def quarter():
    sync_roles()
    gz = f.store(name="广州店")
    sz = f.store(group=gz.group, name="深圳店")
    star = make_staff(Role.SERVICE_ADVISOR, gz, display_name="顾问甲")
    other = make_staff(Role.SERVICE_ADVISOR, gz, display_name="顾问乙")
    manager = make_staff(Role.STORE_MANAGER, gz, display_name="店长")
    manager_sz = make_staff(Role.STORE_MANAGER, sz, display_name="深圳店长")
    for n, score in enumerate((9, 9, 10)):
        o = f.order(gz, opened=f.at(f"2026-11-0{n + 2}", "09:00"), advisor=star)
        f.followup(o, answered=f.at(f"2026-11-0{n + 3}"), overall=score)
        if n < 2:  # rated at delivery: 5 and 3 stars for the advisor
            DeliveryRating.objects.create(order=o, store=gz, advisor=star, visit_score=5, advisor_score=(5, 3)[n],
                                          channel="kiosk", at=o.delivered_at)
    for n, score in enumerate((6, 7, 9)):
        o = f.order(gz, opened=f.at(f"2026-11-1{n + 2}", "09:00"), advisor=other)
        f.followup(o, answered=f.at(f"2026-11-1{n + 3}"), overall=score)
        if n == 0:
            FeedbackCase.objects.create(store=gz, kind="complaint", channel="phone", order=o, text="等太久",
                                        created_at=f.at("2026-11-20"))
    return {"gz": gz, "sz": sz, "star": star, "other": other, "manager": manager, "manager_sz": manager_sz}


def test_the_service_star_matches_the_hand_computed_scorecard(quarter):
    r = incentives_for(user=quarter["manager"], store_id=quarter["gz"].pk, day=DAY)
    assert r.star is not None and r.star.user.pk == quarter["star"].pk
    by = {c.code: c for c in r.star.components}
    # follow-ups 9, 9, 10: all three 8–10 → CSAT 100 %; the delivery rating apart: one of two ratings 4–5 stars
    assert by["csat"].actual == Decimal("100.0") and by["csat"].points == Decimal("100.0")
    assert (by["delivery_rating"].numerator, by["delivery_rating"].denominator) == (Decimal(1), Decimal(2))
    assert by["delivery_rating"].actual == Decimal("50.0")
    assert by["delivery_rating"].points == Decimal("55.6")  # 50 ÷ 90 × 100
    assert by["referrals"].points == Decimal("0.0")  # none recorded
    scored = [c for c in r.star.components if c.points is not None]
    by_hand = sum(c.points * c.weight for c in scored) / sum(c.weight for c in scored)
    assert r.star.total == by_hand.quantize(Decimal("0.1"))
    assert any("55.6" in reason for reason in r.reasons)
    # the other advisor has no delivery rating: that component is left out of their score
    other = next(c for c in r.cards if c.user.pk == quarter["other"].pk)
    assert next(c for c in other.components if c.code == "delivery_rating").points is None


def test_complaint_rate_flags_and_proposes_training(quarter):
    r = incentives_for(user=quarter["manager"], store_id=quarter["gz"].pk, day=DAY)
    assert [(fl.user.pk, fl.complaints, fl.visits) for fl in r.flags] == [(quarter["other"].pk, 1, 3)]
    assert r.flags[0].rate == Decimal("33.3") and "Complaint handling" in r.flags[0].proposal


def test_the_page_and_another_store(quarter):
    client = Client()
    client.force_login(quarter["manager"])
    page = client.get(f"/people/incentives/?store={quarter['gz'].pk}&day=2026-11-01")
    html = page.content.decode()
    assert page.status_code == 200 and "顾问甲" in html and 'data-testid="flag"' in html
    client.force_login(quarter["manager_sz"])
    assert client.get(f"/people/incentives/?store={quarter['gz'].pk}&day=2026-11-01").status_code == 404
    client.force_login(quarter["star"])
    assert client.get("/people/incentives/").status_code == 403
