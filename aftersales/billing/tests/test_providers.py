"""Online payment through the providers' client libraries (wechatpayv3, python-alipay-sdk) against local fakes that
speak their real protocols: signed requests verified by the fake, signed answers verified by the library, encrypted
and signed notifications verified by us; recorded once; the sweep settles a payment whose notification never came."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
from django.test import Client
from django.utils import timezone

from aftersales.billing.models import Invoice, MerchantAccount, OnlinePayment, Payment
from aftersales.billing.services import (
    merchant_account_save,
    online_payment_start,
    online_payment_sweep,
    pay_link_token,
    payment_record,
)
from aftersales.common.errors import Conflict, Forbidden, ValidationFailed

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
WECHAT = PHONE + " MicroMessenger/8.0.47"


def pay_url(invoice):
    return f"/billing/pay/{pay_link_token(invoice)}/"


def start(client, invoice, channel, agent=PHONE):
    return client.post(pay_url(invoice), {"channel": channel}, HTTP_USER_AGENT=agent)


def test_wechat_h5_prepay_is_signed_and_the_notification_records_once(world, accounts, wechat, invoice):
    client = Client()
    page = client.get(pay_url(invoice), HTTP_USER_AGENT=PHONE)
    assert 'data-testid="pay-wechat_h5"' in page.content.decode() and 'data-testid="pay-alipay_wap"' in page.content.decode()
    response = start(client, invoice, "wechat_h5")
    assert response.status_code == 302 and response["Location"].startswith(wechat.base + "/h5pay?")
    assert ("POST", "/v3/pay/transactions/h5", 200) in wechat.requests  # the fake verified the library's signature
    online = OnlinePayment.objects.get(invoice=invoice)
    assert online.channel == "wechat_h5" and online.merchant == accounts[0]
    assert wechat.orders[online.out_trade_no]["total"] == 40300
    headers, body = wechat.pay(online.out_trade_no, notify=False)
    notify = f"/billing/notify/wechat/{accounts[0].pk}/"
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    first = client.post(notify, body, content_type="application/json", **extra)
    assert first.status_code == 200 and first.json()["code"] == "SUCCESS"
    invoice.refresh_from_db()
    assert invoice.status == "paid" and Payment.objects.filter(invoice=invoice).count() == 1
    # the same notification again (the platform retries): nothing changes
    again = client.post(notify, body, content_type="application/json", **extra)
    assert again.status_code == 200 and Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_amount == invoice.total
    # the way back shows it paid
    back = client.get(pay_url(invoice) + f"?o={online.out_trade_no}", HTTP_USER_AGENT=PHONE)
    assert 'data-testid="pay-done"' in back.content.decode()


def test_forged_notifications_are_refused(world, accounts, wechat, alipay, invoice):
    client = Client()
    start(client, invoice, "wechat_h5")
    online = OnlinePayment.objects.get(invoice=invoice)
    headers, body = wechat.pay(online.out_trade_no, notify=False)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    tampered = body.replace(b'"summary"', b'"Summary"')
    notify = f"/billing/notify/wechat/{accounts[0].pk}/"
    assert client.post(notify, tampered, content_type="application/json", **extra).status_code == 401
    # the right signature, at another store's (here: the Alipay account's) address: not found
    assert client.post(f"/billing/notify/wechat/{accounts[1].pk}/", body, content_type="application/json",
                       **extra).status_code == 404
    old = wechat.notification(online.out_trade_no, timestamp=int(timezone.now().timestamp()) - 3600)
    stale = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in old[0].items()}
    assert client.post(notify, old[1], content_type="application/json", **stale).status_code == 401
    form = {"app_id": alipay.app_id, "out_trade_no": online.out_trade_no, "trade_no": "x", "total_amount": "403.00",
            "trade_status": "TRADE_SUCCESS", "sign_type": "RSA2", "sign": "Zm9yZ2Vk"}
    assert client.post(f"/billing/notify/alipay/{accounts[1].pk}/", form).status_code == 400
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_amount_mismatch_is_refused_and_nothing_recorded(world, accounts, wechat, invoice):
    client = Client()
    start(client, invoice, "wechat_h5")
    online = OnlinePayment.objects.get(invoice=invoice)
    headers, body = wechat.pay(online.out_trade_no, notify=False, total=100)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    client.post(f"/billing/notify/wechat/{accounts[0].pk}/", body, content_type="application/json", **extra)
    online.refresh_from_db()
    assert online.status == "rejected" and not Payment.objects.filter(invoice=invoice).exists()


def test_alipay_wap_prepay_notification_and_replay(world, accounts, alipay, invoice):
    client = Client()
    response = start(client, invoice, "alipay_wap")
    assert response.status_code == 302 and response["Location"].startswith(alipay.gateway + "?")
    cashier = urllib.request.urlopen(response["Location"]).read().decode()  # noqa: S310 (the local fake)
    assert "data-testid='fake-alipay-pay'" in cashier  # the fake verified the RSA2 request signature
    online = OnlinePayment.objects.get(invoice=invoice)
    form = alipay.pay(online.out_trade_no, notify=False)
    notify = f"/billing/notify/alipay/{accounts[1].pk}/"
    first = client.post(notify, form)
    assert first.status_code == 200 and first.content == b"success"
    assert client.post(notify, form).content == b"success"
    invoice.refresh_from_db()
    assert invoice.status == "paid" and Payment.objects.filter(invoice=invoice).count() == 1
    payment = Payment.objects.get(invoice=invoice)
    assert payment.method == "online" and payment.reference == form["trade_no"]


def test_native_qr_on_a_desktop_and_jsapi_inside_wechat(world, accounts, wechat, invoice):
    client = Client()
    page = start(client, invoice, "wechat_native", agent=DESKTOP)
    assert page.status_code == 200 and 'data-testid="pay-qr"' in page.content.decode() and "<svg" in page.content.decode()
    assert 'data-testid="pay-alipay_page"' not in page.content.decode()  # one pending payment at a time on the page
    invoice.customer.wechat_openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    invoice.customer.save(update_fields=["wechat_openid"])
    inside = start(client, invoice, "wechat_jsapi", agent=WECHAT)
    text = inside.content.decode()
    assert inside.status_code == 200 and 'id="wxpay-params"' in text and "paySign" in text
    assert ("POST", "/v3/pay/transactions/jsapi", 200) in wechat.requests


def test_bad_channel_and_unconfigured_store_are_named(world, wechat, invoice):
    client = Client()
    page = client.get(pay_url(invoice), HTTP_USER_AGENT=PHONE)
    assert 'data-testid="pay-none"' in page.content.decode()
    response = start(client, invoice, "bitcoin")
    assert response.status_code == 422 and 'data-field="channel"' in response.content.decode()
    with pytest.raises(Conflict) as err:
        online_payment_start(invoice=invoice, channel="wechat_h5", notify_url="http://x/", return_url="http://x/")
    assert err.value.code == "provider_not_configured"
    assert not OnlinePayment.objects.exists()


def test_sweep_settles_a_payment_whose_notification_never_came(world, accounts, wechat, alipay, invoice, clock):
    client = Client()
    start(client, invoice, "alipay_wap")
    online = OnlinePayment.objects.get(invoice=invoice)
    urllib.request.urlopen(online.pay_url).read()  # noqa: S310 (the payer opens Alipay's page: the trade exists)
    alipay.pay(online.out_trade_no, notify=False)  # paid, but the notification is lost
    assert online_payment_sweep() == {"asked": 0, "paid": 0, "closed": 0}  # still inside the grace period
    later = timezone.now() + dt.timedelta(minutes=2)
    assert online_payment_sweep(at=later) == {"asked": 1, "paid": 1, "closed": 0}
    assert online_payment_sweep(at=later + dt.timedelta(minutes=2)) == {"asked": 0, "paid": 0, "closed": 0}  # twice: same
    invoice.refresh_from_db()
    online.refresh_from_db()
    assert invoice.status == "paid" and online.status == "paid" and online.note == "query"
    assert Payment.objects.filter(invoice=invoice).count() == 1
    # the notification that finally arrives changes nothing
    client.post(f"/billing/notify/alipay/{accounts[1].pk}/", alipay.notification(online.out_trade_no))
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_sweep_closes_an_abandoned_payment_at_the_provider(world, accounts, wechat, invoice):
    client = Client()
    start(client, invoice, "wechat_h5")
    online = OnlinePayment.objects.get(invoice=invoice)
    assert online_payment_sweep(at=timezone.now() + dt.timedelta(minutes=5))["closed"] == 0  # may still be paid
    done = online_payment_sweep(at=timezone.now() + dt.timedelta(minutes=40))
    online.refresh_from_db()
    assert done["closed"] == 1 and online.status == "closed"
    assert wechat.orders[online.out_trade_no]["trade_state"] == "CLOSED"
    assert not Payment.objects.filter(invoice=invoice).exists()
    page = client.get(pay_url(invoice) + f"?o={online.out_trade_no}", HTTP_USER_AGENT=PHONE)
    assert 'data-testid="pay-closed"' in page.content.decode() and 'data-testid="pay-wechat_h5"' in page.content.decode()


def test_paid_at_the_till_meanwhile_leaves_the_online_payment_to_refund(world, accounts, wechat, invoice):
    client = Client()
    start(client, invoice, "wechat_h5")
    online = OnlinePayment.objects.get(invoice=invoice)
    payment_record(actor=world.manager, invoice=invoice, method="cash", amount=invoice.total, idempotency_key="till-1")
    online_payment_sweep(at=timezone.now() + dt.timedelta(minutes=2))  # nothing paid online yet
    wechat.pay(online.out_trade_no, notify=False)
    online_payment_sweep(at=timezone.now() + dt.timedelta(minutes=4))
    online.refresh_from_db()
    assert online.status == "rejected" and Payment.objects.filter(invoice=invoice).count() == 1
    assert Invoice.objects.get(pk=invoice.pk).paid_amount == invoice.total


def test_merchant_accounts_per_store_secrets_never_shown(world, wechat):
    bad = merchant_account_save
    with pytest.raises(ValidationFailed) as err:
        bad(actor=world.manager, store=world.a, provider="wechat", data={"app_id": "wx1", "api_v3_key": "short",
                                                                          "private_key": "nope"})
    errors = err.value.extra["errors"]
    assert {"merchant_id", "merchant_serial", "api_v3_key", "private_key", "platform_public_key",
            "platform_key_id"} <= set(errors)
    assert not MerchantAccount.objects.exists()
    with pytest.raises(Forbidden):
        merchant_account_save(actor=world.advisor, store=world.a, provider="wechat", data=wechat.merchant_fields())
    account = merchant_account_save(actor=world.manager, store=world.a, provider="wechat", data=wechat.merchant_fields())
    client = Client()
    client.force_login(world.manager)
    page = client.get(f"/billing/merchants/?store={world.a.pk}").content.decode()
    assert wechat.api_v3_key not in page and "PRIVATE KEY-----\n" not in page and 'data-testid="secret-set"' in page
    # saving again without the secrets keeps them
    fields = {**wechat.merchant_fields(), "private_key": "", "api_v3_key": ""}
    response = client.post("/billing/merchants/", {**fields, "store": world.a.pk, "provider": "wechat", "enabled": "on"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.api_v3_key == wechat.api_v3_key and "PRIVATE KEY" in account.private_key
    # another store's manager cannot see or change this store's account
    other = Client()
    other.force_login(world.manager_b)
    assert other.get(f"/billing/merchants/?store={world.a.pk}").status_code == 404
    bad_post = client.post("/billing/merchants/", {"store": world.a.pk, "provider": "wechat", "app_id": "",
                                                   "api_v3_key": "short"})
    assert bad_post.status_code == 422 and 'data-testid="error-api_v3_key"' in bad_post.content.decode()
