"""The reviews mailed to the managers who subscribe: once per period (outbox dedup), in the manager's language,
through SMTP to a real local server, with signed links that serve the manager's scope and expire."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from aftersales.analytics import mailing
from aftersales.analytics.models import ReviewSubscription
from aftersales.common.errors import DomainError
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import make_staff
from aftersales.messaging import dispatch
from aftersales.messaging.models import Message
from aftersales.messaging.tests.local_servers import SmtpSink
from aftersales.staff.models import StoreMembership
from aftersales.staff.roles import Role, sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db
NOW = f.at("2026-12-05", "07:00")


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(name="广州店")
    sz = f.store(group=gz.group, name="深圳店")
    far = f.store(name="Other group")
    o = f.order(gz, opened=f.at("2026-11-10"), delivered=f.at("2026-11-10", "15:00"))
    f.invoice(o, total="300")
    manager = make_staff(Role.STORE_MANAGER, gz, email="li.manager@example.com", language="en")
    admin = make_staff(Role.GROUP_ADMIN, gz, email="admin@example.com", language="zh-hans")
    return {"gz": gz, "sz": sz, "far": far, "manager": manager, "admin": admin}


@pytest.fixture
def smtp(settings):
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    yield sink
    sink.close()


def test_subscription_is_scoped_and_audited(world):
    sub = mailing.subscription_save(actor=world["manager"], store=world["gz"], monthly=True, quarterly=False, yearly=False)
    assert AuditEvent.objects.filter(action="analytics.review_subscription", object_id=str(sub.pk)).exists()
    with pytest.raises(DomainError) as exc:
        mailing.subscription_save(actor=world["manager"], store=world["sz"], monthly=True, quarterly=True, yearly=True)
    assert exc.value.field == "store"
    with pytest.raises(DomainError):  # a store manager cannot take the group's reviews
        mailing.subscription_save(actor=world["manager"], store=None, monthly=True, quarterly=True, yearly=True)
    mailing.subscription_save(actor=world["admin"], store=None, monthly=True, quarterly=True, yearly=True)
    assert ReviewSubscription.objects.count() == 2


def test_due_reviews_are_queued_once_in_the_managers_language(world):
    mailing.subscription_save(actor=world["manager"], store=world["gz"], monthly=True, quarterly=True, yearly=False)
    mailing.subscription_save(actor=world["admin"], store=None, monthly=True, quarterly=False, yearly=True)
    assert mailing.mail_due_reviews(now=NOW) == 4
    assert mailing.mail_due_reviews(now=NOW) == 4  # the same four, found by their dedup keys
    msgs = {m.dedup_key: m for m in Message.objects.filter(kind="analytics.review")}
    assert len(msgs) == 4
    monthly = msgs[f"analytics.review:{world['manager'].pk}:{world['gz'].pk}:monthly:2026-11"]
    assert monthly.channel == "email" and monthly.recipient == "li.manager@example.com" and monthly.language == "en"
    assert "Monthly review" in monthly.body and "2026-11" in monthly.body and "广州店" in monthly.body
    assert f"analytics.review:{world['manager'].pk}:{world['gz'].pk}:quarterly:2026-Q3" in msgs
    group_yearly = msgs[f"analytics.review:{world['admin'].pk}:group:yearly:2025"]
    assert group_yearly.language == "zh-hans" and "年度" in group_yearly.body and "全集团" in group_yearly.body


def test_nothing_for_a_manager_who_left_the_store_or_has_no_address(world):
    mailing.subscription_save(actor=world["manager"], store=world["gz"], monthly=True, quarterly=True, yearly=True)
    StoreMembership.objects.filter(user=world["manager"]).delete()
    assert mailing.mail_due_reviews(now=NOW) == 0
    world["admin"].email = ""
    world["admin"].save()
    mailing.subscription_save(actor=world["admin"], store=world["gz"], monthly=True, quarterly=True, yearly=True)
    assert mailing.mail_due_reviews(now=NOW) == 0


def test_mailed_through_smtp_and_the_signed_links_serve_the_review(world, smtp, client, clock):
    clock("2026-12-05 07:00")
    mailing.subscription_save(actor=world["manager"], store=world["gz"], monthly=True, quarterly=False, yearly=False)
    assert mailing.mail_due_reviews() == 1
    dispatch.dispatch_due()
    m = Message.objects.get(kind="analytics.review")
    assert m.status == "sent", m.last_error
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["li.manager@example.com"]
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert parsed["Subject"] == "Your management review is ready"
    links = re.findall(r"https?://\S+/cockpit/reviews/m/[^/\s]+/", parsed.get_content())
    assert len(links) == 2
    xlsx = client.get("/" + links[0].split("://", 1)[1].split("/", 1)[1])
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "review-monthly-2026-11.xlsx" in xlsx["Content-Disposition"]
    pdf = client.get("/" + links[1].split("://", 1)[1].split("/", 1)[1])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    path = "/" + links[0].split("://", 1)[1].split("/", 1)[1]
    assert client.get(path.replace("/m/", "/m/x")).status_code == 404  # tampered
    StoreMembership.objects.filter(user=world["manager"]).delete()
    assert client.get(path).status_code in (403, 404)  # served as the manager, who no longer sees the store
    clock("2026-12-20 07:00")
    r = client.get(path)
    assert r.status_code == 410 and "此链接已过期" in r.content.decode()  # the visitor is not signed in: the default language


def test_subscription_page(world, client):
    client.force_login(world["manager"])
    r = client.get("/cockpit/reviews/subscription/")
    assert r.status_code == 200 and "广州店" in r.content.decode() and "深圳店" not in r.content.decode()
    r = client.post("/cockpit/reviews/subscription/", {"store": world["gz"].pk, "monthly": "1"})
    assert r.status_code == 302
    sub = ReviewSubscription.objects.get(user=world["manager"])
    assert (sub.monthly, sub.quarterly, sub.yearly) == (True, False, False)
    assert client.post("/cockpit/reviews/subscription/", {"store": world["far"].pk, "monthly": "1"}).status_code == 404
    r = client.post("/cockpit/reviews/subscription/", {"store": "group", "monthly": "1"})
    assert r.status_code == 422
    advisor = make_staff(Role.SERVICE_ADVISOR, world["gz"])
    client.force_login(advisor)
    assert client.get("/cockpit/reviews/subscription/").status_code == 403
