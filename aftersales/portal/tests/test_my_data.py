"""My data (PIPL) in the owner app: consents per channel and purpose, my quiet hours (the dispatcher honours them),
download my data, ask for deletion (staff queue applies it with the legal exceptions), delete my app account."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from aftersales.customers.models import Consent, Customer
from aftersales.portal.models import DeletionRequest, SignInCode

from .conftest import sign_in

pytestmark = pytest.mark.django_db


def test_consents_per_channel_and_purpose(client, owners):
    sign_in(client, owners.zhang)
    page = client.get("/app/privacy/")
    assert page.status_code == 200 and 'data-testid="consent-marketing-sms"' in page.content.decode()
    response = client.post("/app/privacy/", {"action": "consents", "service:sms": "on", "marketing:wechat": "on"})
    assert response.status_code == 302
    latest = {(c.purpose, c.channel): c.granted for c in Consent.objects.filter(customer=owners.zhang).order_by("at", "id")}
    assert latest[("service", "sms")] is True and latest[("marketing", "wechat")] is True
    assert latest[("marketing", "sms")] is False and all(
        c.source == "portal" for c in Consent.objects.filter(customer=owners.zhang))
    count = Consent.objects.count()
    client.post("/app/privacy/", {"action": "consents", "service:sms": "on", "marketing:wechat": "on"})
    assert Consent.objects.count() == count  # nothing changed, nothing written
    assert 'checked' in client.get("/app/privacy/").content.decode()


def test_quiet_hours_bad_input_named_and_the_dispatcher_defers(client, owners, clock):
    sign_in(client, owners.zhang)
    bad = client.post("/app/privacy/", {"action": "quiet", "quiet_start": "25:99", "quiet_end": ""})
    text = bad.content.decode()
    assert bad.status_code == 422 and 'data-testid="error-quiet_start"' in text
    half = client.post("/app/privacy/", {"action": "quiet", "quiet_start": "", "quiet_end": "08:00"})
    assert half.status_code == 422 and 'data-testid="error-quiet_start"' in half.content.decode()
    owners.zhang.refresh_from_db()
    assert owners.zhang.quiet_start is None
    assert client.post("/app/privacy/", {"action": "quiet", "quiet_start": "11:00", "quiet_end": "13:00"}).status_code == 302
    owners.zhang.refresh_from_db()
    assert (owners.zhang.quiet_start, owners.zhang.quiet_end) == (dt.time(11, 0), dt.time(13, 0))

    from aftersales.messaging.choices import AttemptOutcome
    from aftersales.messaging.dispatch import send_batch
    from aftersales.messaging.models import ChannelSettings

    ChannelSettings.objects.update_or_create(store=owners.store, defaults={"quiet_start": dt.time(0, 0),
                                                                           "quiet_end": dt.time(0, 0)})
    client.post("/app/privacy/", {"action": "consents", "marketing:app": "on"})
    from aftersales.messaging.models import Message

    message = Message.objects.create(group=owners.store.group, store=owners.store, customer=owners.zhang, channel="app",
                                     kind="customer.welcome",
                                     purpose="marketing", recipient=str(owners.zhang.pk), body="优惠", dedup_key="quiet-1",
                                     language="zh-hans")
    day = timezone.localtime(timezone.now(), owners.store.zone).date() + dt.timedelta(days=1)
    clock(f"{day.isoformat()} 12:00")
    (outcome,) = send_batch([Message.objects.select_related("store").get(pk=message.pk)])
    assert outcome.outcome == AttemptOutcome.DEFERRED
    assert timezone.localtime(outcome.retry_at, owners.store.zone).time() == dt.time(13, 0)
    clock(f"{day.isoformat()} 14:00")
    (outcome,) = send_batch([Message.objects.select_related("store").get(pk=message.pk)])
    assert outcome.outcome != AttemptOutcome.DEFERRED


def test_download_my_data_is_mine_only(client, owners):
    sign_in(client, owners.zhang)
    client.post("/app/feedback/", {"store": owners.store.code, "kind": "complaint", "text": "洗车不干净"})
    response = client.get("/app/privacy/my-data.json")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["customer"]["name"] == "张伟" and data["complaints"][0]["text"] == "洗车不干净"
    assert "李娜" not in response.content.decode()
    assert {"invoices", "payments", "appointments", "messages", "sign_ins", "consents", "vehicles"} <= set(data)
    assert Client().get("/app/privacy/my-data.json").status_code == 302  # not signed in: to the sign-in page


def test_deletion_request_goes_to_the_staff_queue_and_keeps_what_the_law_requires(client, owners, world):
    from aftersales.billing.models import Invoice

    sign_in(client, owners.zhang)
    assert client.post("/app/privacy/", {"action": "deletion", "reason": "不再用车"}).status_code == 302
    client.post("/app/privacy/", {"action": "deletion", "reason": "again"})
    request = DeletionRequest.objects.get(customer=owners.zhang)
    assert request.status == "requested" and 'data-testid="deletion-pending"' in client.get("/app/privacy/").content.decode()
    staff = Client()
    staff.force_login(world.advisor)
    assert staff.get("/privacy/deletions/").status_code == 403
    other = Client()
    other.force_login(world.manager_b)
    assert "张伟" not in other.get("/privacy/deletions/").content.decode()
    assert other.post("/privacy/deletions/", {"request": request.pk}).status_code == 404
    manager = Client()
    manager.force_login(world.manager)
    queue = manager.get("/privacy/deletions/")
    assert queue.status_code == 200 and "张伟" in queue.content.decode()
    invoices_before = Invoice.objects.filter(customer=owners.zhang).count()
    assert manager.post("/privacy/deletions/", {"request": request.pk}).status_code == 302
    person = Customer.objects.get(pk=owners.zhang.pk)
    assert person.anonymised_at and "张伟" not in person.name and person.mobile != owners.zhang.mobile
    assert person.email == "" and person.wechat_openid == ""
    assert Invoice.objects.filter(customer=person).count() == invoices_before  # kept (statutory)
    assert Consent.objects.filter(customer=person).count() == Consent.objects.filter(customer_id=person.pk).count()
    request.refresh_from_db()
    assert request.status == "done" and request.outcome
    assert client.get("/app/").status_code == 302  # the owner's session is over


def test_delete_my_app_account_ends_every_session(owners, clock):
    phone, tablet = Client(), Client()
    sign_in(phone, owners.zhang)
    # one code a minute per number: the second phone signs in two minutes later
    clock(timezone.localtime(timezone.now() + dt.timedelta(minutes=2), owners.store.zone).strftime("%Y-%m-%d %H:%M"))
    sign_in(tablet, owners.zhang, ip="10.0.0.2")
    refused = phone.post("/app/privacy/", {"action": "delete_account"})
    assert refused.status_code == 422 and 'data-testid="error-confirm"' in refused.content.decode()
    assert phone.post("/app/privacy/", {"action": "delete_account", "confirm": "on"}).status_code == 302
    assert phone.get("/app/").status_code == 302 and tablet.get("/app/").status_code == 302
    assert not SignInCode.objects.filter(customer=owners.zhang).exists()
    assert Customer.objects.filter(pk=owners.zhang.pk, anonymised_at__isnull=True).exists()  # the store's record stays
    again = Client()
    sign_in(again, owners.zhang, ip="10.0.0.3")  # a new account later
    assert again.get("/app/").status_code == 200
