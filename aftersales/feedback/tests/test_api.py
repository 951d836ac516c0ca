"""/api/feedback: 401 for every endpoint, other store → 404, wrong role → 403, bad input → 4xx naming the field with
nothing written, CSAT/NPS figures."""

from __future__ import annotations

import pytest

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill, ids, token_key_for
from aftersales.feedback import services
from aftersales.feedback.models import FeedbackCase, FollowUp

from .conftest import answer_all, deliver

pytestmark = pytest.mark.django_db


def _case(loop, store=None):
    store = store or loop.store
    actor = loop.world.advisor if store == loop.store else loop.world.advisor_b
    return services.case_create(actor=actor, store=store, kind="complaint", channel="phone", text="刹车还是有异响")


def test_unauthenticated_is_401():
    api = Api.anonymous()
    for method, path in ENDPOINTS["feedback"]:
        response = api.request(method, fill(path))
        assert_error(response, 401, "unauthenticated")


def test_bearer_token_lists_only_own_stores_cases(loop):
    mine = _case(loop)
    theirs = _case(loop, store=loop.world.b)
    key = token_key_for(loop.world.advisor, actor=loop.world.manager)
    api = Api.bearer(key)
    assert ids(api.get("/api/feedback/cases")) == {mine.pk}
    assert_error(api.get(f"/api/feedback/cases/{theirs.pk}"), 404)
    assert_error(api.post(f"/api/feedback/cases/{theirs.pk}/transition", {"to": "acknowledged"}), 404)
    assert FeedbackCase.objects.get(pk=theirs.pk).status == "new"


def test_create_and_move_a_case(loop):
    api = Api.session(loop.world.advisor)
    response = api.post("/api/feedback/cases", {"kind": "complaint", "channel": "phone", "text": "The bill was much higher than the estimate",
                                                "customer_id": loop.customer.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["category"] == "price" and {t["kind"] for t in body["timers"]} == {"acknowledge", "contact", "resolve"}
    response = api.post(f"/api/feedback/cases/{body['id']}/transition", {"to": "acknowledged"})
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
    assert_error(api.post(f"/api/feedback/cases/{body['id']}/transition", {"to": "closed"}), 409, "illegal_transition")
    assert_error(api.post(f"/api/feedback/cases/{body['id']}/label", {"category": "nope"}), 422, "invalid_choice", "category")
    response = api.post(f"/api/feedback/cases/{body['id']}/contact", {"note": "已致电"})
    assert response.status_code == 200 and any(e["kind"] == "contact" for e in response.json()["events"])


def test_bad_input_names_the_field_and_writes_nothing(loop):
    api = Api.session(loop.world.advisor)
    assert_error(api.post("/api/feedback/cases", {"kind": "complaint", "channel": "phone", "text": "  "}), 422, "text_required", "text")
    assert_error(api.post("/api/feedback/cases", {"kind": "praise", "channel": "phone", "text": "x"}), 422, "invalid_choice", "kind")
    assert_error(api.post("/api/feedback/cases", {"kind": "complaint", "channel": "phone", "text": "x", "store_id": loop.world.b.pk}), 404)
    assert not FeedbackCase.objects.exists()


def test_roles_on_the_api(loop):
    case = _case(loop)
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    tech = Api.session(loop.world.technician)
    assert_error(tech.get("/api/feedback/cases"), 403)
    assert_error(tech.get("/api/feedback/followups"), 403)
    assert_error(tech.post("/api/feedback/cases", {"kind": "complaint", "channel": "phone", "text": "x"}), 403)
    advisor = Api.session(loop.world.advisor)
    assert_error(advisor.post(f"/api/feedback/followups/{followup.pk}/answer", answer_all(9)), 403)
    agent = Api.session(loop.agent)
    assert_error(agent.post(f"/api/feedback/cases/{case.pk}/transition", {"to": "acknowledged"}), 403)
    assert FollowUp.objects.get(pk=followup.pk).status == "open"


def test_followup_answer_and_attempt_via_api(loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.caller_car))
    agent = Api.session(loop.agent)
    assert followup.pk in ids(agent.get("/api/feedback/followups"))
    response = agent.post(f"/api/feedback/followups/{followup.pk}/attempt", {"note": "无人接听"})
    assert response.status_code == 200 and response.json()["attempts"] == 1
    assert_error(agent.post(f"/api/feedback/followups/{followup.pk}/answer", answer_all(9, quality=11)), 422, "score_invalid", "quality")
    response = agent.post(f"/api/feedback/followups/{followup.pk}/answer", answer_all(10))
    assert response.status_code == 200 and response.json()["status"] == "answered"
    assert_error(agent.post(f"/api/feedback/followups/{followup.pk}/answer", answer_all(10)), 409, "already_answered")
    other = Api.session(loop.world.manager_b)
    assert_error(other.post(f"/api/feedback/followups/{followup.pk}/answer", answer_all(10)), 404)


def test_satisfaction_csat_and_nps(loop):
    for scores in (answer_all(10), answer_all(9, recommend=9), answer_all(7, recommend=3), answer_all(8, recommend=8)):
        followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
        services.followup_answer(followup=followup, scores=scores)
    body = Api.session(loop.world.manager).get("/api/feedback/satisfaction").json()
    assert body["answered"] == 4 and body["scores"] == 16
    assert body["csat"] == 75.0  # 12 of 16 scores are 8–10
    assert body["nps"] == 25.0  # promoters 2, detractors 1, of 4
    assert_error(Api.session(loop.world.manager).get("/api/feedback/satisfaction", {"store_id": loop.world.b.pk}), 404)
