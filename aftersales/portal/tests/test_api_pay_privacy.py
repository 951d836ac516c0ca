"""/api/portal/ for paying (vouchers, points, the provider's prepay), rating and my data: the owner's own session
only; another owner's order, invoice or survey is a 404; bad input names the field; nothing half-saved."""

from __future__ import annotations

import urllib.request

import pytest

from aftersales.billing.models import OnlinePayment, Payment
from aftersales.billing.services import merchant_account_save
from aftersales.billing.tests.provider_fakes import FakeAlipay
from aftersales.common.tests.api_helpers import PUBLIC_ENDPOINTS, fill
from aftersales.customers.models import Consent
from aftersales.feedback.models import FollowUp
from aftersales.loyalty.services import points_adjust, voucher_issue
from aftersales.loyalty.tests.factories import customer_at, make_invoice, template
from aftersales.portal.models import DeletionRequest

from .conftest import sign_in

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
NEW = [e for e in PUBLIC_ENDPOINTS if "/pay" in e[1] or "/payments/" in e[1] or "/rate" in e[1] or "/privacy" in e[1]]


@pytest.fixture
def two(world):
    mine = customer_at(world.a, name="王芳", mobile="+8613900000111")
    theirs = customer_at(world.a, name="赵磊", mobile="+8613900000222")
    points_adjust(actor=world.manager, customer=mine, store=world.a, points=20000, reason="welcome", idempotency_key="w1")
    voucher = voucher_issue(actor=world.manager, customer=mine, store=world.a, template=template(world.group), reason="gift")
    return mine, theirs, voucher, make_invoice(world.a, mine), make_invoice(world.a, theirs)


def test_every_new_endpoint_wants_the_owners_session(client, world):
    assert len(NEW) == 13  # the pay, rate and privacy endpoints, and the accessories shop order's pay
    client.force_login(world.manager)  # a staff session is not an owner
    for method, path in NEW:
        response = getattr(client, method)(fill(path), content_type="application/json")
        assert response.status_code == 401, (method, path, response.status_code)


def test_pay_with_a_voucher_and_points_then_online(client, world, two, settings):
    mine, _theirs, voucher, invoice, their_invoice = two
    fake = FakeAlipay().start()
    settings.ALIPAY_GATEWAY = fake.gateway
    try:
        merchant_account_save(actor=world.manager, store=world.a, provider="alipay", data=fake.merchant_fields())
        sign_in(client, mine)
        base = f"/api/portal/orders/{invoice.order_id}/pay"
        view = client.get(base, HTTP_USER_AGENT=PHONE).json()
        assert view["balance"] == "1000.00" and view["points"] == 20000 and view["max_points"] == 20000
        assert [v["code"] for v in view["vouchers"]] == [voucher.code]
        assert [c["channel"] for c in view["channels"]] == ["alipay_wap"]
        used = client.post(f"{base}/voucher", {"voucher": voucher.pk, "idempotency_key": "v1"}, content_type="application/json")
        assert used.status_code == 201 and used.json() == {"method": "voucher", "amount": "50.00", "balance": "950.00"}
        bad = client.post(f"{base}/points", {"points": 999999, "idempotency_key": "p1"}, content_type="application/json")
        assert bad.status_code == 422 and bad.json()["field"] == "points"
        ok = client.post(f"{base}/points", {"points": 5000, "idempotency_key": "p2"}, content_type="application/json")
        assert ok.status_code == 201 and ok.json()["balance"] == "900.00"
        wrong = client.post(f"{base}", {"channel": "wechat_h5"}, content_type="application/json", HTTP_USER_AGENT=PHONE)
        assert wrong.status_code == 422 and wrong.json()["field"] == "channel"
        started = client.post(base, {"channel": "alipay_wap"}, content_type="application/json", HTTP_USER_AGENT=PHONE)
        assert started.status_code == 201, started.content
        prepay = started.json()
        assert prepay["kind"] == "redirect" and prepay["url"].startswith(fake.gateway) and prepay["amount"] == "900.00"
        urllib.request.urlopen(prepay["url"], timeout=15).read()  # noqa: S310 (the payer opens the local fake's cashier)
        fake.pay(prepay["out_trade_no"], notify=False)  # the notification is lost: the status call asks Alipay
        status = client.get(f"/api/portal/orders/{invoice.order_id}/payments/{prepay['out_trade_no']}")
        assert status.status_code == 200, status.content
        status = status.json()
        assert status["status"] == "paid"
        invoice.refresh_from_db()
        assert invoice.status == "paid" and Payment.objects.filter(invoice=invoice).count() == 3
        # another owner's invoice and payment are not found
        other = f"/api/portal/orders/{their_invoice.order_id}/pay"
        assert client.get(other).status_code == 404
        assert client.post(other, {"channel": "alipay_wap"}, content_type="application/json", HTTP_USER_AGENT=PHONE).status_code == 404
        assert client.post(f"{other}/points", {"points": 100, "idempotency_key": "x"}, content_type="application/json").status_code == 404
        assert client.post(f"{other}/voucher", {"voucher": voucher.pk, "idempotency_key": "y"}, content_type="application/json").status_code == 404
        assert client.get(f"/api/portal/orders/{their_invoice.order_id}/payments/{prepay['out_trade_no']}").status_code == 404
        assert not OnlinePayment.objects.filter(invoice=their_invoice).exists()
    finally:
        fake.stop()


def test_rate_through_the_api_once(client, world, two):
    from aftersales.feedback.services import followup_create_for_order

    mine, _theirs, _voucher, invoice, their_invoice = two
    followup_create_for_order(order=invoice.order)
    followup_create_for_order(order=their_invoice.order)
    sign_in(client, mine)
    url = f"/api/portal/orders/{invoice.order_id}/rate"
    assert client.get(url).json()["state"] == "open"
    bad = client.post(url, {"attitude": 11, "quality": 9, "waiting": 8, "price": 12, "recommend": 10},
                      content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "attitude"
    assert FollowUp.objects.get(order=invoice.order).status == "open"
    scores = {"overall": 9, "attitude": 10, "quality": 9, "waiting": 8, "price": 9, "recommend": 10, "suggestions": "好"}
    ok = client.post(url, scores, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["state"] == "answered" and ok.json()["scores"]["attitude"] == 10
    assert client.post(url, scores, content_type="application/json").status_code == 409
    other = f"/api/portal/orders/{their_invoice.order_id}/rate"
    assert client.get(other).status_code == 404
    assert client.post(other, scores, content_type="application/json").status_code == 404
    assert FollowUp.objects.get(order=their_invoice.order).status == "open"


def test_my_data_through_the_api(client, world, two):
    mine, theirs, *_rest = two
    sign_in(client, mine)
    data = client.get("/api/portal/privacy").json()
    assert len(data["consents"]) == 10 and data["deletion"] is None and data["retained"]
    changed = client.put("/api/portal/privacy/consents", {"consents": [
        {"purpose": "marketing", "channel": "sms", "granted": False}]}, content_type="application/json")
    assert changed.status_code == 200
    assert Consent.objects.filter(customer=mine, purpose="marketing", channel="sms", granted=False).exists()
    bad = client.put("/api/portal/privacy/consents", {"consents": [{"purpose": "spy", "channel": "sms", "granted": True}]},
                     content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "consent"
    quiet = client.put("/api/portal/privacy/quiet-hours", {"quiet_start": "21:00", "quiet_end": ""}, content_type="application/json")
    assert quiet.status_code == 422 and quiet.json()["field"] == "quiet_end"
    quiet = client.put("/api/portal/privacy/quiet-hours", {"quiet_start": "21:00", "quiet_end": "08:00"}, content_type="application/json")
    assert quiet.json()["quiet_start"] == "21:00"
    export = client.get("/api/portal/privacy/export").json()
    assert export["invoices"] and "赵磊" not in str(export)
    asked = client.post("/api/portal/privacy/deletion-request", {"reason": "不再用车"}, content_type="application/json")
    assert asked.status_code == 201 and asked.json()["deletion"]["status"] == "requested"
    client.post("/api/portal/privacy/deletion-request", {}, content_type="application/json")
    assert DeletionRequest.objects.filter(customer=mine).count() == 1
    assert not DeletionRequest.objects.filter(customer=theirs).exists()
    assert not Consent.objects.filter(customer=theirs).exists()
