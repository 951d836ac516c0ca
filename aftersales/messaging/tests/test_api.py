"""Messaging API: authentication, scoping, permissions, templates, preview, re-run and the SMS reply callback."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.customers.models import Consent
from aftersales.customers.services import customer_create
from aftersales.messaging.choices import Channel, MessageStatus, Purpose
from aftersales.messaging.models import MessageTemplate

from .test_views import make_message

INBOUND = "/api/messaging/sms/inbound"


@pytest.fixture
def zhang(world):
    return customer_create(actor=world.advisor, store=world.a, name="张伟", mobile="13812345678", title="mr")


def test_endpoints_require_authentication(world, zhang):
    message = make_message(world, zhang)
    api = Client()
    for method, url in [("get", "/api/messaging/messages"), ("get", f"/api/messaging/messages/{message.pk}"),
                        ("post", f"/api/messaging/messages/{message.pk}/retry"), ("get", "/api/messaging/templates"),
                        ("put", "/api/messaging/templates"), ("post", "/api/messaging/templates/preview")]:
        response = getattr(api, method)(url, content_type="application/json")
        assert response.status_code == 401, url
        assert response.json()["code"] == "unauthenticated"


def test_list_is_scoped_paginated_and_filtered(client, world, zhang):
    make_message(world, zhang, status=MessageStatus.FAILED)
    make_message(world, zhang, status=MessageStatus.SENT, channel=Channel.EMAIL)
    other = customer_create(actor=world.advisor_b, store=world.b, name="王芳", mobile="13912345678", title="ms")
    theirs = make_message(world, other, store=world.b)
    client.force_login(world.advisor)
    data = client.get("/api/messaging/messages").json()
    assert data["count"] == 2 and all(m["store_id"] == world.a.pk for m in data["items"])
    assert client.get("/api/messaging/messages", {"status": "failed"}).json()["count"] == 1
    assert client.get("/api/messaging/messages", {"channel": "email"}).json()["items"][0]["channel"] == "email"
    response = client.get(f"/api/messaging/messages/{theirs.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    client.force_login(world.technician)
    assert client.get("/api/messaging/messages").status_code == 403


def test_detail_and_retry(client, world, zhang):
    message = make_message(world, zhang, status=MessageStatus.FAILED)
    message.delivery_attempts.create(number=1, outcome="failed", error="bad number")
    client.force_login(world.advisor)
    detail = client.get(f"/api/messaging/messages/{message.pk}").json()
    assert detail["delivery_attempts"][0]["error"] == "bad number" and detail["kind_label"]
    assert client.post(f"/api/messaging/messages/{message.pk}/retry").status_code == 403
    client.force_login(world.manager)
    response = client.post(f"/api/messaging/messages/{message.pk}/retry")
    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert response.json()["events"][-1]["to_state"] == "pending"
    response = client.post(f"/api/messaging/messages/{message.pk}/retry")  # pending cannot be re-run
    assert response.status_code == 409 and response.json()["code"] == "illegal_transition"
    client.force_login(world.manager_b)
    assert client.post(f"/api/messaging/messages/{message.pk}/retry").status_code == 404


def test_templates_save_list_and_preview(client, world):
    client.force_login(world.manager)
    payload = {"kind": "repair.ready", "channel": "sms", "language": "zh-hans", "body": "{{ greeting }}：{{ nickname }}",
               "store_id": world.a.pk}
    response = client.put("/api/messaging/templates", payload, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["field"] == "body" and response.json()["code"] == "template_unknown_variable"
    assert MessageTemplate.objects.count() == 0
    payload["body"] = "{{ greeting }}：{{ plate }} 好了"
    response = client.put("/api/messaging/templates", payload, content_type="application/json")
    assert response.status_code == 200 and response.json()["store_id"] == world.a.pk
    payload["body"] = "{{ greeting }}：{{ plate }} 修好了"
    assert client.put("/api/messaging/templates", payload, content_type="application/json").status_code == 200
    assert MessageTemplate.objects.get().body.endswith("修好了")  # updated, not a second row
    # the group default is the group admin's; another store is not yours
    group = {**payload, "store_id": None}
    assert client.put("/api/messaging/templates", group, content_type="application/json").status_code == 403
    other = {**payload, "store_id": world.b.pk}
    assert client.put("/api/messaging/templates", other, content_type="application/json").status_code == 404
    MessageTemplate.objects.create(group=world.group, store=world.b, kind="repair.ready", channel="sms", language="en", body="B")
    items = client.get("/api/messaging/templates").json()["items"]
    assert [t["store_id"] for t in items] == [world.a.pk]
    response = client.post("/api/messaging/templates/preview", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans",
                                                               "body": "{{ greeting }}：{{ plate }}"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["body"] == "张先生：粤B12345"
    response = client.post("/api/messaging/templates/preview", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans",
                                                               "body": "{{ plate", "subject": ""}, content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "template_syntax"
    client.force_login(world.advisor)
    assert client.get("/api/messaging/templates").status_code == 403
    assert client.put("/api/messaging/templates", payload, content_type="application/json").status_code == 403


@pytest.fixture
def secret(settings):
    settings.MESSAGING_INBOUND_SECRET = "s3cret-inbound"
    return "s3cret-inbound"


@pytest.mark.parametrize("text", ["TD", " td ", "T", "n", "退订", "Stop", "UNSUBSCRIBE"])
def test_reply_keyword_opts_out_of_marketing_sms(world, zhang, secret, text):
    marketing = make_message(world, zhang, kind="campaign.offer", purpose=Purpose.MARKETING)
    api = Client()
    response = api.post(INBOUND, {"mobile": "138 1234 5678", "text": text}, content_type="application/json",
                        HTTP_X_INBOUND_SECRET=secret)
    assert response.status_code == 200 and response.json() == {"opted_out": True}
    consent = Consent.objects.get(customer=zhang, granted=False)
    assert (consent.purpose, consent.channel, consent.source) == ("marketing", "sms", "opt_out")
    assert f"#{marketing.pk}" in consent.note


def test_reply_other_text_and_secret_checks(world, zhang, secret):
    api = Client()
    response = api.post(f"{INBOUND}?secret={secret}", {"mobile": "+8613812345678", "text": "谢谢，收到"},
                        content_type="application/json")
    assert response.status_code == 200 and response.json() == {"opted_out": False}
    for bad in [{}, {"HTTP_X_INBOUND_SECRET": "wrong"}]:
        response = api.post(INBOUND, {"mobile": "13812345678", "text": "TD"}, content_type="application/json", **bad)
        assert response.status_code == 403 and response.json()["code"] == "bad_secret"
    assert Consent.objects.filter(customer=zhang, granted=False).count() == 0
    # an unknown number is answered, nothing recorded
    response = api.post(INBOUND, {"mobile": "13900000000", "text": "TD"}, content_type="application/json",
                        HTTP_X_INBOUND_SECRET=secret)
    assert response.json() == {"opted_out": False}


def test_inbound_refused_when_no_secret_configured(world, zhang, settings):
    settings.MESSAGING_INBOUND_SECRET = ""
    response = Client().post(INBOUND, {"mobile": "13812345678", "text": "TD"}, content_type="application/json",
                             HTTP_X_INBOUND_SECRET="")
    assert response.status_code == 403
