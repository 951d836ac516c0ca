"""Refunds through the payment platform: staff start one on the invoice page; WeChat Pay v3 answers PROCESSING and
its signed, encrypted REFUND.SUCCESS notification settles it (recorded once, a replay changes nothing); Alipay
answers at once; the sweep asks about a refund whose notification never came; never more than was paid."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from aftersales.billing.models import ProviderRefund, Refund
from aftersales.billing.services import online_refund_start, online_refund_sweep
from aftersales.common.errors import Forbidden, ValidationFailed

from .test_providers import start

pytestmark = pytest.mark.django_db


def _paid_online(client, invoice, fake, channel):
    import urllib.request

    from aftersales.billing.models import OnlinePayment
    from aftersales.billing.services import online_payment_check

    answer = start(client, invoice, channel)
    assert answer.status_code == 302
    if channel.startswith("alipay"):  # Alipay makes the trade when the payer opens its cashier
        urllib.request.urlopen(answer["Location"], timeout=15).read()  # noqa: S310 (the local fake)
    online = OnlinePayment.objects.get(invoice=invoice, channel=channel)
    fake.pay(online.out_trade_no, notify=False)
    online = online_payment_check(online=online)
    assert online.status == "paid"
    return online.payment


def test_wechat_refund_is_recorded_once_when_the_notification_comes(world, accounts, wechat, invoice):
    client = Client()
    payment = _paid_online(client, invoice, wechat, "wechat_h5")
    staff = Client()
    staff.force_login(world.manager)
    page = staff.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert 'data-testid="refund-online-form"' in page
    key = re.search(r'name="idempotency_key" value="([^"]+-o\d+)"', page).group(1)
    bad = staff.post(f"/billing/invoices/{invoice.pk}/refund-online/", {
        "payment": payment.pk, "amount": "99999", "reason": "", "idempotency_key": key})
    assert bad.status_code == 422 and not ProviderRefund.objects.exists()
    sent = staff.post(f"/billing/invoices/{invoice.pk}/refund-online/", {
        "payment": payment.pk, "amount": "100.00", "reason": "多收了", "idempotency_key": key})
    assert sent.status_code == 302
    request = ProviderRefund.objects.get()
    assert request.status == "pending" and not Refund.objects.exists()
    assert wechat.refunds[request.out_refund_no]["notify_url"].endswith(f"/billing/notify/wechat/{accounts[0].pk}/refund/")
    begin = online_refund_start
    assert begin(actor=world.manager, payment=payment, amount="100.00", reason="多收了", idempotency_key=key).pk == request.pk
    with pytest.raises(ValidationFailed):  # 100 is on its way: at most the rest
        begin(actor=world.manager, payment=payment, amount=str(payment.amount - Decimal("99.99")), reason="x",
              idempotency_key="k2")
    headers, body = wechat.refund_complete(request.out_refund_no, notify=False)
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    first = client.post(f"/billing/notify/wechat/{accounts[0].pk}/refund/", body, content_type="application/json", **meta)
    assert first.status_code == 200, first.content
    request.refresh_from_db()
    assert request.status == "succeeded" and request.refund.amount == Decimal("100.00")
    # a replay changes nothing
    replay = client.post(f"/billing/notify/wechat/{accounts[0].pk}/refund/", body, content_type="application/json", **meta)
    assert replay.status_code == 200 and Refund.objects.count() == 1
    # a forged one is refused
    forged = client.post(f"/billing/notify/wechat/{accounts[0].pk}/refund/", body.replace(b"refund", b"refunx"),
                         content_type="application/json", **meta)
    assert forged.status_code in (400, 401) and Refund.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.refunded_amount == Decimal("100.00")


def test_the_sweep_settles_a_refund_whose_notification_never_came(world, accounts, wechat, invoice, clock):
    import datetime as dt

    from django.utils import timezone

    payment = _paid_online(Client(), invoice, wechat, "wechat_h5")
    request = online_refund_start(actor=world.manager, payment=payment, amount="50.00", reason="x", idempotency_key="s1")
    wechat.refund_complete(request.out_refund_no, notify=False)
    assert online_refund_sweep(at=timezone.now() + dt.timedelta(minutes=2)) == 1
    request.refresh_from_db()
    assert request.status == "succeeded" and Refund.objects.count() == 1
    assert online_refund_sweep(at=timezone.now() + dt.timedelta(minutes=5)) == 0


def test_alipay_refunds_at_once_and_only_staff_of_the_store(world, accounts, alipay, invoice):
    payment = _paid_online(Client(), invoice, alipay, "alipay_wap")
    with pytest.raises(Forbidden):
        online_refund_start(actor=world.manager_b, payment=payment, amount="10.00", reason="x", idempotency_key="a0")
    request = online_refund_start(actor=world.manager, payment=payment, amount="10.00", reason="洗车未做", idempotency_key="a1")
    assert request.status == "succeeded" and request.refund.reference
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("10.00")
    with pytest.raises(ValidationFailed) as exc:
        online_refund_start(actor=world.manager, payment=payment, amount=str(payment.amount), reason="x", idempotency_key="a2")
    assert exc.value.field == "amount"


def test_a_till_payment_is_not_refunded_through_the_provider(world, invoice):
    from aftersales.billing.services import payment_record

    cash = payment_record(actor=world.manager, invoice=invoice, method="cash", amount="10.00", idempotency_key="c1")
    with pytest.raises(ValidationFailed) as exc:
        online_refund_start(actor=world.manager, payment=cash, amount="10.00", reason="x", idempotency_key="c2")
    assert exc.value.field == "payment"


def test_provider_refund_over_the_staff_api(world, accounts, alipay, invoice):
    from aftersales.common.tests.api_helpers import Api, assert_error

    payment = _paid_online(Client(), invoice, alipay, "alipay_wap")
    manager, other_store, technician = Api.session(world.manager), Api.session(world.manager_b), Api.session(world.technician)
    url = f"/api/billing/payments/{payment.pk}/provider-refunds"
    body = {"amount": "10.00", "reason": "洗车未做", "idempotency_key": "api-r1"}
    assert other_store.post(url, body).status_code == 404
    assert technician.post(url, body).status_code in (403, 404)
    bad = manager.post(url, {"amount": "-1", "reason": "", "idempotency_key": "api-r0"})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"amount", "reason"}
    first, again = manager.post(url, body), manager.post(url, body)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "succeeded" and first.json()["refund_id"]
    listed = manager.get(f"/api/billing/invoices/{invoice.pk}/provider-refunds")
    assert listed.status_code == 200 and [r["out_refund_no"] for r in listed.json()] == [first.json()["out_refund_no"]]
    assert other_store.get(f"/api/billing/invoices/{invoice.pk}/provider-refunds").status_code == 404
    assert Refund.objects.filter(payment=payment).count() == 1
    assert_error(manager.post(url, {**body, "idempotency_key": "api-r2", "amount": "99999"}), 422, None, "amount")
