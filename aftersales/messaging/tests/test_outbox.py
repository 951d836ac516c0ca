"""The outbox, proven (SPEC §13): atomic with the business change, deduplicated, rendered, retried with backoff,
consent and quiet hours, opt-out, every channel end to end against real local servers, and crash recovery.

Times are not frozen: expected datetimes are computed from the clock around each call.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import override

from aftersales.common.errors import Forbidden, ValidationFailed
from aftersales.common.tests.factories import CustomerFactory, make_staff
from aftersales.customers.models import Consent, Customer
from aftersales.customers.services import consent_record, customer_create
from aftersales.messaging import dispatch, services
from aftersales.messaging.adapters.registry import adapter_for
from aftersales.messaging.choices import AttemptOutcome, Channel, MessageStatus
from aftersales.messaging.kinds import KINDS, default_subject
from aftersales.messaging.models import DeliveryAttempt, Message, MessageTemplate, Notification, PhoneTask
from aftersales.messaging.rendering import opt_out_footer
from aftersales.messaging.services import (
    channel_settings,
    message_enqueue,
    message_from_opt_out_token,
    message_retry,
    opt_out,
    template_save,
)
from aftersales.messaging.tests.local_servers import SmtpSink, WebhookReceiver

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def sample(kind: str, **overrides: Any) -> dict[str, Any]:
    return {**KINDS[kind].variables, **overrides}


def set_quiet(store: Any, start: dt.time, end: dt.time) -> None:
    cfg = channel_settings(store)
    cfg.quiet_start, cfg.quiet_end = start, end
    cfg.save()


def no_quiet_hours(store: Any) -> None:
    set_quiet(store, dt.time(0, 0), dt.time(0, 0))  # start == end: no quiet hours


def grant(customer: Customer, channel: str, actor: Any, granted: bool = True) -> None:
    consent_record(actor=actor, customer=customer, purpose="marketing", channel=channel, granted=granted, source="in_store")


def console_lines(data_dir: Any) -> list[dict[str, Any]]:
    path = data_dir / "outbox" / "console.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def reload(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def customer(world):
    return CustomerFactory(home_store=world.a, name="张伟", title="mr", email="zw@example.com")


@pytest.fixture
def receiver(world):
    rcv = WebhookReceiver()
    cfg = channel_settings(world.a)
    cfg.webhook_url, cfg.webhook_secret = rcv.url, rcv.secret
    cfg.save()
    yield rcv
    rcv.close()


@pytest.fixture
def smtp(settings):
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    yield sink
    sink.close()


@pytest.fixture
def nudges(monkeypatch):
    calls: list[float] = []
    monkeypatch.setattr(services, "nudge_dispatcher", lambda countdown=0.0: calls.append(countdown))
    return calls


# ---- atomicity ------------------------------------------------------------------------------------------------
def test_rollback_of_the_business_change_rolls_back_the_message(world, nudges, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        c = customer_create(actor=world.advisor, store=world.a, name="王芳", mobile="13912345678", title="ms")
        message_enqueue(kind="customer.welcome", store=world.a, customer=c, variables=sample("customer.welcome"),
                        dedup_key=f"welcome:{c.pk}")
        assert Message.objects.count() == 1
        raise RuntimeError("the business change fails after the message was queued")
    assert not Customer.objects.filter(name="王芳").exists()
    assert Message.objects.count() == 0
    assert callbacks == [] and nudges == []


def test_commit_writes_one_row_and_nudges_only_after_commit(world, customer, nudges, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            m = message_enqueue(kind="customer.welcome", store=world.a, customer=customer,
                                variables=sample("customer.welcome"), dedup_key="welcome:1")
            assert nudges == []  # not before the commit
        assert nudges == []  # the test's outer transaction stands for the commit: still nothing
    assert len(callbacks) == 1 and nudges == [0.0]
    assert list(Message.objects.values_list("pk", "status")) == [(m.pk, MessageStatus.PENDING)]


def test_a_message_that_waits_nudges_with_a_countdown(world, customer, nudges, django_capture_on_commit_callbacks):
    later = timezone.now() + dt.timedelta(minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        message_enqueue(kind="repair.ready", store=world.a, customer=customer, variables=sample("repair.ready"),
                        dedup_key="ready:1", not_before=later)
    assert len(nudges) == 1 and 590 < nudges[0] <= 600


# ---- deduplication -------------------------------------------------------------------------------------------
def test_same_dedup_key_twice_is_one_message(world, customer):
    a = message_enqueue(kind="customer.welcome", store=world.a, customer=customer, variables=sample("customer.welcome"),
                        dedup_key="welcome:x")
    b = message_enqueue(kind="customer.welcome", store=world.a, customer=customer,
                        variables=sample("customer.welcome", greeting="other"), dedup_key="welcome:x")
    assert a.pk == b.pk and Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_same_dedup_key_from_two_threads_is_one_message(world, nudges):
    c = CustomerFactory(home_store=world.a)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def enqueue(hold: float) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                m = message_enqueue(kind="customer.welcome", store=world.a, customer=c,
                                    variables=sample("customer.welcome"), dedup_key="welcome:race")
                threading.Event().wait(hold)  # keep the transaction open so the other one collides with it
            results.append(m.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enqueue, args=(hold,)) for hold in (0.3, 0.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert Message.objects.filter(dedup_key="welcome:race").count() == 1


# ---- rendering and templates ------------------------------------------------------------------------------------
def test_variables_are_filled(world, customer):
    m = message_enqueue(kind="repair.ready", store=world.a, customer=customer,
                        variables=sample("repair.ready", plate="粤A99999", amount="88.00"), dedup_key="r1")
    assert "粤A99999" in m.body and "88.00" in m.body and "{{" not in m.body and "}}" not in m.body
    assert m.language == "zh-hans" and m.channel == Channel.SMS and m.recipient == customer.mobile


def test_missing_variable_is_refused_and_nothing_is_written(world, customer):
    variables = sample("repair.ready")
    del variables["plate"]
    with pytest.raises(ValidationFailed) as err:
        message_enqueue(kind="repair.ready", store=world.a, customer=customer, variables=variables, dedup_key="r1")
    assert err.value.field == "variables" and err.value.code == "message_missing_variable"
    assert "plate" in str(err.value.message)
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "subject", "field", "code"),
    [
        ("您好 {{ nickname }}", "", "body", "template_unknown_variable"),
        ("您好 {{ plate }", "", "body", "template_syntax"),
        ("您好 }} {{ plate }}", "", "body", "template_syntax"),
        ("您好 {{ plate }}", "{{ secret }}", "subject", "template_unknown_variable"),
        ("   ", "", "body", "body_required"),
    ],
)
def test_template_save_refuses_bad_text(world, body, subject, field, code):
    with pytest.raises(ValidationFailed) as err:
        template_save(actor=world.manager, kind="repair.ready", channel="sms", language="zh-hans", body=body,
                      subject=subject)
    assert (err.value.field, err.value.code) == (field, code)
    if code == "template_unknown_variable":
        assert ("nickname" if field == "body" else "secret") in str(err.value.message)
    assert MessageTemplate.objects.count() == 0


def test_store_override_wins_over_group_default_wins_over_built_in(world):
    ca = CustomerFactory(home_store=world.a)
    cb = CustomerFactory(home_store=world.b)
    v = sample("repair.ready", plate="粤B00001")
    built_in = message_enqueue(kind="repair.ready", store=world.a, customer=ca, variables=v, dedup_key="t0")
    assert built_in.body.startswith(f"{v['greeting']}，您的粤B00001已完工")
    template_save(actor=world.admin, kind="repair.ready", channel="sms", language="zh-hans",
                  body="集团：{{ plate }} 可提车")
    template_save(actor=world.manager, kind="repair.ready", channel="sms", language="zh-hans",
                  body="本店：{{ plate }} 修好了", store=world.a)
    at_a = message_enqueue(kind="repair.ready", store=world.a, customer=ca, variables=v, dedup_key="t1")
    at_b = message_enqueue(kind="repair.ready", store=world.b, customer=cb, variables=v, dedup_key="t2")
    assert at_a.body == "本店：粤B00001 修好了"
    assert at_b.body == "集团：粤B00001 可提车"
    # another channel or language has no template: the built-in text
    en = message_enqueue(kind="repair.ready", store=world.a, customer=ca, variables=v, dedup_key="t3", language="en")
    assert en.body.startswith(f"{v['greeting']}, your 粤B00001 is ready")


def test_language_is_chosen_from_the_customer(world):
    en = CustomerFactory(home_store=world.a, language="en")
    zh = CustomerFactory(home_store=world.a, language="zh-hans")
    m_en = message_enqueue(kind="customer.welcome", store=world.a, customer=en, variables=sample("customer.welcome"),
                           dedup_key="en")
    m_zh = message_enqueue(kind="customer.welcome", store=world.a, customer=zh, variables=sample("customer.welcome"),
                           dedup_key="zh")
    assert (m_en.language, m_zh.language) == ("en", "zh-hans")
    assert m_en.body.startswith("Dear ") and "welcome to" in m_en.body
    assert "欢迎成为" in m_zh.body


# ---- retries -----------------------------------------------------------------------------------------------------
def _webhook_message(world: Any, key: str) -> Message:
    return message_enqueue(kind="staff.task", store=world.a, channel=Channel.WEBHOOK, variables=sample("staff.task"),
                           dedup_key=key)


def _dispatch_now(message: Message) -> tuple[dt.datetime, dt.datetime]:
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    before = timezone.now()
    dispatch.dispatch_due()
    return before, timezone.now()


def test_temporary_errors_back_off_then_give_up(world, receiver, settings):
    receiver.status = 503
    m = _webhook_message(world, "hook:503")
    assert m.status == MessageStatus.PENDING and m.recipient == receiver.url
    for attempt in range(1, settings.MESSAGING_MAX_ATTEMPTS):
        before, after = _dispatch_now(m)
        m = reload(m)
        wait = dispatch.backoff(attempt)
        assert wait == dt.timedelta(seconds=30 * 2 ** (attempt - 1))  # 30 s, 1 min, 2 min, 4 min, 8 min
        assert m.status == MessageStatus.PENDING and m.attempts == attempt
        assert before + wait <= m.next_attempt_at <= after + wait
        assert m.last_error == "HTTP 503"
        assert m.delivery_attempts.count() == attempt
        assert m.delivery_attempts.last().outcome == AttemptOutcome.RETRY
    _dispatch_now(m)
    m = reload(m)
    assert m.status == MessageStatus.FAILED and m.attempts == settings.MESSAGING_MAX_ATTEMPTS
    assert m.last_error == "HTTP 503"
    outcomes = list(m.delivery_attempts.values_list("number", "outcome"))
    assert outcomes == [(n, AttemptOutcome.RETRY) for n in range(1, 6)] + [(6, AttemptOutcome.GAVE_UP)]
    assert len(receiver.deliveries) == settings.MESSAGING_MAX_ATTEMPTS
    assert {d.key for d in receiver.deliveries} == {f"aftersales-msg-{m.pk}"}
    # nothing more happens by itself
    Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now() - dt.timedelta(days=1))
    dispatch.dispatch_due()
    assert len(receiver.deliveries) == settings.MESSAGING_MAX_ATTEMPTS


def test_permanent_error_fails_at_once_and_an_operator_reruns_it(world, receiver):
    receiver.status = 400
    m = _webhook_message(world, "hook:400")
    dispatch.dispatch_due()
    m = reload(m)
    assert m.status == MessageStatus.FAILED and m.last_error == "HTTP 400" and m.attempts == 1
    assert list(m.delivery_attempts.values_list("outcome", flat=True)) == [AttemptOutcome.FAILED]
    with pytest.raises(Forbidden) as denied:
        message_retry(actor=world.technician, message=m)
    assert denied.value.code == "permission_denied" and reload(m).status == MessageStatus.FAILED
    with pytest.raises(Forbidden):
        message_retry(actor=world.manager_b, message=m)  # a manager of another store
    receiver.status = 200
    m = message_retry(actor=world.manager, message=m)
    assert reload(m).status == MessageStatus.PENDING and reload(m).last_error == ""
    dispatch.dispatch_due()
    m = reload(m)
    assert m.status == MessageStatus.SENT and m.sent_at is not None
    assert m.provider == "webhook" and m.provider_message_id.startswith("rcv-")
    assert list(m.delivery_attempts.values_list("outcome", flat=True)) == [AttemptOutcome.FAILED, AttemptOutcome.SENT]
    assert [d.status for d in receiver.deliveries] == [400, 200]
    assert list(m.events.values_list("to_state", flat=True)) == [
        MessageStatus.SENDING, MessageStatus.FAILED, MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.SENT,
    ]


# ---- consent and quiet hours --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["campaign.offer", "care.recall"])
def test_marketing_without_consent_is_suppressed_and_never_sent(world, customer, data_dir, kind):
    no_quiet_hours(world.a)
    m = message_enqueue(kind=kind, store=world.a, customer=customer, variables=sample(kind), dedup_key="mk")
    assert m.status == MessageStatus.SUPPRESSED
    dispatch.dispatch_due()
    assert reload(m).status == MessageStatus.SUPPRESSED and console_lines(data_dir) == []
    assert not DeliveryAttempt.objects.exists()


@pytest.mark.parametrize("kind", ["campaign.offer", "care.recall"])
def test_marketing_with_consent_is_sent(world, customer, data_dir, kind):
    no_quiet_hours(world.a)
    grant(customer, "sms", world.advisor)
    m = message_enqueue(kind=kind, store=world.a, customer=customer, variables=sample(kind), dedup_key="mk")
    assert m.status == MessageStatus.PENDING
    dispatch.dispatch_due()
    assert reload(m).status == MessageStatus.SENT
    assert [line["id"] for line in console_lines(data_dir)] == [m.pk]


def test_consent_withdrawn_after_queueing_is_suppressed_at_dispatch(world, customer, data_dir):
    no_quiet_hours(world.a)
    grant(customer, "sms", world.advisor)
    m = message_enqueue(kind="campaign.offer", store=world.a, customer=customer, variables=sample("campaign.offer"),
                        dedup_key="mk")
    assert m.status == MessageStatus.PENDING
    grant(customer, "sms", world.advisor, granted=False)
    dispatch.dispatch_due()
    m = reload(m)
    assert m.status == MessageStatus.SUPPRESSED and console_lines(data_dir) == []
    assert list(m.delivery_attempts.values_list("outcome", flat=True)) == [AttemptOutcome.SUPPRESSED]


def test_service_messages_are_always_sent_even_in_quiet_hours_and_without_consent(world, customer, data_dir):
    local_now = timezone.localtime(timezone.now(), world.a.zone)
    set_quiet(world.a, (local_now - dt.timedelta(hours=1)).time(), (local_now + dt.timedelta(hours=1)).time())
    grant(customer, "sms", world.advisor, granted=False)
    m = message_enqueue(kind="repair.ready", store=world.a, customer=customer, variables=sample("repair.ready"),
                        dedup_key="svc")
    assert m.next_attempt_at <= timezone.now()
    dispatch.dispatch_due()
    assert reload(m).status == MessageStatus.SENT
    assert [line["id"] for line in console_lines(data_dir)] == [m.pk]


def test_marketing_queued_at_2230_store_time_waits_until_quiet_hours_end(world, customer, data_dir):
    set_quiet(world.a, dt.time(21, 0), dt.time(8, 0))
    grant(customer, "sms", world.advisor)
    tomorrow = timezone.localtime(timezone.now(), world.a.zone).date() + dt.timedelta(days=1)
    at_2230 = dt.datetime.combine(tomorrow, dt.time(22, 30), tzinfo=SHANGHAI)
    m = message_enqueue(kind="campaign.offer", store=world.a, customer=customer, variables=sample("campaign.offer"),
                        dedup_key="late", not_before=at_2230)
    expected = dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time(8, 0), tzinfo=SHANGHAI)
    assert m.status == MessageStatus.PENDING and m.next_attempt_at == expected
    assert reload(m).next_attempt_at == expected
    # queued at 07:59 the same night: also 08:00; at 08:00 exactly: no wait
    early = message_enqueue(kind="campaign.offer", store=world.a, customer=customer,
                            variables=sample("campaign.offer"), dedup_key="early",
                            not_before=expected - dt.timedelta(minutes=1))
    eight = message_enqueue(kind="campaign.offer", store=world.a, customer=customer,
                            variables=sample("campaign.offer"), dedup_key="eight", not_before=expected)
    assert early.next_attempt_at == expected and eight.next_attempt_at == expected
    dispatch.dispatch_due()
    assert reload(m).status == MessageStatus.PENDING and console_lines(data_dir) == []


def test_marketing_in_quiet_hours_now_waits_then_goes_out(world, customer, data_dir):
    grant(customer, "sms", world.advisor)
    local_now = timezone.localtime(timezone.now(), world.a.zone)
    start = (local_now - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local_now + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    set_quiet(world.a, start, end)
    end_at = (local_now + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    queued = message_enqueue(kind="campaign.offer", store=world.a, customer=customer,
                             variables=sample("campaign.offer"), dedup_key="q1")
    assert queued.next_attempt_at == end_at
    dispatch.dispatch_due()
    assert reload(queued).status == MessageStatus.PENDING and console_lines(data_dir) == []

    # queued outside quiet hours, but quiet hours have begun when the dispatcher gets to it: it waits, no attempt used
    no_quiet_hours(world.a)
    m = message_enqueue(kind="campaign.offer", store=world.a, customer=customer, variables=sample("campaign.offer"),
                        dedup_key="q2")
    assert m.next_attempt_at <= timezone.now()
    set_quiet(world.a, start, end)
    dispatch.dispatch_due()
    m = reload(m)
    assert m.status == MessageStatus.PENDING and m.attempts == 0 and m.next_attempt_at == end_at
    assert console_lines(data_dir) == [] and not m.delivery_attempts.exists()
    assert list(m.events.values_list("reason", flat=True)) == ["", AttemptOutcome.DEFERRED]

    # quiet hours are over (the window has moved past now) and the time has come: both go out
    set_quiet(world.a, (local_now + dt.timedelta(hours=2)).time(), (local_now + dt.timedelta(hours=3)).time())
    Message.objects.filter(pk__in=[queued.pk, m.pk]).update(next_attempt_at=timezone.now())
    dispatch.dispatch_due()
    assert reload(queued).status == reload(m).status == MessageStatus.SENT
    assert sorted(line["id"] for line in console_lines(data_dir)) == sorted([queued.pk, m.pk])


# ---- opt-out ----------------------------------------------------------------------------------------------------
def test_every_marketing_message_carries_the_opt_out(world, data_dir, settings):
    settings.MESSAGING_INBOUND_SECRET = "s3cret-inbound"  # SMS replies reach us: the SMS may say "reply TD"
    no_quiet_hours(world.a)
    c = CustomerFactory(home_store=world.a, email="c@example.com", wechat_openid="o-123")
    for channel in ("sms", "email", "wechat", "app"):
        grant(c, channel, world.advisor)
    for kind in ("campaign.offer", "care.recall"):
        for channel in ("sms", "email", "wechat", "app"):
            m = message_enqueue(kind=kind, store=world.a, customer=c, channel=channel, variables=sample(kind),
                                dedup_key=f"{kind}:{channel}")
            assert m.channel == channel and m.status == MessageStatus.PENDING
            if channel == "sms":
                assert m.body.endswith(opt_out_footer("sms", m.language, "")) and "TD" in m.body
                assert "/m/o/" not in m.body
            else:
                found = re.search(r"https?://\S+/m/o/([^/\s]+)/", m.body)
                assert found, m.body
                assert message_from_opt_out_token(found.group(1)).pk == m.pk
    service = message_enqueue(kind="repair.ready", store=world.a, customer=c, channel="email",
                              variables=sample("repair.ready"), dedup_key="svc")
    assert "/m/o/" not in service.body


def test_opt_out_records_one_consent_and_suppresses_the_next_marketing(world, data_dir):
    no_quiet_hours(world.a)
    c = CustomerFactory(home_store=world.a, email="c@example.com")
    grant(c, "email", world.advisor)
    grant(c, "sms", world.advisor)
    first = message_enqueue(kind="campaign.offer", store=world.a, customer=c, channel="email",
                            variables=sample("campaign.offer"), dedup_key="o1")
    token = re.search(r"/m/o/([^/\s]+)/", first.body).group(1)
    assert opt_out(message=message_from_opt_out_token(token), via="link") is True
    rows = Consent.objects.filter(customer=c, purpose="marketing", granted=False)
    assert list(rows.values_list("channel", "source")) == [("email", "opt_out")]
    assert opt_out(message=first, via="link") is False
    assert rows.count() == 1
    after = message_enqueue(kind="campaign.offer", store=world.a, customer=c, channel="email",
                            variables=sample("campaign.offer"), dedup_key="o2")
    assert after.status == MessageStatus.SUPPRESSED
    other_channel = message_enqueue(kind="campaign.offer", store=world.a, customer=c, channel="sms",
                                    variables=sample("campaign.offer"), dedup_key="o3")
    assert other_channel.status == MessageStatus.PENDING
    # the one queued before the opt-out is suppressed when the dispatcher gets to it
    dispatch.dispatch_due()
    assert reload(first).status == MessageStatus.SUPPRESSED


# ---- every channel, end to end ---------------------------------------------------------------------------------------
def test_email_through_smtp_to_a_real_server(world, smtp):
    no_quiet_hours(world.a)
    c = CustomerFactory(home_store=world.a, name="张伟", title="mr", email="zhang.wei@example.com", preferred_channel="email")
    m = message_enqueue(kind="repair.ready", store=world.a, customer=c, variables=sample("repair.ready"), dedup_key="e1")
    assert m.channel == Channel.EMAIL and m.recipient == "zhang.wei@example.com"
    dispatch.dispatch_due()
    m = reload(m)
    assert m.status == MessageStatus.SENT, m.last_error
    assert len(smtp.envelopes) == 1
    envelope = smtp.envelopes[0]
    assert envelope.rcpt_tos == ["zhang.wei@example.com"]
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert parsed["Message-ID"] == m.provider_message_id == f"<aftersales-msg-{m.pk}@aftersales.local>"
    with override("zh-hans"):  # the customer's language
        assert parsed["Subject"] == m.subject == str(default_subject(KINDS["repair.ready"])) == "您的爱车已可提取"
    assert parsed.get_content().strip() == m.body.strip()


def test_webhook_is_signed_and_carries_the_idempotency_key(world, receiver):
    m = _webhook_message(world, "hook:ok")
    dispatch.dispatch_due()
    m = reload(m)
    assert m.status == MessageStatus.SENT
    [delivery] = receiver.deliveries
    assert delivery.verified is True
    assert delivery.key == f"aftersales-msg-{m.pk}"
    assert delivery.payload["id"] == m.pk and delivery.payload["text"] == m.body
    # a receiver with another secret refuses the signature
    receiver.secret = "someone-else"
    Message.objects.filter(pk=m.pk).update(status=MessageStatus.PENDING, next_attempt_at=timezone.now())
    dispatch.dispatch_due()
    assert receiver.deliveries[-1].verified is False


def test_in_app_notification_for_staff_and_customer(world, customer):
    staff = make_staff("service_advisor", world.a)
    for_staff = message_enqueue(kind="staff.task", store=world.a, staff_user=staff, variables=sample("staff.task"),
                                dedup_key="n1")
    for_customer = message_enqueue(kind="repair.progress", store=world.a, customer=customer, channel="app",
                                   variables=sample("repair.progress"), dedup_key="n2")
    assert for_staff.channel == for_customer.channel == Channel.APP
    dispatch.dispatch_due()
    assert reload(for_staff).status == reload(for_customer).status == MessageStatus.SENT
    n_staff = Notification.objects.get(message=for_staff)
    n_customer = Notification.objects.get(message=for_customer)
    assert (n_staff.staff_user, n_staff.customer) == (staff, None) and n_staff.body == for_staff.body
    assert (n_customer.customer, n_customer.staff_user) == (customer, None) and n_customer.body == for_customer.body
    assert reload(for_staff).provider_message_id == f"n{n_staff.pk}"


def test_phone_task_with_the_script(world, customer):
    m = message_enqueue(kind="followup.survey", store=world.a, customer=customer, channel="phone",
                        variables=sample("followup.survey"), dedup_key="p1")
    dispatch.dispatch_due()
    assert reload(m).status == MessageStatus.SENT
    task = PhoneTask.objects.get(message=m)
    assert (task.phone, task.script, task.store, task.customer) == (customer.mobile, m.body, world.a, customer)


def test_console_writes_one_json_line(world, customer, data_dir):
    m = message_enqueue(kind="repair.ready", store=world.a, customer=customer, variables=sample("repair.ready"),
                        dedup_key="c1")
    dispatch.dispatch_due()
    assert reload(m).status == MessageStatus.SENT
    [line] = console_lines(data_dir)
    assert (line["id"], line["channel"], line["to"], line["text"]) == (m.pk, "sms", customer.mobile, m.body)


# ---- crash recovery without a process --------------------------------------------------------------------------------
def test_recover_stale_reconciles_resends_once_or_marks_unknown(world, data_dir, smtp, receiver):
    c = CustomerFactory(home_store=world.a, email="crash@example.com")
    staff = make_staff("service_advisor", world.a)
    made: dict[tuple[str, bool], Message] = {}
    for channel in ("sms", "app", "phone", "email", "webhook"):
        for delivered in (True, False):
            key = f"{channel}:{delivered}"
            if channel == "webhook":
                made[(channel, delivered)] = _webhook_message(world, key)
            elif channel == "app":
                made[(channel, delivered)] = message_enqueue(kind="staff.task", store=world.a, staff_user=staff,
                                                             variables=sample("staff.task"), dedup_key=key)
            else:
                made[(channel, delivered)] = message_enqueue(kind="repair.ready", store=world.a, customer=c,
                                                             channel=channel, variables=sample("repair.ready"),
                                                             dedup_key=key)
    claimed = {m.pk: m for m in dispatch.claim(100)}
    assert set(claimed) == {m.pk for m in made.values()}
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENDING}
    cfg = channel_settings(world.a)
    for (channel, delivered), m in made.items():
        if delivered:  # the provider accepted it, then the process died before recording
            adapter_for(channel, cfg).send(claimed[m.pk])
    assert len(smtp.envelopes) == 1 and len(receiver.deliveries) == 1 and len(console_lines(data_dir)) == 1
    assert dispatch.recover_stale() == {}  # not stale yet
    Message.objects.update(claimed_at=timezone.now() - dt.timedelta(hours=1))

    counts = dispatch.recover_stale()
    assert counts == {AttemptOutcome.RECONCILED: 3, AttemptOutcome.RETRY: 5, AttemptOutcome.UNKNOWN: 2}
    state = {k: reload(m) for k, m in made.items()}
    for channel in ("sms", "app", "phone"):
        assert state[(channel, True)].status == MessageStatus.SENT
        assert state[(channel, True)].delivery_attempts.get().outcome == AttemptOutcome.RECONCILED
        assert state[(channel, False)].status == MessageStatus.PENDING
    assert state[("email", True)].status == state[("email", False)].status == MessageStatus.UNKNOWN
    assert state[("webhook", True)].status == state[("webhook", False)].status == MessageStatus.PENDING

    dispatch.dispatch_due()
    state = {k: reload(m) for k, m in made.items()}
    for (channel, _delivered), m in state.items():
        expected = MessageStatus.UNKNOWN if channel == "email" else MessageStatus.SENT
        assert m.status == expected, (channel, m.last_error)
    # no duplicate effects: one console line, notification, phone task per message
    ids = [line["id"] for line in console_lines(data_dir)]
    assert sorted(ids) == sorted([made[("sms", True)].pk, made[("sms", False)].pk])
    assert Notification.objects.filter(message__in=[made[("app", True)], made[("app", False)]]).count() == 2
    assert PhoneTask.objects.filter(message__in=[made[("phone", True)], made[("phone", False)]]).count() == 2
    # e-mail is not resent (SMTP cannot de-duplicate): still only the one that went out before the crash
    assert len(smtp.envelopes) == 1
    # the webhook is resent with the same Idempotency-Key: the receiver's effect is once per message
    hooked = [made[("webhook", True)].pk, made[("webhook", False)].pk]
    keys = [d.key for d in receiver.deliveries]
    assert sorted(keys) == sorted([f"aftersales-msg-{hooked[0]}"] * 2 + [f"aftersales-msg-{hooked[1]}"])
    assert {d.key for d in receiver.deliveries} == {f"aftersales-msg-{pk}" for pk in hooked}


def test_an_sms_promises_reply_td_only_when_replies_reach_us(world, data_dir, settings, client):
    """Without the reply callback configured, "reply TD" would be a promise we cannot keep: the SMS carries the
    opt-out link instead, and that link works."""
    settings.MESSAGING_INBOUND_SECRET = ""
    no_quiet_hours(world.a)
    c = CustomerFactory(home_store=world.a)
    grant(c, "sms", world.advisor)
    m = message_enqueue(kind="campaign.offer", store=world.a, customer=c, channel="sms", variables=sample("campaign.offer"),
                        dedup_key="offer:no-replies")
    assert "TD" not in m.body
    found = re.search(r"https?://[^/\s]+(/m/o/[^/\s]+/)", m.body)
    assert found, m.body
    assert client.get(found.group(1)).status_code == 200
    settings.MESSAGING_INBOUND_SECRET = "s3cret-inbound"
    m2 = message_enqueue(kind="campaign.offer", store=world.a, customer=c, channel="sms", variables=sample("campaign.offer"),
                         dedup_key="offer:replies")
    assert m2.body.endswith(opt_out_footer("sms", m2.language, "")) and "/m/o/" not in m2.body
