"""The car owner on a 390 px phone takes a voucher and some points off the invoice on the pay page, then pays the
rest by WeChat Pay (H5) against the local fake: the cashier asks for the lower amount, the notification settles it
— headless Chromium (Debian's package)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from aftersales.billing.models import Invoice, Payment
from aftersales.billing.services import invoice_issue, merchant_account_save
from aftersales.billing.tests.helpers import ready_order
from aftersales.loyalty.models import Voucher
from aftersales.loyalty.services import points_adjust, voucher_issue
from aftersales.loyalty.tests.factories import template

from .test_browser_payments import PHONE, _sign_in, fakes  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"pay-loyalty-{name}.png"), full_page=True)


def test_owner_uses_a_voucher_and_points_then_pays_the_rest_by_wechat(live_server, world, browser_page, settings, fakes):  # noqa: F811
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    wechat, _alipay = fakes
    merchant_account_save(actor=world.manager, store=world.a, provider="wechat", data=wechat.merchant_fields())
    invoice = invoice_issue(actor=world.manager, order=ready_order(world))  # ¥403.00
    owner = invoice.customer
    points_adjust(actor=world.manager, customer=owner, store=world.a, points=8000, reason="welcome", idempotency_key="w1")
    voucher = voucher_issue(actor=world.manager, customer=owner, store=world.a, template=template(world.group), reason="gift")
    context = browser_page.context.browser.new_context(
        user_agent=PHONE, viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

    _sign_in(page, live_server.url, owner)
    page.goto(f"{live_server.url}/app/orders/{invoice.order_id}/pay/")
    page.wait_for_selector("[data-testid=pay-loyalty]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "¥403.00" in page.inner_text("[data-testid=pay-balance]")
    _shot(page, "1-options")

    page.check(f"[data-testid=voucher-{voucher.code}]")
    with page.expect_navigation():
        page.click("[data-testid=use-voucher]")
    page.wait_for_selector("[data-testid=applied-voucher]")
    assert "¥353.00" in page.inner_text("[data-testid=pay-balance]")
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"

    page.fill("[data-testid=points-input]", "5000")  # ¥50 at 100 points = ¥1
    with page.expect_navigation():
        page.click("[data-testid=use-points]")
    page.wait_for_selector("[data-testid=applied-points]")
    assert "¥303.00" in page.inner_text("[data-testid=pay-balance]")
    _shot(page, "2-applied")

    page.click("[data-testid=pay-wechat_h5]")
    page.wait_for_selector("[data-testid=fake-wechat-pay]")
    assert "303.00" in page.inner_text("[data-testid=fake-amount]")  # the cashier asks for what is left
    page.click("[data-testid=fake-wechat-pay]")
    page.wait_for_selector("[data-testid=pay-done]")
    _shot(page, "3-paid")
    paid = Invoice.objects.get(pk=invoice.pk)
    assert paid.status == "paid" and paid.paid_amount == Decimal("403.00")
    assert sorted(Payment.objects.filter(invoice=invoice).values_list("method", flat=True)) == ["online", "points", "voucher"]
    owner.refresh_from_db()
    assert owner.points_balance >= 3000  # 8000 − 5000, plus what the paid money earned
    context.close()
    assert not blocked, blocked
