"""``message_enqueue_many``: the same message per item as ``message_enqueue``, with a fixed number of queries per batch.

Each case is queued once through ``message_enqueue`` (one call per message) and once in a single batch; the rows must
agree field by field (the opt-out link, which names the message's own id, compared as a mark), and match what the
case expects.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext

from aftersales.common.errors import DomainError, ValidationFailed
from aftersales.common.tests.factories import CustomerFactory, make_staff
from aftersales.customers.services import consent_opt_out, consent_record
from aftersales.messaging import services
from aftersales.messaging.choices import Channel, MessageStatus
from aftersales.messaging.kinds import KINDS
from aftersales.messaging.models import Message, MessageTemplate
from aftersales.messaging.services import (
    OutgoingMessage,
    channel_settings,
    message_enqueue,
    message_enqueue_many,
    message_from_opt_out_token,
    opt_out_link,
)

LINK = re.compile(r"https?://[^\s]+/m/o/([^/\s]+)/")
FIELDS = ("store_id", "customer_id", "staff_user_id", "kind", "channel", "purpose", "language", "recipient", "subject",
          "body", "variables", "provider_template_code", "status", "last_error")


def sample(kind: str, **overrides: Any) -> dict[str, Any]:
    return {**KINDS[kind].variables, **overrides}


def quiet_now(store: Any) -> dt.time:
    """Quiet hours around the current store time (an hour either side); returns their end."""
    local = timezone.localtime(timezone.now(), store.zone)
    start = (local - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    cfg = channel_settings(store)
    cfg.quiet_start, cfg.quiet_end = start, end
    cfg.save()
    return end


def no_quiet_hours(store: Any) -> None:
    cfg = channel_settings(store)
    cfg.quiet_start = cfg.quiet_end = dt.time(0, 0)
    cfg.save()


def grant(customer: Any, channel: str, actor: Any) -> None:
    consent_record(actor=actor, customer=customer, purpose="marketing", channel=channel, granted=True, source="in_store")


def row(message: Message) -> dict[str, Any]:
    """The fields that must agree; the opt-out link as a mark, ``not_before`` as "now" when it was not moved."""
    message = Message.objects.get(pk=message.pk)
    out = {name: getattr(message, name) for name in FIELDS}
    for name in ("body", "subject"):
        for token in LINK.findall(out[name]):  # signed with a timestamp: compared as "a link to this very message"
            found = message_from_opt_out_token(token)
            assert found is not None and found.pk == message.pk
        out[name] = LINK.sub("<opt-out>", out[name])
    out["not_before"] = "now" if message.not_before == message.created_at else message.not_before
    out["next_attempt_at"] = message.next_attempt_at == message.not_before
    return out


@pytest.fixture
def cases(world):
    """(name, item arguments without the dedup key, what the message must be) for every rule of ``message_enqueue``."""
    a, b = world.a, world.b
    quiet_end = quiet_now(a)
    no_quiet_hours(b)
    sms = CustomerFactory(home_store=a, name="张伟", title="mr")
    no_email = CustomerFactory(home_store=a, name="李娜", title="ms", preferred_channel=Channel.EMAIL)
    wechat = CustomerFactory(home_store=b, name="王芳", preferred_channel=Channel.WECHAT, wechat_openid="o-123")
    english = CustomerFactory(home_store=b, name="Lee", language="en", email="lee@example.com", preferred_channel=Channel.EMAIL)
    consenting = CustomerFactory(home_store=a, name="赵敏")
    grant(consenting, Channel.SMS, world.manager)
    opted_out = CustomerFactory(home_store=a, name="钱进")
    grant(opted_out, Channel.SMS, world.manager)
    consent_opt_out(customer=opted_out, channel=Channel.SMS, note="reply")
    email_only = CustomerFactory(home_store=b, name="孙丽", email="sl@example.com")  # consent on e-mail, message on SMS
    grant(email_only, Channel.EMAIL, world.manager)
    grant(english, Channel.EMAIL, world.manager)
    staff_no_phone = make_staff("service_advisor", a)
    staff_no_phone.phone = ""
    staff_no_phone.save()
    cfg = channel_settings(b)
    cfg.webhook_url, cfg.webhook_secret = "https://hooks.example.invalid/x", "s3cret"
    cfg.save()
    # a store override (store A, SMS, zh-hans) and a group default (every store, e-mail, English) of care.birthday
    MessageTemplate.objects.create(group=world.group, store=a, kind="care.birthday", channel=Channel.SMS, language="zh-hans",
                                   body="A店生日：{{ greeting }} {{ offer }}", provider_template_code="SMS_1")
    MessageTemplate.objects.create(group=world.group, store=None, kind="care.birthday", channel=Channel.EMAIL, language="en",
                                   subject="Happy birthday, {{ greeting }}", body="Group text: {{ offer }}")
    later = timezone.now() + dt.timedelta(hours=3)
    return [
        ("service to the preferred SMS", {"kind": "customer.welcome", "store": a, "customer": sms,
                                          "variables": sample("customer.welcome")},
         {"channel": Channel.SMS, "status": MessageStatus.PENDING, "not_before": "now", "recipient": sms.mobile}),
        ("no e-mail: falls back to SMS", {"kind": "customer.welcome", "store": a, "customer": no_email,
                                          "variables": sample("customer.welcome")},
         {"channel": Channel.SMS, "status": MessageStatus.PENDING, "recipient": no_email.mobile}),
        ("WeChat with an OpenID", {"kind": "repair.ready", "store": b, "customer": wechat, "variables": sample("repair.ready")},
         {"channel": Channel.WECHAT, "recipient": "o-123", "status": MessageStatus.PENDING}),
        ("marketing without consent: suppressed", {"kind": "care.birthday", "store": b, "customer": wechat,
                                                   "variables": sample("care.birthday")},
         {"status": MessageStatus.SUPPRESSED, "channel": Channel.WECHAT}),
        ("marketing with consent, in quiet hours", {"kind": "care.birthday", "store": a, "customer": consenting,
                                                    "variables": sample("care.birthday")},
         {"status": MessageStatus.PENDING, "provider_template_code": "SMS_1", "quiet_end": quiet_end}),
        ("marketing after an opt-out: suppressed", {"kind": "care.birthday", "store": a, "customer": opted_out,
                                                    "variables": sample("care.birthday")},
         {"status": MessageStatus.SUPPRESSED, "quiet_end": quiet_end}),
        ("consent on another channel: suppressed", {"kind": "care.anniversary", "store": b, "customer": email_only,
                                                    "variables": sample("care.anniversary")},
         {"status": MessageStatus.SUPPRESSED, "channel": Channel.SMS, "not_before": "now"}),
        ("English e-mail marketing: group text and link", {"kind": "care.birthday", "store": b, "customer": english,
                                                           "variables": sample("care.birthday")},
         {"status": MessageStatus.PENDING, "language": "en", "channel": Channel.EMAIL, "link": True,
          "subject": "Happy birthday, 张先生"}),
        ("explicit language and not_before", {"kind": "repair.ready", "store": a, "customer": sms, "language": "en",
                                              "variables": sample("repair.ready"), "not_before": later},
         {"language": "en", "not_before": later}),
        ("unknown language: Chinese", {"kind": "repair.ready", "store": a, "customer": sms, "language": "fr",
                                       "variables": sample("repair.ready")}, {"language": "zh-hans"}),
        ("staff task in the app", {"kind": "staff.task", "store": a, "staff_user": world.advisor, "channel": Channel.APP,
                                   "variables": sample("staff.task")},
         {"recipient": f"user:{world.advisor.pk}", "status": MessageStatus.PENDING}),
        ("staff without a phone: failed", {"kind": "staff.task", "store": a, "staff_user": staff_no_phone,
                                           "channel": Channel.SMS, "variables": sample("staff.task")},
         {"status": MessageStatus.FAILED, "recipient": ""}),
        ("webhook of the store", {"kind": "staff.task", "store": b, "channel": Channel.WEBHOOK,
                                  "variables": sample("staff.task")},
         {"recipient": "https://hooks.example.invalid/x", "status": MessageStatus.PENDING}),
        ("webhook without a URL: failed", {"kind": "staff.task", "store": a, "channel": Channel.WEBHOOK,
                                           "variables": sample("staff.task")},
         {"status": MessageStatus.FAILED, "last_error": gettext("No address for this channel.")}),
    ]


def check(name: str, store: Any, got: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if key == "quiet_end":
            assert timezone.localtime(got["not_before"], store.zone).time() == value, name
        elif key == "link":
            assert ("<opt-out>" in got["body"]) is value, name
        else:
            assert got[key] == value, (name, key, got[key])


def test_a_batch_gives_each_message_exactly_what_message_enqueue_gives(world, cases):
    singles = [message_enqueue(dedup_key=f"single:{i}", **args) for i, (_name, args, _exp) in enumerate(cases)]
    batch = message_enqueue_many(items=[OutgoingMessage(dedup_key=f"batch:{i}", **args) for i, (_n, args, _e) in enumerate(cases)])
    assert all(isinstance(m, Message) for m in batch)
    assert len({m.pk for m in batch if isinstance(m, Message)}) == len(cases)
    for (name, args, expected), single, many in zip(cases, singles, batch, strict=True):
        assert isinstance(many, Message)
        got = row(many)
        assert got == row(single), name
        check(name, args["store"], got, expected)


def test_the_opt_out_link_names_each_messages_own_id(world, cases):
    english = next(args for name, args, _e in cases if name.startswith("English"))
    messages = message_enqueue_many(items=[OutgoingMessage(dedup_key=f"link:{i}", **english) for i in range(3)])
    for m in messages:
        assert isinstance(m, Message)
        body = Message.objects.get(pk=m.pk).body
        (token,) = LINK.findall(body)
        assert opt_out_link(m.pk).rsplit("/m/o/", 1)[0] + f"/m/o/{token}/" in body
        found = message_from_opt_out_token(token)
        assert found is not None and found.pk == m.pk


def test_dedup_within_the_batch_and_against_the_table(world):
    customer = CustomerFactory(home_store=world.a)
    old = message_enqueue(kind="customer.welcome", store=world.a, customer=customer, variables=sample("customer.welcome"),
                          dedup_key="welcome:old")

    def item(key: str, **kw: Any) -> OutgoingMessage:
        args = {"kind": "customer.welcome", "store": world.a, "customer": customer, "variables": sample("customer.welcome")}
        return OutgoingMessage(dedup_key=key, **{**args, **kw})

    out = message_enqueue_many(items=[
        item("welcome:old", kind="no.such.kind"),  # already queued: returned as is, never validated (as message_enqueue)
        item("welcome:new", variables=sample("customer.welcome", greeting="第一")),
        item("welcome:new", variables=sample("customer.welcome", greeting="第二")),  # the first one wins
    ])
    assert isinstance(out[0], Message) and out[0].pk == old.pk
    assert isinstance(out[1], Message) and isinstance(out[2], Message) and out[1].pk == out[2].pk
    assert "第一" in Message.objects.get(pk=out[1].pk).body
    assert Message.objects.count() == 2
    again = message_enqueue_many(items=[item("welcome:new"), item("welcome:old")])
    assert [m.pk for m in again if isinstance(m, Message)] == [out[1].pk, old.pk] and Message.objects.count() == 2


def test_a_refused_item_raises_and_writes_nothing_or_is_skipped(world):
    customer = CustomerFactory(home_store=world.a)
    good = OutgoingMessage(kind="customer.welcome", store=world.a, customer=customer, variables=sample("customer.welcome"),
                           dedup_key="good")
    missing = OutgoingMessage(kind="customer.welcome", store=world.a, customer=customer, variables={}, dedup_key="bad")
    nobody = OutgoingMessage(kind="customer.welcome", store=world.a, variables=sample("customer.welcome"), dedup_key="x")
    with pytest.raises(ValidationFailed) as refused:
        message_enqueue_many(items=[good, missing])
    assert refused.value.code == "message_missing_variable" and Message.objects.count() == 0
    with pytest.raises(ValidationFailed) as single:
        message_enqueue(kind="customer.welcome", store=world.a, customer=customer, variables={}, dedup_key="bad")
    assert single.value.code == refused.value.code
    fixed = OutgoingMessage(kind="customer.welcome", store=world.a, customer=customer, variables=sample("customer.welcome"),
                            dedup_key="bad")
    out = message_enqueue_many(items=[good, missing, nobody, fixed], skip_invalid=True)
    assert isinstance(out[0], Message)
    assert isinstance(out[1], DomainError) and out[1].code == "message_missing_variable"
    assert isinstance(out[2], DomainError) and out[2].code == "recipient_required"
    assert isinstance(out[3], Message) and out[3].dedup_key == "bad"  # the refused first one did not claim its key
    assert Message.objects.count() == 2


def test_one_nudge_per_distinct_wait_after_commit(world, monkeypatch, django_capture_on_commit_callbacks):
    calls: list[float] = []
    monkeypatch.setattr(services, "nudge_dispatcher", lambda countdown=0.0: calls.append(countdown))
    customers = [CustomerFactory(home_store=world.a) for _ in range(3)]
    later = timezone.now() + dt.timedelta(minutes=10)
    items = [OutgoingMessage(kind="repair.ready", store=world.a, customer=c, variables=sample("repair.ready"),
                             dedup_key=f"r:{c.pk}:{w}", not_before=later if w else None) for c in customers for w in (0, 1)]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message_enqueue_many(items=items)
        assert calls == []
    assert len(calls) == 2 and calls[0] == 0.0 and 590 < calls[1] <= 600


def _batch(world: Any, n: int, tag: str) -> list[OutgoingMessage]:
    out = []
    for i in range(n):
        store = world.a if i % 2 else world.b
        customer = CustomerFactory(home_store=store, language="en" if i % 3 == 0 else "zh-hans",
                                   preferred_channel=Channel.EMAIL if i % 4 == 0 else Channel.SMS, email=f"c{i}@example.com")
        if i % 5 == 0:
            grant(customer, Channel.SMS, world.manager)
            grant(customer, Channel.EMAIL, world.manager)
        kind = ("care.birthday", "maintenance.due", "care.recall")[i % 3]
        out.append(OutgoingMessage(kind=kind, store=store, customer=customer, variables=sample(kind), dedup_key=f"{tag}:{i}"))
    return out


def _queries(items: list[OutgoingMessage]) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        message_enqueue_many(items=items)
    return [q["sql"] for q in ctx.captured_queries]


def _writes(n: int) -> tuple[int, int]:
    """How many INSERT and (at most) UPDATE statements the backend needs for ``n`` rows (SQLite: 999 parameters each)."""
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    objs = [Message()] * n
    per_insert = connection.ops.bulk_batch_size(fields, objs)
    per_update = (connection.features.max_query_params or n * 3) // 3  # common.bulk.update_rows: id, subject, body
    return math.ceil(n / per_insert), math.ceil(n / per_update)


def test_the_number_of_queries_does_not_grow_with_the_batch(world):
    channel_settings(world.a), channel_settings(world.b)
    message_enqueue_many(items=_batch(world, 3, "warm"))
    reads = {}
    for n in (5, 40, 300):
        queries = _queries(_batch(world, n, f"n{n}"))
        writes = [q for q in queries if q.startswith(("INSERT", "UPDATE"))]
        reads[n] = [re.sub(r'"s\w+_x\d+"', "sp", q.split(" WHERE ")[0]) for q in queries if not q.startswith(("INSERT", "UPDATE"))]
        inserts, updates = _writes(n)
        assert len([q for q in writes if q.startswith("INSERT")]) == inserts
        assert 1 <= len([q for q in writes if q.startswith("UPDATE")]) <= updates  # the e-mails' opt-out links
        assert Message.objects.filter(dedup_key__startswith=f"n{n}:").count() == n
    # savepoints, the dedup query, templates, consents, channel settings: the same statements for 5, 40 or 300
    assert reads[5] == reads[40] == reads[300] and len(reads[5]) <= 8, reads[5]
    if connection.vendor == "postgresql":
        assert _writes(300) == (1, 1)  # one INSERT and one UPDATE whatever the size


def test_a_key_queued_meanwhile_by_another_transaction_is_taken_and_the_rest_written(world, cases):
    """While the batch renders its messages another transaction queues one of its keys (simulated: the row is written
    just before the batch's INSERT … ON CONFLICT DO NOTHING): the batch takes that message and writes the others,
    each marketing text with the opt-out link of its own (new) id."""
    english = next(args for name, args, _e in cases if name.startswith("English"))
    items = [OutgoingMessage(dedup_key=f"race:{i}", **english) for i in range(3)]
    state = {"done": False}
    other: list[Message] = []

    def meanwhile(execute, sql, params, many, context):
        if not state["done"] and sql.startswith("INSERT") and '"messaging_message"' in sql.split("(")[0]:
            state["done"] = True
            other.append(message_enqueue(dedup_key="race:1", **english))  # "the other transaction"
        return execute(sql, params, many, context)

    with connection.execute_wrapper(meanwhile):
        out = message_enqueue_many(items=items)
    assert state["done"] and len(other) == 1
    assert [isinstance(m, Message) for m in out] == [True, True, True]
    assert out[1].pk == other[0].pk  # type: ignore[union-attr]
    assert Message.objects.filter(dedup_key__startswith="race:").count() == 3
    for m in out:
        assert isinstance(m, Message)
        (token,) = LINK.findall(Message.objects.get(pk=m.pk).body)
        found = message_from_opt_out_token(token)
        assert found is not None and found.pk == m.pk
