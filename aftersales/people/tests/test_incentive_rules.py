"""The store's own incentive rules: the complaint-rate threshold (a flag proposes a training and assigns it; a
session on the topic fulfils it), referral reward amounts (due, recorded as paid once), within the store only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.loyalty.models import Referral
from aftersales.people import training
from aftersales.people.incentives import incentives_for
from aftersales.people.models import ReferralReward, TrainingAssignment

from .test_incentives import DAY, f, quarter  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_the_threshold_is_the_stores_own(quarter, clock):  # noqa: F811
    clock("2026-11-25 10:00")
    gz = quarter["gz"]
    api = Api.session(quarter["manager"])
    assert api.get("/api/people/settings", {"store_id": gz.pk}).json()["complaint_rate_threshold"] == "5.0"
    flags = api.get("/api/people/complaint-flags", {"store_id": gz.pk, "day": DAY.isoformat()}).json()
    assert [(x["person_id"], x["rate"]) for x in flags] == [(quarter["other"].pk, "33.3")]
    bad = api.request("put", f"/api/people/settings?store_id={gz.pk}", {"complaint_rate_threshold": "-1", "referral_reward": "x",
                                                             "gm_reception_target": "ten"})
    assert {e["field"] for e in assert_error(bad, 422)["errors"]} == {
        "complaint_rate_threshold", "referral_reward", "gm_reception_target"}
    ok = api.request("put", f"/api/people/settings?store_id={gz.pk}", {"complaint_rate_threshold": "40", "referral_reward": "150",
                                                            "gm_reception_target": "12"})
    assert ok.status_code == 200 and ok.json()["complaint_rate_threshold"] == "40.0"
    assert incentives_for(user=quarter["manager"], store_id=gz.pk, day=DAY).flags == []
    html = Client()
    html.force_login(quarter["manager"])
    assert "40.0" in html.get(f"/people/incentives/?store={gz.pk}&day={DAY}").content.decode()
    assert AuditEvent.objects.filter(action="people.settings").count() == 1
    # another store's manager: 404; an advisor: 403
    assert_error(Api.session(quarter["manager_sz"]).get("/api/people/settings", {"store_id": gz.pk}), 404)
    assert_error(Api.session(quarter["star"]).request("put", f"/api/people/settings?store_id={gz.pk}", {
        "complaint_rate_threshold": "1", "referral_reward": "1", "gm_reception_target": "1"}), 403)
    html.force_login(quarter["star"])
    assert html.get("/people/settings/").status_code == 403
    html.force_login(quarter["manager_sz"])
    assert html.get(f"/people/settings/?store={gz.pk}").status_code == 404


def test_a_flag_assigns_training_and_a_session_fulfils_it(quarter, clock):  # noqa: F811
    clock("2026-11-25 10:00")
    gz, other = quarter["gz"], quarter["other"]
    client = Client()
    client.force_login(quarter["manager"])
    url = f"/people/incentives/?store={gz.pk}&day={DAY}"
    assert client.post(url, {"do": "assign", "person": other.pk, "due_on": "2026-12-20"}).status_code == 302
    a = TrainingAssignment.objects.get()
    assert (a.person_id, a.source, str(a.period_start), str(a.due_on)) == (other.pk, "complaints", "2026-10-01", "2026-12-20")
    assert "33.3" in a.reason
    again = client.post(url, {"do": "assign", "person": other.pk})
    assert again.status_code == 409 and TrainingAssignment.objects.count() == 1
    assert 'data-testid="flag-assigned"' in client.get(url).content.decode()
    assert client.post(url, {"do": "assign", "person": quarter["star"].pk}).status_code == 404  # not flagged
    client.force_login(other)
    assert 'data-testid="my-assignment"' in client.get("/people/me/").content.decode()
    assert client.post(url, {"do": "assign", "person": other.pk}).status_code == 403
    # a session on another topic does not fulfil it; one on the topic with a failed test neither; a pass does
    training.session_record(actor=quarter["manager"], store=gz, held_on="2026-11-26", trainer="王老师",
                            topic="新能源安全", results={other: 90})
    training.session_record(actor=quarter["manager"], store=gz, held_on="2026-11-27", trainer="王老师",
                            topic=a.topic, pass_mark=60, results={other: 40})
    assert TrainingAssignment.objects.get().done_at is None
    session = training.session_record(actor=quarter["manager"], store=gz, held_on="2026-11-28", trainer="王老师",
                                      topic=a.topic.upper(), results={other: 75})
    done = TrainingAssignment.objects.get()
    assert done.done_at is not None and done.session_id == session.pk
    api = Api.session(quarter["manager"])
    assert api.get("/api/people/training-assignments", {"store_id": gz.pk}).json()[0]["done"] is True
    assert_error(Api.session(quarter["manager_sz"]).post(f"/api/people/training-assignments?store_id={quarter['sz'].pk}",
                                                         {"person_id": other.pk, "topic": "x"}), 404)


def _referral(q, n, *, status="qualified", staff=None):
    referrer, referred = f.customer(q["gz"]), f.customer(q["gz"])
    return Referral.objects.create(group=q["gz"].group, referrer=referrer, referred=referred,
                                   staff=staff or q["star"], store=q["gz"], status=status,
                                   created_at=f.at(f"2026-11-0{n}"), qualified_at=f.at(f"2026-11-0{n + 1}")
                                   if status != "pending" else None)


def test_referral_rewards_at_the_stores_amount_paid_once(quarter, clock):  # noqa: F811
    clock("2026-11-25 10:00")
    gz = quarter["gz"]
    _referral(quarter, 1)
    _referral(quarter, 2, status="rewarded")
    _referral(quarter, 3, status="pending")
    api = Api.session(quarter["manager"])
    api.request("put", f"/api/people/settings?store_id={gz.pk}", {"complaint_rate_threshold": "5", "referral_reward": "150",
                                                       "gm_reception_target": "10"})
    rows = api.get("/api/people/referral-rewards", {"store_id": gz.pk, "day": DAY.isoformat()}).json()
    assert rows == [{"staff_id": quarter["star"].pk, "staff": "顾问甲", "qualified": 2, "unpaid": 2, "due": "300.00",
                     "paid": "0.00"}]
    client = Client()
    client.force_login(quarter["manager"])
    assert 'data-testid="reward-pay"' in client.get(f"/people/incentives/?store={gz.pk}").content.decode()
    assert_error(Api.session(quarter["manager_sz"]).post(f"/api/people/referral-rewards/pay?store_id={gz.pk}",
                                                         {"staff_id": quarter["star"].pk}), 404)
    assert_error(Api.session(quarter["star"]).post("/api/people/referral-rewards/pay",
                                                   {"staff_id": quarter["star"].pk}), 403)
    paid = api.post(f"/api/people/referral-rewards/pay?store_id={gz.pk}", {"staff_id": quarter["star"].pk, "note": "11月"})
    assert paid.status_code == 201 and paid.json() == {"staff_id": quarter["star"].pk, "referrals": 2, "amount": "300.00"}
    assert_error(api.post(f"/api/people/referral-rewards/pay?store_id={gz.pk}", {"staff_id": quarter["star"].pk}),
                 409, "nothing_to_pay")
    assert ReferralReward.objects.count() == 2
    row = api.get("/api/people/referral-rewards", {"store_id": gz.pk}).json()[0]
    assert (row["unpaid"], row["due"], row["paid"]) == (0, "0.00", "300.00")
    # the amount is the one at payment: a later change does not alter what was paid
    api.request("put", f"/api/people/settings?store_id={gz.pk}", {"complaint_rate_threshold": "5", "referral_reward": "200",
                                                       "gm_reception_target": "10"})
    _referral(quarter, 4)
    client.post(f"/people/incentives/?store={gz.pk}", {"do": "pay", "person": quarter["star"].pk})
    assert sorted(r.amount for r in ReferralReward.objects.all()) == [Decimal("150.00"), Decimal("150.00"),
                                                                      Decimal("200.00")]
    client.force_login(quarter["star"])
    assert "500.00" in client.get("/people/me/").content.decode()
