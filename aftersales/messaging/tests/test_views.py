"""Messaging screens: login, scoping (404), permissions (403), template editor, re-run, phone tasks, notifications,
channel settings, background work, the public opt-out page and the 360 page's messages."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.common.models import TaskRun, TaskState, WorkerHeartbeat
from aftersales.customers.models import Consent
from aftersales.customers.services import customer_create
from aftersales.messaging.choices import Channel, MessageStatus, Purpose
from aftersales.messaging.models import ChannelSettings, Message, MessageEvent, MessageTemplate, Notification, PhoneTask
from aftersales.messaging.services import opt_out_token

_seq = itertools.count(1)


@pytest.fixture
def zhang(world):
    return customer_create(actor=world.advisor, store=world.a, name="张伟", mobile="13812345678", title="mr")


def make_message(world, customer, *, store=None, status=MessageStatus.SENT, kind="repair.ready", channel=Channel.SMS,
                 purpose=Purpose.SERVICE, body="您的粤B12345已完工", created_at=None, staff_user=None):
    n = next(_seq)
    return Message.objects.create(
        group=world.group, store=store or world.a, customer=customer, staff_user=staff_user, kind=kind, channel=channel,
        purpose=purpose, language="zh-hans", recipient=customer.mobile if customer else "user:1", body=body,
        dedup_key=f"test-{n}", status=status, created_at=created_at or timezone.now(),
    )


def make_phone_task(world, customer, store=None, due_in_hours=1):
    message = make_message(world, customer, store=store, channel=Channel.PHONE, kind="followup.survey", body="回访")
    return PhoneTask.objects.create(
        message=message, store=store or world.a, customer=customer, phone=customer.mobile, script="请询问客户对保养的满意度",
        due_at=timezone.now() + dt.timedelta(hours=due_in_hours),
    )


PAGES = ["/messages/", "/message-templates/", "/phone-tasks/", "/notifications/", "/channel-settings/", "/background-work/",
         "/message-templates/edit/?kind=repair.ready&channel=sms&language=zh-hans"]


def test_pages_require_login(client, world, zhang):
    message = make_message(world, zhang)
    for url in [*PAGES, f"/messages/{message.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    for url in [f"/messages/{message.pk}/retry/", "/message-templates/preview/", "/notifications/read-all/"]:
        response = client.post(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_roles_without_permission_get_403(client, world, zhang):
    message = make_message(world, zhang, status=MessageStatus.FAILED)
    client.force_login(world.technician)
    for url in ["/messages/", f"/messages/{message.pk}/", "/message-templates/", "/phone-tasks/", "/channel-settings/",
                "/background-work/"]:
        assert client.get(url).status_code == 403, url
    assert client.get("/notifications/").status_code == 200  # everyone has their own notifications
    client.force_login(world.advisor)  # sees messages, but neither templates, settings, work nor re-run
    assert client.get("/messages/").status_code == 200
    for url in ["/message-templates/", "/channel-settings/", "/background-work/", "/phone-tasks/"]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/messages/{message.pk}/retry/").status_code == 403
    assert client.post("/message-templates/preview/", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans"}).status_code == 403
    client.force_login(world.staff["call_centre_agent"])
    assert client.get("/phone-tasks/").status_code == 200
    assert client.get("/message-templates/").status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


def test_message_list_filters_and_detail_timeline(client, world, zhang):
    failed = make_message(world, zhang, status=MessageStatus.FAILED, kind="campaign.offer", purpose=Purpose.MARKETING)
    make_message(world, zhang, status=MessageStatus.SENT)
    MessageEvent.objects.create(message=failed, from_state="pending", to_state="sending")
    MessageEvent.objects.create(message=failed, from_state="sending", to_state="failed", reason="invalid number")
    failed.delivery_attempts.create(number=1, outcome="failed", provider="aliyun", error="isv.MOBILE_NUMBER_ILLEGAL")
    client.force_login(world.advisor)
    page = client.get("/messages/").content.decode()
    assert page.count('data-testid="message-row"') == 2
    page = client.get("/messages/", {"status": "failed"}).content.decode()
    assert page.count('data-testid="message-row"') == 1
    assert client.get("/messages/", {"kind": "repair.ready", "channel": "email"}).content.decode().count('data-testid="message-row"') == 0
    detail = client.get(f"/messages/{failed.pk}/").content.decode()
    assert detail.count('data-testid="attempt"') == 1 and "isv.MOBILE_NUMBER_ILLEGAL" in detail
    assert detail.count('data-testid="event"') == 2
    assert 'data-testid="retry"' not in detail  # advisors cannot re-run


def test_other_store_message_phone_task_and_template_are_404(client, world, zhang):
    other = customer_create(actor=world.advisor_b, store=world.b, name="王芳", mobile="13912345678", title="ms")
    message = make_message(world, other, store=world.b, status=MessageStatus.FAILED)
    task = make_phone_task(world, other, store=world.b)
    MessageTemplate.objects.create(group=world.group, store=world.b, kind="repair.ready", channel="sms", language="zh-hans",
                                   body="B 店：{{ plate }}")
    client.force_login(world.manager)
    assert client.get(f"/messages/{message.pk}/").status_code == 404
    assert client.post(f"/messages/{message.pk}/retry/").status_code == 404
    assert client.post(f"/phone-tasks/{task.pk}/done/", {"outcome": "已接通"}).status_code == 404
    assert client.get(f"/message-templates/?store={world.b.pk}").status_code == 404
    assert client.get(f"/message-templates/edit/?kind=repair.ready&channel=sms&language=zh-hans&store={world.b.pk}").status_code == 404
    assert client.post("/message-templates/edit/", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans",
                                                    "store": world.b.pk, "body": "x"}).status_code == 404
    assert client.get(f"/channel-settings/?store={world.b.pk}").status_code == 404
    assert "王芳" not in client.get("/messages/").content.decode()
    assert "王芳" not in client.get("/phone-tasks/").content.decode()
    task.refresh_from_db()
    message.refresh_from_db()
    assert task.done_at is None and message.status == MessageStatus.FAILED
    assert MessageTemplate.objects.get().body == "B 店：{{ plate }}"
    client.force_login(world.admin)  # the group admin sees both stores
    assert client.get(f"/messages/{message.pk}/").status_code == 200


def test_template_list_shows_which_text_applies(client, world):
    MessageTemplate.objects.create(group=world.group, kind="repair.ready", channel="sms", language="zh-hans", body="集团：{{ plate }}")
    MessageTemplate.objects.create(group=world.group, store=world.a, kind="repair.ready", channel="sms", language="en",
                                   body="Store A: {{ plate }}")
    client.force_login(world.manager)
    response = client.get("/message-templates/", {"kind": "repair.ready", "channel": "sms"})
    rows = {(r.language, r.source) for r in response.context["rows"]}
    assert rows == {("zh-hans", "group"), ("en", "store")}
    response = client.get("/message-templates/", {"kind": "repair.ready", "channel": "email", "language": "zh-hans"})
    assert [r.source for r in response.context["rows"]] == ["builtin"]
    assert "Store A: {{ plate }}" not in response.content.decode()


def test_template_editor_shows_variables_and_preview(client, world):
    client.force_login(world.manager)
    response = client.get("/message-templates/edit/", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "advisor_name" in page and "amount" in page  # the kind's variables beside the editor
    assert response.context["preview"]["body"].startswith("张先生，您的粤B12345已完工")
    response = client.post("/message-templates/preview/", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans",
                                                           "body": "{{ greeting }}：{{ plate }} 好了", "subject": ""},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "张先生：粤B12345 好了" in response.content.decode()
    response = client.post("/message-templates/preview/", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans",
                                                           "body": "{{ nickname }} 好了"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="err-body"' in body and "nickname" in body.split('id="err-body"')[1]
    assert client.post("/message-templates/preview/", {"kind": "nope", "channel": "sms", "language": "zh-hans"}).status_code == 404


def test_template_save_refuses_unknown_variable_inline_and_writes_nothing(client, world):
    client.force_login(world.manager)
    data = {"kind": "repair.ready", "channel": "sms", "language": "zh-hans", "store": world.a.pk,
            "body": "{{ greeting }}，{{ nickname }} 的车好了", "subject": "", "is_active": "on"}
    response = client.post("/message-templates/edit/", data)
    assert response.status_code == 200
    assert "nickname" in response.context["form"].errors["body"][0]
    assert 'data-field="body"' in response.content.decode()
    assert MessageTemplate.objects.count() == 0
    data["body"] = "{{ greeting }}，{{ plate }} 的车好了"
    response = client.post("/message-templates/edit/", data)
    assert response.status_code == 302
    saved = MessageTemplate.objects.get()
    assert saved.store_id == world.a.pk and saved.body == data["body"] and saved.updated_by == world.manager


def test_group_default_is_for_group_admins(client, world):
    data = {"kind": "repair.ready", "channel": "sms", "language": "zh-hans", "scope": "group", "body": "集团：{{ plate }}",
            "is_active": "on"}
    client.force_login(world.manager)
    assert client.post("/message-templates/edit/", data).status_code == 403
    client.force_login(world.admin)
    assert client.post("/message-templates/edit/", data).status_code == 302
    assert MessageTemplate.objects.get().store_id is None


def test_rerun_moves_failed_message_back_to_pending(client, world, zhang, django_capture_on_commit_callbacks):
    message = make_message(world, zhang, status=MessageStatus.FAILED)
    sent = make_message(world, zhang, status=MessageStatus.SENT)
    client.force_login(world.manager)
    assert 'data-testid="retry"' in client.get(f"/messages/{message.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/messages/{message.pk}/retry/")
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.events.filter(from_state="failed", to_state="pending", actor=world.manager).exists()
    response = client.post(f"/messages/{sent.pk}/retry/", follow=True)
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_phone_tasks_sorted_by_due_and_mark_done(client, world, zhang):
    later = make_phone_task(world, zhang, due_in_hours=5)
    sooner = make_phone_task(world, zhang, due_in_hours=-1)
    agent = world.staff["call_centre_agent"]
    client.force_login(agent)
    response = client.get("/phone-tasks/")
    assert [r["t"].pk for r in response.context["rows"]] == [sooner.pk, later.pk]
    page = response.content.decode()
    assert "请询问客户对保养的满意度" in page and "13812345678" in page
    response = client.post(f"/phone-tasks/{sooner.pk}/done/", {"outcome": ""}, follow=True)
    sooner.refresh_from_db()
    assert sooner.done_at is None
    response = client.post(f"/phone-tasks/{sooner.pk}/done/", {"outcome": "已预约周五 10:00"})
    assert response.status_code == 302
    sooner.refresh_from_db()
    assert sooner.done_at is not None and sooner.outcome == "已预约周五 10:00" and sooner.assigned_to == agent
    assert sooner.message.status == MessageStatus.DELIVERED
    assert [r["t"].pk for r in client.get("/phone-tasks/").context["rows"]] == [later.pk]


def _notify(world, user, title):
    message = make_message(world, None, channel=Channel.APP, kind="staff.task", body=title, staff_user=user)
    return Notification.objects.create(message=message, staff_user=user, title=title, body="请致电客户")


def test_bell_count_and_notifications_page_marks_read(client, world):
    _notify(world, world.advisor, "回访 1")
    _notify(world, world.advisor, "回访 2")
    _notify(world, world.manager, "给经理的")
    client.force_login(world.advisor)
    page = client.get("/").content.decode()
    assert 'data-testid="bell-count">2<' in page
    response = client.get("/notifications/")
    body = response.content.decode()
    assert body.count('data-testid="notification"') == 2 and "给经理的" not in body
    assert Notification.objects.filter(staff_user=world.advisor, read_at__isnull=True).count() == 0
    assert 'data-testid="bell-count"' not in client.get("/").content.decode()
    assert Notification.objects.filter(staff_user=world.manager, read_at__isnull=True).count() == 1
    client.force_login(world.manager)
    client.post("/notifications/read-all/")
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


def test_channel_settings_never_echo_secrets(client, world):
    client.force_login(world.manager)
    page = client.get("/channel-settings/").content.decode()
    assert 'data-testid="secret-sms_access_key_secret"' in page
    data = {"quiet_start": "21:30", "quiet_end": "08:00", "sms_provider": "aliyun", "sms_access_key_id": "LTAI-id",
            "sms_access_key_secret": "TOP-SECRET-1", "sms_sign_name": "天河店", "sms_region": "cn-hangzhou",
            "wechat_app_id": "wx1", "wechat_app_secret": "WX-SECRET-2", "email_from": "a@example.com",
            "webhook_url": "https://hooks.example.com/x", "webhook_secret": "HOOK-SECRET-3", "store": world.a.pk}
    assert client.post("/channel-settings/", data).status_code == 302
    row = ChannelSettings.objects.get(store=world.a)
    assert (row.sms_access_key_secret, row.wechat_app_secret, row.webhook_secret) == ("TOP-SECRET-1", "WX-SECRET-2", "HOOK-SECRET-3")
    assert row.quiet_start == dt.time(21, 30) and row.sms_provider == "aliyun"
    page = client.get("/channel-settings/").content.decode()
    for secret in ("TOP-SECRET-1", "WX-SECRET-2", "HOOK-SECRET-3"):
        assert secret not in page
    assert "LTAI-id" in page  # ids are not secrets
    # blank keeps the stored secret; clearing removes it
    data.update(sms_access_key_secret="", wechat_app_secret="", webhook_secret="", sms_sign_name="新签名",
                clear_secrets=["wechat_app_secret"])
    assert client.post("/channel-settings/", data).status_code == 302
    row.refresh_from_db()
    assert row.sms_access_key_secret == "TOP-SECRET-1" and row.wechat_app_secret == "" and row.sms_sign_name == "新签名"
    # errors are inline and nothing is saved
    data.update(sms_provider="tencent", sms_sdk_app_id="", sms_sign_name="改了")
    response = client.post("/channel-settings/", data)
    assert response.status_code == 200 and "sms_sdk_app_id" in response.context["form"].errors
    row.refresh_from_db()
    assert row.sms_provider == "aliyun" and row.sms_sign_name == "新签名"


def test_background_work_page_and_rerun(client, world, zhang, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    from celery import current_app

    monkeypatch.setattr(current_app, "send_task", lambda name, **kw: sent.append((name, kw)))
    failed = TaskRun.objects.create(task_id="t-1", name="aftersales.demo.task", args=[1, 2], kwargs={"x": 1},
                                    state=TaskState.FAILED, error="ValueError('boom')")
    TaskRun.objects.create(task_id="t-2", name="aftersales.demo.ok", state=TaskState.SUCCEEDED)
    WorkerHeartbeat.objects.create(hostname="worker-1", seen_at=timezone.now())
    make_message(world, zhang, status=MessageStatus.FAILED)
    make_message(world, zhang, status=MessageStatus.PENDING)
    make_message(world, zhang, status=MessageStatus.PENDING)
    client.force_login(world.manager)
    response = client.get("/background-work/")
    assert {h["status"]: h["count"] for h in response.context["health"]} == {"pending": 2, "sending": 0, "failed": 1, "unknown": 0}
    page = response.content.decode()
    assert "worker-1" in page and page.count('data-testid="task-run"') == 2
    assert client.get("/background-work/", {"state": "failed"}).content.decode().count('data-testid="task-run"') == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/background-work/{failed.pk}/rerun/").status_code == 302
    new = TaskRun.objects.exclude(pk__in=[failed.pk]).get(name="aftersales.demo.task")
    assert new.state == TaskState.QUEUED and new.args == [1, 2]
    assert sent == [("aftersales.demo.task", {"args": [1, 2], "kwargs": {"x": 1}, "task_id": new.task_id})]
    client.post(f"/background-work/{failed.pk}/rerun/")  # once only
    assert TaskRun.objects.filter(name="aftersales.demo.task").count() == 2 and len(sent) == 1
    client.force_login(world.advisor)
    assert client.post(f"/background-work/{failed.pk}/rerun/").status_code == 403


def test_opt_out_link_records_once(client, world, zhang):
    message = make_message(world, zhang, kind="campaign.offer", purpose=Purpose.MARKETING)
    url = f"/m/o/{opt_out_token(message.pk)}/"
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="zh-hans"' in page and "?lang=en" in page and "Store A" in page
    assert 'lang="en"' in client.get(url, {"lang": "en"}).content.decode()
    assert Consent.objects.filter(customer=zhang, granted=False).count() == 0
    assert 'data-testid="opt-out-done"' in client.post(url).content.decode()
    client.post(url)
    records = Consent.objects.filter(customer=zhang, purpose="marketing", channel="sms", granted=False, source="opt_out")
    assert records.count() == 1


def test_opt_out_bad_token_is_404(client):
    response = client.get("/m/o/not-a-token/")
    assert response.status_code == 404
    assert 'data-testid="opt-out"' in response.content.decode()
    assert client.post("/m/o/not-a-token/").status_code == 404


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_360_shows_messages_with_constant_queries(client, world, zhang):
    other = customer_create(actor=world.advisor, store=world.a, name="王芳", mobile="13912345678", title="ms")
    make_message(world, zhang, status=MessageStatus.FAILED, body="只有一条")
    start = timezone.now() - dt.timedelta(days=40)
    for i in range(30):
        make_message(world, other, status=MessageStatus.DELIVERED, body=f"第{i}条", created_at=start + dt.timedelta(days=i))
    make_message(world, other, store=world.b, body="B 店发的")  # the newest, but from a store the manager is not at
    client.force_login(world.manager)
    client.get(f"/customers/{zhang.pk}/")  # warm: the auth context is cached after the first request
    small = _count(client, f"/customers/{zhang.pk}/")
    large = _count(client, f"/customers/{other.pk}/")
    assert small == large
    page = client.get(f"/customers/{other.pk}/").content.decode()
    assert page.count('data-testid="sent-message"') == 20
    assert "第29条" in page and "第9条" not in page and "B 店发的" not in page
    page = client.get(f"/customers/{zhang.pk}/").content.decode()
    assert "只有一条" in page and "chip bad" in page.split('id="messages-sent"')[1]


def test_all_messages_of_a_customer_from_the_360_page(client, world, zhang):
    other = customer_create(actor=world.advisor, store=world.a, name="王芳", mobile="13912345678", title="ms")
    for i in range(30):
        make_message(world, zhang, body=f"张{i}")
    make_message(world, other, body="王的消息")
    make_message(world, zhang, store=world.b, body="B 店发的")
    client.force_login(world.manager)
    page = client.get(f"/customers/{zhang.pk}/").content.decode()
    assert f"/messages/?customer_id={zhang.pk}" in page
    listing = client.get("/messages/", {"customer_id": zhang.pk})
    assert listing.status_code == 200
    assert listing.context["page"].paginator.count == 30  # every message from the manager's store, none of Wang's
    assert "王的消息" not in listing.content.decode()
    assert client.get("/messages/", {"customer_id": "x"}).status_code == 200  # a bad filter is ignored, not a 500
