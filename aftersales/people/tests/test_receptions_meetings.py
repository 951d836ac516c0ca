"""The general manager's receptions (logged from the handover sheet, counted a month against the store's target)
and the monthly customer-service meeting (agenda from the month's feedback, one list of improvement actions shared
with the feedback report), each within the store."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.feedback import services as feedback_services
from aftersales.feedback.models import DeliveryRating, FeedbackCase, ImprovementAction
from aftersales.feedback.selectors import monthly_report
from aftersales.people import services
from aftersales.people.models import GMReception
from aftersales.reception.models import Handover

from .test_incentives import f, quarter  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _handover(store, advisor, at):
    c = f.customer(store)
    return Handover.objects.create(store=store, customer=c, vehicle=f.vehicle(c), advisor=advisor, created_at=at)


def test_receptions_counted_against_the_target(quarter, clock):  # noqa: F811
    now = clock("2026-11-25 10:00")
    gz, manager = quarter["gz"], quarter["manager"]
    h1, h2 = _handover(gz, quarter["star"], now), _handover(gz, quarter["star"], now)
    h_sz = _handover(quarter["sz"], None, now)
    api = Api.session(manager)
    assert_error(api.post("/api/people/receptions", {"handover_id": h1.pk}), 422, "no_general_manager")
    services.people_settings_update(actor=manager, store=gz, complaint_rate_threshold="5", referral_reward="100",
                                    gm_reception_target="10", general_manager=manager)
    assert api.post("/api/people/receptions", {"handover_id": h1.pk, "note": "保养价格"}).status_code == 201
    assert_error(api.post("/api/people/receptions", {"handover_id": h1.pk}), 409, "already_received")
    assert_error(api.post("/api/people/receptions", {"handover_id": h_sz.pk}), 404)
    assert_error(api.post("/api/people/receptions", {"note": "x"}), 422, "required", "handover_id")
    by_order = api.post("/api/people/receptions", {"order_id": FeedbackCase.objects.get().order_id})
    assert by_order.status_code == 201 and by_order.json()["handover_id"] is None
    GMReception.objects.filter(pk=by_order.json()["id"]).delete()
    assert_error(Api.session(quarter["star"]).post("/api/people/receptions", {"handover_id": h2.pk}), 403)
    assert_error(Api.session(quarter["star"]).get("/api/people/receptions"), 403)
    # last month's reception is not this month's
    GMReception.objects.create(store=gz, received_by=manager, customer=h2.customer,
                               received_at=now - dt.timedelta(days=40))
    month = api.get("/api/people/receptions", {"store_id": gz.pk}).json()
    assert (month["month"], month["count"], month["target"], month["met"]) == ("2026-11", 1, 10, False)
    assert month["receptions"][0]["customer_id"] == h1.customer_id
    assert api.get("/api/people/receptions", {"store_id": gz.pk, "month": "2026-10"}).json()["count"] == 1
    assert_error(Api.session(quarter["manager_sz"]).get("/api/people/receptions", {"store_id": gz.pk}), 404)
    # the screens: the handover sheet's button, the month page, the manager's own page, the incentives page
    client = Client()
    client.force_login(manager)
    sheet = client.get(f"/reception/{h2.pk}/").content.decode()
    assert 'data-testid="gm-receive"' in sheet
    back = client.post("/people/receptions/", {"store": gz.pk, "handover": h2.pk, "next": f"/reception/{h2.pk}/"})
    assert back.status_code == 302 and back.url == f"/reception/{h2.pk}/"
    assert 'data-testid="gm-received"' in client.get(f"/reception/{h2.pk}/").content.decode()
    page = client.get(f"/people/receptions/?store={gz.pk}").content.decode()
    assert page.count('data-testid="reception-row"') == 2 and 'data-testid="gm-count">2<' in page
    assert 'data-testid="my-receptions"' in client.get("/people/me/").content.decode()
    assert 'data-testid="gm-count">2<' in client.get(f"/people/incentives/?store={gz.pk}").content.decode()
    client.force_login(quarter["star"])
    assert client.get(f"/people/receptions/?store={gz.pk}").status_code == 403
    assert 'data-testid="gm-receive"' not in client.get(f"/reception/{h2.pk}/").content.decode()


def test_the_monthly_meeting(quarter, clock):  # noqa: F811
    clock("2026-12-03 15:00")
    gz, manager, star, other = quarter["gz"], quarter["manager"], quarter["star"], quarter["other"]
    complaint = FeedbackCase.objects.get(kind="complaint")
    complaint.owner = star
    complaint.save(update_fields=["owner"])
    low = f.order(gz, opened=f.at("2026-11-21", "09:00"), advisor=other)
    DeliveryRating.objects.create(order=low, store=gz, advisor=other, visit_score=2, advisor_score=1, channel="phone",
                                  at=f.at("2026-11-21", "15:00"), comment="没说清楚")
    api = Api.session(manager)
    agenda = api.get(f"/api/people/meetings/2026-11?store_id={gz.pk}").json()
    assert [(i["kind"], i["open"]) for i in agenda["agenda"]] == [("complaint", True), ("rating", True)]
    assert agenda["agenda"][0]["owner_id"] == star.pk and agenda["agenda"][1]["owner_id"] == other.pk
    assert agenda["meeting_id"] is None
    bad = api.post(f"/api/people/meetings/2026-11?store_id={gz.pk}", {"held_on": "", "attendee_ids": []})
    assert {e["field"] for e in assert_error(bad, 422)["errors"]} == {"held_on", "attendees"}
    done = api.post(f"/api/people/meetings/2026-11?store_id={gz.pk}", {
        "held_on": "2026-12-03", "attendee_ids": [manager.pk, star.pk, other.pk], "minutes": "交车解释不清",
        "case_ids": [complaint.pk]})
    assert done.status_code == 201, done.content
    assert done.json()["case_ids"] == [complaint.pk] and len(done.json()["attendee_ids"]) == 3
    assert_error(api.post(f"/api/people/meetings/2026-11?store_id={gz.pk}", {
        "held_on": "2026-12-03", "attendee_ids": [manager.pk]}), 409, "meeting_exists")
    early = api.post(f"/api/people/meetings/2026-11/actions?store_id={gz.pk}", {
        "title": "交车时逐项讲解", "category": "attitude", "owner_id": other.pk, "due_on": "2026-11-01"})
    assert_error(early, 422, "due_before_meeting", "due_on")
    added = api.post(f"/api/people/meetings/2026-11/actions?store_id={gz.pk}", {
        "title": "交车时逐项讲解", "category": "attitude", "owner_id": other.pk, "due_on": "2026-12-31"})
    assert added.status_code == 201 and added.json()["done"] is False
    # one list: the meeting's action is the feedback report's, and the report's own action is the meeting's
    action = ImprovementAction.objects.get()
    report = monthly_report(user=manager, store=gz, year=2026, month=12)
    assert [a["action"].pk for a in report["actions"]] == [action.pk]
    own = feedback_services.improvement_action_create(actor=manager, store=gz, category="waiting", title="预约分流",
                                                      owner=star, start_date=dt.date(2026, 12, 2))
    ids = [a["action_id"] for a in api.get(f"/api/people/meetings/2026-11?store_id={gz.pk}").json()["actions"]]
    assert set(ids) == {action.pk, own.pk}
    marked = api.post(f"/api/people/improvement-actions/{own.pk}/status", {"done": True, "effect": "等待减少"})
    assert marked.status_code == 200 and marked.json()["done"] is True and marked.json()["effect"] == "等待减少"
    # scoping and roles
    assert_error(Api.session(quarter["manager_sz"]).get(f"/api/people/meetings/2026-11?store_id={gz.pk}"), 404)
    assert_error(Api.session(quarter["manager_sz"]).post(f"/api/people/improvement-actions/{own.pk}/status",
                                                         {"done": False}), 404)
    assert_error(Api.session(star).get("/api/people/meetings/2026-11"), 403)
    assert_error(api.get(f"/api/people/meetings/2026-13?store_id={gz.pk}"), 422, "month_format")
    client = Client()
    client.force_login(manager)
    page = client.get(f"/people/meeting/?store={gz.pk}&month=2026-11").content.decode()
    assert page.count('data-testid="agenda-item"') == 2 and 'data-testid="meeting-record"' in page
    assert page.count('data-testid="meeting-action"') == 2 and "交车解释不清" in page
    client.force_login(star)
    assert client.get(f"/people/meeting/?store={gz.pk}").status_code == 403
    client.force_login(quarter["manager_sz"])
    assert client.get(f"/people/meeting/?store={gz.pk}").status_code == 404


def test_the_meeting_recorded_on_the_screen(quarter, clock):  # noqa: F811
    clock("2026-12-03 15:00")
    gz, manager = quarter["gz"], quarter["manager"]
    client = Client()
    client.force_login(manager)
    url = f"/people/meeting/?store={gz.pk}&month=2026-11"
    bad = client.post(url, {"action": "meeting", "held_on": "2026-12-03"})
    assert bad.status_code == 422
    complaint = FeedbackCase.objects.get(kind="complaint")
    ok = client.post(url, {"action": "meeting", "held_on": "2026-12-03", "attendees": [manager.pk, quarter["star"].pk],
                           "cases": [complaint.pk], "minutes": "投诉复盘"})
    assert ok.status_code == 302
    assert client.post(url, {"action": "add_action", "title": "等待超30分钟主动告知", "category": "waiting",
                             "owner": quarter["star"].pk, "due_on": "2026-12-20"}).status_code == 302
    action = ImprovementAction.objects.get()
    assert action.meeting_action.due_on == dt.date(2026, 12, 20)
    assert client.post(url, {"action": "action_status", "improvement": action.pk, "done": "1",
                             "effect": "投诉下降"}).status_code == 302
    action.meeting_action.refresh_from_db()
    assert action.meeting_action.done_at is not None


def test_the_delivery_rating_beside_the_follow_up_scores(quarter):  # noqa: F811
    from aftersales.feedback.models import FollowUp

    rated = DeliveryRating.objects.filter(advisor_score=3).select_related("order").get()
    followup = FollowUp.objects.get(order=rated.order)
    client = Client()
    client.force_login(quarter["manager"])
    html = client.get(f"/feedback/followups/{followup.pk}/").content.decode()
    assert 'data-testid="delivery-rating-beside"' in html and "5/5" in html and "3/5" in html
    other = FollowUp.objects.exclude(order__delivery_rating__isnull=False).first()
    assert 'data-testid="delivery-rating-beside"' not in client.get(f"/feedback/followups/{other.pk}/").content.decode()
