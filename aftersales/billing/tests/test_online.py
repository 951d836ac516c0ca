"""Online payment from the customer's pay link, confirmed by a WeChat Pay v3 notification from a fake platform that
speaks the real protocol: verified, decrypted, recorded once (also under concurrent retries)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core import signing
from django.test import Client

from aftersales.billing.models import Invoice, OnlinePayment, Payment
from aftersales.billing.services import invoice_issue, pay_link_token, payment_record

from .fakes import FakeWeChatPay
from .helpers import ready_order, run_in_threads

pytestmark = pytest.mark.django_db


@pytest.fixture
def wxpay(settings):
    fake = FakeWeChatPay()
    fake.configure(settings)
    return fake


@pytest.fixture
def invoice(world):
    return invoice_issue(actor=world.manager, order=ready_order(world))


def post(client, headers, body):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post("/billing/wechatpay/notify/", body, content_type="application/json", **extra)


def start(invoice):
    """The installation-wide, notification-only path (no store merchant account: the page offers no way to pay and
    says so; the pending payment is made by the service, as an integration would)."""
    from aftersales.billing.services import online_payment_start

    page = Client().get(f"/billing/pay/{pay_link_token(invoice)}/")
    assert page.status_code == 200 and "¥403.00" in page.content.decode()
    assert 'data-testid="pay-none"' in page.content.decode()
    online_payment_start(invoice=invoice)
    return OnlinePayment.objects.get(invoice=invoice)


def test_customer_pays_online_and_the_notification_records_once(world, wxpay, invoice):
    online = start(invoice)
    assert online.amount == Decimal("403.00") and online.status == "pending"
    headers, body = wxpay.notification(out_trade_no=online.out_trade_no, transaction_id="4200002061202612011234567890", total_fen=40300)
    client = Client()
    for _retry in range(3):  # the platform retries until it is answered; every retry answers SUCCESS
        response = post(client, headers, body)
        assert response.status_code == 200 and response.json()["code"] == "SUCCESS"
    payment = Payment.objects.get()
    assert (payment.method, payment.amount, payment.reference) == ("online", Decimal("403.00"), "4200002061202612011234567890")
    invoice.refresh_from_db()
    online.refresh_from_db()
    assert invoice.status == "paid" and online.status == "paid" and online.payment == payment
    assert "¥0.00" in Client().get(f"/billing/pay/{pay_link_token(invoice)}/").content.decode()


@pytest.mark.parametrize("tamper", ["body", "signature", "stale", "serial", "api_key"])
def test_forged_or_replayed_notifications_are_refused(world, wxpay, invoice, tamper):
    online = start(invoice)
    kwargs = {"out_trade_no": online.out_trade_no, "transaction_id": "4200000001", "total_fen": 40300}
    if tamper == "stale":
        kwargs["timestamp"] = int(time.time()) - 3600
    if tamper == "api_key":
        kwargs["api_v3_key"] = "x" * 32
    headers, body = wxpay.notification(**kwargs)
    if tamper == "body":
        body = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCEZZ")
    if tamper == "signature":
        headers["Wechatpay-Signature"] = FakeWeChatPay().notification(**kwargs)[0]["Wechatpay-Signature"]
    if tamper == "serial":
        headers["Wechatpay-Serial"] = "0000"
    response = post(Client(), headers, body)
    assert response.status_code in (400, 401) and response.json()["code"] == "FAIL"
    assert not Payment.objects.exists()
    online.refresh_from_db()
    assert online.status == "pending"


def test_wrong_amount_is_rejected_not_recorded(world, wxpay, invoice):
    online = start(invoice)
    headers, body = wxpay.notification(out_trade_no=online.out_trade_no, transaction_id="4200000002", total_fen=100)
    assert post(Client(), headers, body).status_code == 200
    online.refresh_from_db()
    assert online.status == "rejected" and not Payment.objects.exists()


def test_paid_at_the_till_meanwhile_leaves_the_online_payment_to_refund(world, wxpay, invoice):
    online = start(invoice)
    payment_record(actor=world.staff["cashier"], invoice=invoice, method="cash", amount="403.00", idempotency_key="till")
    headers, body = wxpay.notification(out_trade_no=online.out_trade_no, transaction_id="4200000003", total_fen=40300)
    assert post(Client(), headers, body).status_code == 200
    online.refresh_from_db()
    assert online.status == "rejected" and online.note and Payment.objects.count() == 1


def test_pay_link_is_signed(world, wxpay, invoice):
    token = pay_link_token(invoice)
    assert Client().get(f"/billing/pay/{token}x/").status_code == 404
    other = signing.dumps({"invoice": invoice.pk}, salt="another.purpose")
    assert Client().get(f"/billing/pay/{other}/").status_code == 404
    assert not OnlinePayment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_notification_retries_record_one_payment(world, wxpay):
    invoice = invoice_issue(actor=world.manager, order=ready_order(world))
    online = start(invoice)
    headers, body = wxpay.notification(out_trade_no=online.out_trade_no, transaction_id="4200000004", total_fen=40300)

    def deliver():
        return post(Client(), headers, body).status_code

    assert run_in_threads(*[deliver for _ in range(5)]) == [200] * 5
    assert Payment.objects.count() == 1
    assert Invoice.objects.get(pk=invoice.pk).paid_amount == Decimal("403.00")


def test_the_pay_page_lets_its_forms_go_on_to_the_payment_platforms_and_nowhere_else(world, invoice, settings):
    """The pay form is answered with a redirect to WeChat's or Alipay's cashier, and Chromium holds that redirect to
    the page's form-action: the pay page (only it) names the platforms and the configured gateways."""
    settings.WECHATPAY_GATEWAY = "http://127.0.0.1:9911"
    pay = Client().get(f"/billing/pay/{pay_link_token(invoice)}/")["Content-Security-Policy"]
    form_action = next(p for p in pay.split(";") if p.strip().startswith("form-action")).split()
    assert {"'self'", "https://wx.tenpay.com", "https://openapi.alipay.com", "http://127.0.0.1:9911"} <= set(form_action)
    assert "script-src 'self'" in pay and "unsafe-eval" not in pay
    other = Client().get("/app/")["Content-Security-Policy"]
    assert "form-action 'self';" in other and "tenpay" not in other
