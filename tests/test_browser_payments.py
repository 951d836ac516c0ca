"""The car owner pays an invoice on a 390 px phone, in the owner app: WeChat Pay (H5) and Alipay (wap) against local
fakes that speak the providers' protocols; a replayed notification changes nothing; a lost notification is settled
by asking the provider; another owner's invoice is a 404 — headless Chromium (Debian's package)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aftersales.billing.models import Invoice, OnlinePayment, Payment
from aftersales.billing.services import invoice_issue, merchant_account_save
from aftersales.billing.tests.helpers import ready_order
from aftersales.billing.tests.provider_fakes import FakeAlipay, FakeWeChatPayV3
from aftersales.messaging.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.0 Mobile/15E148 Safari/604.1")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"pay-{name}.png"), full_page=True)


def _sign_in(page, base, customer):
    page.context.clear_cookies()
    page.goto(f"{base}/app/login/")
    page.fill("[data-testid=mobile]", customer.mobile[3:])
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code]")
    body = Message.objects.filter(kind="portal.sign_in_code", recipient=customer.mobile).latest("id").body
    page.fill("[data-testid=code]", re.search(r"\b(\d{6})\b", body).group(1))
    page.click("[data-testid=verify]")
    page.wait_for_selector("[data-testid=hello]")


@pytest.fixture
def fakes(settings):
    wechat, alipay = FakeWeChatPayV3().start(), FakeAlipay().start()
    settings.WECHATPAY_GATEWAY, settings.ALIPAY_GATEWAY = wechat.base, alipay.gateway
    yield wechat, alipay
    wechat.stop()
    alipay.stop()


def test_owner_pays_by_wechat_and_by_alipay_on_a_phone(live_server, world, browser_page, settings, fakes):
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    wechat, alipay = fakes
    merchant_account_save(actor=world.manager, store=world.a, provider="wechat", data=wechat.merchant_fields())
    merchant_account_save(actor=world.manager, store=world.a, provider="alipay", data=alipay.merchant_fields())
    first = invoice_issue(actor=world.manager, order=ready_order(world))
    second = invoice_issue(actor=world.manager, order=ready_order(world))
    context = browser_page.context.browser.new_context(
        user_agent=PHONE, viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)

    # 1. WeChat Pay (H5): the order page offers to pay, WeChat's cashier takes the money, the notification settles it
    _sign_in(page, live_server.url, first.customer)
    page.goto(f"{live_server.url}/app/orders/{first.order_id}/")
    page.click("[data-testid=pay-link]")
    page.wait_for_selector("[data-testid=pay-ways]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "¥403.00" in page.inner_text("[data-testid=pay-balance]")
    _shot(page, "1-ways")
    page.click("[data-testid=pay-wechat_h5]")
    page.wait_for_selector("[data-testid=fake-wechat-pay]")  # the fake verified our prepay request's signature
    assert "403.00" in page.inner_text("[data-testid=fake-amount]")
    page.click("[data-testid=fake-wechat-pay]")
    page.wait_for_selector("[data-testid=pay-done]")
    _shot(page, "2-wechat-paid")
    assert Invoice.objects.get(pk=first.pk).status == "paid"
    assert Payment.objects.filter(invoice=first).count() == 1
    headers, body, status = wechat.notifications[-1]
    assert status == 200

    # 2. the platform sends the same notification again: nothing changes
    from aftersales.billing.tests.provider_fakes import _Server

    assert _Server.post(wechat.orders[OnlinePayment.objects.get(invoice=first).out_trade_no]["notify_url"], body,
                        {**headers, "Content-Type": "application/json"}) == 200
    assert Payment.objects.filter(invoice=first).count() == 1

    # 3. another owner's invoice: not found
    response = page.goto(f"{live_server.url}/app/orders/{second.order_id}/pay/")
    assert response.status == 404

    # 4. Alipay (wap), with the notification lost on the way: the page asks Alipay on the way back and settles it
    alipay.drop_notifications = True
    _sign_in(page, live_server.url, second.customer)
    page.goto(f"{live_server.url}/app/orders/{second.order_id}/pay/")
    page.click("[data-testid=pay-alipay_wap]")
    page.wait_for_selector("[data-testid=fake-alipay-pay]")  # the fake verified the RSA2 signature of the request
    _shot(page, "3-alipay-cashier")
    page.click("[data-testid=fake-alipay-pay]")
    page.wait_for_selector("[data-testid=pay-done]")
    _shot(page, "4-alipay-paid")
    online = OnlinePayment.objects.get(invoice=second)
    assert online.status == "paid" and online.note == "query" and not alipay.notifications
    assert Invoice.objects.get(pk=second.pk).status == "paid"

    # 5. English, one tap away
    page.click("[data-testid=lang-switch]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert "Paid. Thank you!" in page.inner_text("[data-testid=pay-done]")
    assert page.locator("[data-testid=pay-ways]").count() == 0
    _shot(page, "5-english")
