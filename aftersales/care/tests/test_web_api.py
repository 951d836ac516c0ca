"""Care calendar and playbook screens, and the /api/care endpoints: scoping, roles, bad input, actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils.html import escape

from aftersales.care.choices import ReminderStatus
from aftersales.care.models import Playbook, PlaybookStep, Reminder
from aftersales.care.services import create_default_playbooks
from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill, ids
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory


@pytest.fixture
def rows(world):
    from django.utils import timezone

    today = timezone.localdate()
    a_car = VehicleFactory(owner=CustomerFactory(home_store=world.a, name="甲客户"), plate="粤B11111")
    b_car = VehicleFactory(owner=CustomerFactory(home_store=world.b, name="乙客户"), plate="粤B22222")
    ra = Reminder.objects.create(store=world.a, customer=a_car.owner, vehicle=a_car, kind="insurance", due_date=today,
                                 lead_days=7, remind_on=today)
    rb = Reminder.objects.create(store=world.b, customer=b_car.owner, vehicle=b_car, kind="insurance", due_date=today,
                                 lead_days=7, remind_on=today)
    return ra, rb


# ---- views -------------------------------------------------------------------------------------------------------------
def test_views_need_login(client, world):
    for url in ("/care/", "/care/playbooks/", "/care/playbooks/new/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_calendar_scoped_and_by_role(client, world, rows):
    _ra, rb = rows
    client.force_login(world.technician)
    assert client.get("/care/").status_code == 403
    client.force_login(world.advisor)
    page = client.get("/care/").content.decode()
    assert "甲客户" in page and "乙客户" not in page
    assert client.get(f"/care/?store={world.b.pk}").status_code == 404
    assert client.post(f"/care/reminders/{rb.pk}/action/", {"action": "called"}).status_code == 404
    rb.refresh_from_db()
    assert rb.status == ReminderStatus.DUE


def test_overdue_reminders_are_listed_with_actions(client, world, rows):
    from django.utils import timezone

    today = timezone.localdate()
    car = VehicleFactory(owner=CustomerFactory(home_store=world.a, name="逾期客户"), plate="粤B33333")
    late = Reminder.objects.create(store=world.a, customer=car.owner, vehicle=car, kind="maintenance",
                                   due_date=today - dt.timedelta(days=5), lead_days=7, remind_on=today - dt.timedelta(days=12),
                                   status=ReminderStatus.SENT)
    closed = VehicleFactory(owner=CustomerFactory(home_store=world.a, name="已预约客户"), plate="粤B44444")
    Reminder.objects.create(store=world.a, customer=closed.owner, vehicle=closed, kind="maintenance",
                            due_date=today - dt.timedelta(days=5), lead_days=7, remind_on=today - dt.timedelta(days=12),
                            status=ReminderStatus.BOOKED)
    other = VehicleFactory(owner=CustomerFactory(home_store=world.b, name="他店逾期"), plate="粤B55555")
    Reminder.objects.create(store=world.b, customer=other.owner, vehicle=other, kind="maintenance",
                            due_date=today - dt.timedelta(days=5), lead_days=7, remind_on=today - dt.timedelta(days=12))
    client.force_login(world.staff["call_centre_agent"])
    page = client.get(f"/care/?date={today.isoformat()}").content.decode()
    overdue = page.split('data-testid="overdue"')[1].split("</table>")[0]
    assert "逾期客户" in overdue and f'data-id="{late.pk}"' in overdue and 'data-testid="act-booked"' in overdue
    assert "已预约客户" not in overdue and "他店逾期" not in page
    client.post(f"/care/reminders/{late.pk}/action/", {"action": "booked"})
    page = client.get(f"/care/?date={today.isoformat()}").content.decode()
    assert "逾期客户" not in page.split('data-testid="overdue"')[1].split("</table>")[0]


def test_record_action_from_the_calendar(client, world, rows):
    ra, _rb = rows
    client.force_login(world.staff["call_centre_agent"])
    response = client.post(f"/care/reminders/{ra.pk}/action/", {"action": "called", "next": "/care/"})
    assert response.status_code == 302
    ra.refresh_from_db()
    assert ra.status == ReminderStatus.CALLED and ra.action_by == world.staff["call_centre_agent"]
    client.post(f"/care/reminders/{ra.pk}/action/", {"action": "nonsense"})
    ra.refresh_from_db()
    assert ra.status == ReminderStatus.CALLED and ra.events.count() == 1
    client.post(f"/care/reminders/{ra.pk}/action/", {"action": "booked"})
    ra.refresh_from_db()
    assert ra.status == ReminderStatus.BOOKED
    page = client.get("/care/").content.decode()
    assert "data-testid=\"act-booked\"" not in page  # a booked reminder has no buttons left


def test_playbook_screens(client, world):
    create_default_playbooks(world.a)
    create_default_playbooks(world.b)
    d = Playbook.objects.get(store=world.a, code="tier-d")
    other = Playbook.objects.get(store=world.b, code="tier-d")
    client.force_login(world.advisor)
    assert client.get("/care/playbooks/").status_code == 403
    client.force_login(world.manager)
    page = client.get("/care/playbooks/").content.decode()
    assert escape(str(d.name)) in page
    assert client.get(f"/care/playbooks/{other.pk}/").status_code == 404
    assert client.post(f"/care/playbooks/{other.pk}/deactivate/").status_code == 404
    detail = client.get(f"/care/playbooks/{d.pk}/")
    assert detail.status_code == 200
    steps = detail.content.decode().split('data-testid="steps"')[1].split("</ol>")[0]
    assert "Come-back notice" in steps and "care.recall" not in steps  # the message by its name, never its code
    assert 'data-testid="uplift"' in detail.content.decode()
    # bad step: inline error on the field, nothing written
    response = client.post(f"/care/playbooks/{d.pk}/steps/", {"kind": "wait", "wait_days": "0"})
    assert response.status_code == 422 and "errorlist" in response.content.decode()
    assert d.steps.count() == 5
    client.post(f"/care/playbooks/{d.pk}/steps/", {"kind": "call", "call_target": "call_centre", "text": "再次致电"})
    assert d.steps.count() == 6 and PlaybookStep.objects.filter(playbook=d, seq=6, kind="call").exists()
    client.post(f"/care/playbooks/{d.pk}/deactivate/")
    d.refresh_from_db()
    assert not d.is_active
    response = client.post("/care/playbooks/new/?campaign=1", {
        "name": "冬季电瓶", "trigger": "scheduled", "starts_at": "2026-12-20T09:00", "holdout_percent": "10",
        "measure_days": "90", "campaign": "1", "store": world.a.pk})
    campaign = Playbook.objects.get(store=world.a, is_campaign=True)
    assert response.status_code == 302 and campaign.starts_at == dt.datetime(2026, 12, 20, 1, 0, tzinfo=dt.UTC)


# ---- API ---------------------------------------------------------------------------------------------------------------
def test_api_unauthenticated_is_401(world):
    api = Api.anonymous()
    for method, path in ENDPOINTS["care"]:
        assert_error(api.request(method, fill(path)), 401, "unauthenticated")


def test_api_reminders_scoped_and_actions(world, rows):
    ra, rb = rows
    advisor = Api.session(world.advisor)
    assert ids(advisor.get("/api/care/reminders")) == {ra.pk}
    assert_error(advisor.get("/api/care/reminders", {"store_id": world.b.pk}), 404)
    assert_error(advisor.post(f"/api/care/reminders/{rb.pk}/action", {"action": "called"}), 404)
    assert_error(advisor.post(f"/api/care/reminders/{ra.pk}/action", {"action": "lost"}), 422, "invalid_choice", "action")
    ra.refresh_from_db()
    assert ra.status == ReminderStatus.DUE
    body = advisor.post(f"/api/care/reminders/{ra.pk}/action", {"action": "dismissed", "note": "车已卖"}).json()
    assert body["status"] == "dismissed"
    assert_error(advisor.post(f"/api/care/reminders/{ra.pk}/action", {"action": "booked"}), 409, "illegal_transition")
    assert_error(Api.session(world.technician).get("/api/care/reminders"), 403)
    assert advisor.get("/api/care/coverage").json()["due"] == 0
    assert_error(advisor.get("/api/care/coverage", {"store_id": world.b.pk}), 404)
    assert_error(advisor.get("/api/care/reminders", {"start": "2026-05-01", "end": "2026-04-01"}), 422, field="end")


def test_api_playbooks(world):
    create_default_playbooks(world.a)
    create_default_playbooks(world.b)
    a = Playbook.objects.get(store=world.a, code="tier-a")
    other = Playbook.objects.get(store=world.b, code="tier-d")
    manager = Api.session(world.manager)
    assert {p["code"] for p in manager.get("/api/care/playbooks").json()} == {"tier-a", "tier-b", "tier-c", "tier-d", "first-service"}
    assert_error(manager.get(f"/api/care/playbooks/{other.pk}"), 404)
    assert_error(manager.post(f"/api/care/playbooks/{other.pk}/activate"), 404)
    assert_error(Api.session(world.advisor).get("/api/care/playbooks"), 403)
    detail = manager.get(f"/api/care/playbooks/{a.pk}").json()
    assert detail["results"]["treated"]["enrolled"] == 0 and len(detail["steps"]) == 3
    from aftersales.care.playbooks import engagement_available

    if not engagement_available():
        assert_error(manager.post(f"/api/care/playbooks/{a.pk}/activate"), 422, "dependency_missing", "trigger")
    assert manager.post(f"/api/care/playbooks/{a.pk}/deactivate").json()["is_active"] is False


def test_calendar_queries_do_not_grow_with_the_rows(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    today = timezone.localdate()
    client.force_login(world.advisor)

    def add(n):
        for _ in range(n):
            car = VehicleFactory(owner=CustomerFactory(home_store=world.a))
            Reminder.objects.create(store=world.a, customer=car.owner, vehicle=car, kind="warranty", due_date=today,
                                    lead_days=30, remind_on=today, action_by=world.advisor, status="called")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/care/").status_code == 200
        return len(ctx.captured_queries)

    add(2)
    count()  # the first visit creates the store's care settings
    few = count()
    add(10)
    assert count() == few <= 25


def test_campaign_start_time_shows_when_edited(client, world):
    """The edit form of a campaign shows its start time (a datetime-local input only takes 2026-12-20T09:00)."""
    client.force_login(world.manager)
    client.post("/care/playbooks/new/?campaign=1", {
        "name": "冬季电瓶", "trigger": "scheduled", "starts_at": "2026-12-20T09:00", "holdout_percent": "10",
        "measure_days": "90", "campaign": "1", "store": world.a.pk})
    campaign = Playbook.objects.get(store=world.a, is_campaign=True)
    page = client.get(f"/care/playbooks/{campaign.pk}/").content.decode()
    field = page.split('name="starts_at"')[0].rsplit("<input", 1)[1] + page.split('name="starts_at"')[1].split(">")[0]
    assert 'value="2026-12-20T09:00"' in field  # in the store's time, as the browser needs it
    # saving the form unchanged keeps the time
    response = client.post(f"/care/playbooks/{campaign.pk}/", {
        "name": "冬季电瓶", "trigger": "scheduled", "starts_at": "2026-12-20T09:00", "holdout_percent": "10",
        "measure_days": "90"})
    campaign.refresh_from_db()
    assert response.status_code == 302 and campaign.starts_at == dt.datetime(2026, 12, 20, 1, 0, tzinfo=dt.UTC)


def test_playbook_forms_pick_segments_and_vouchers_of_the_store(client, world):
    """Segments and voucher templates are chosen from a list of the store's own (by name), never typed as ids; another
    store's segment or an inactive template is not offered and is refused if posted."""
    from aftersales.engagement.models import Segment
    from aftersales.loyalty.tests.factories import template

    create_default_playbooks(world.a)
    d = Playbook.objects.get(store=world.a, code="tier-d")
    group_wide = Segment.objects.create(group=world.group, name="宝马车主", criteria={"make": "BMW"})
    own = Segment.objects.create(group=world.group, store=world.a, name="A 店老客户", criteria={})
    other = Segment.objects.create(group=world.group, store=world.b, name="B 店专属", criteria={})
    oil = template(world.group, "oil-pick", name_zh="保养抵用券", name_en="Service voucher")
    other_store = template(world.group, "b-only", store=world.b, name_zh="B 店洗车券", name_en="B car wash")
    retired = template(world.group, "retired", is_active=False, name_zh="旧券", name_en="Old voucher")
    client.force_login(world.manager)
    page = client.get(f"/care/playbooks/{d.pk}/").content.decode()
    segment_select = page.split('name="segment_id"')[1].split("</select>")[0]
    assert f'value="{group_wide.pk}"' in segment_select and "宝马车主" in segment_select
    assert f'value="{own.pk}"' in segment_select and f'value="{other.pk}"' not in segment_select
    voucher_select = page.split('name="voucher_template_id"')[1].split("</select>")[0]
    assert f'value="{oil.pk}"' in voucher_select
    assert f'value="{other_store.pk}"' not in voucher_select and f'value="{retired.pk}"' not in voucher_select
    # another store's segment posted by hand: an inline error, nothing saved
    response = client.post("/care/playbooks/new/?campaign=1", {
        "name": "越权", "trigger": "scheduled", "starts_at": "2026-12-20T09:00", "segment_id": str(other.pk),
        "holdout_percent": "10", "measure_days": "90", "campaign": "1", "store": world.a.pk})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not Playbook.objects.filter(name="越权").exists()
    steps = d.steps.count()
    response = client.post(f"/care/playbooks/{d.pk}/steps/", {"kind": "voucher", "voucher_template_id": str(retired.pk)})
    assert response.status_code == 422 and d.steps.count() == steps
    client.post(f"/care/playbooks/{d.pk}/steps/", {"kind": "voucher", "voucher_template_id": str(oil.pk)})
    assert d.steps.filter(kind="voucher", voucher_template_id=oil.pk).exists()
    # the new campaign with a picked segment
    response = client.post("/care/playbooks/new/?campaign=1", {
        "name": "宝马活动", "trigger": "scheduled", "starts_at": "2026-12-20T09:00", "segment_id": str(group_wide.pk),
        "holdout_percent": "10", "measure_days": "90", "campaign": "1", "store": world.a.pk})
    assert response.status_code == 302 and Playbook.objects.get(name="宝马活动").segment_id == group_wide.pk
