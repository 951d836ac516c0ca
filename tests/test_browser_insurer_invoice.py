"""The insurer's invoice (issue 20, 保险直赔) in headless Chromium at desk size: the cashier issues the invoice of an
insured repair, the order's billing page shows the customer's invoice and the one to the insurer, the customer's
share is paid and the car delivered, the receivables list (from the cashier's nav) shows the open insurer invoice
with its age, the insurer's transfer is recorded (a bad amount first: named, nothing written) and it leaves the list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.assessments.tests.conftest import approved, shop  # noqa: F401 - the fixtures
from aftersales.billing.models import Invoice, Payment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
DESK = {"width": 1366, "height": 900}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"insurer-invoice-{name}.png"), full_page=True)


def test_cashier_bills_the_insurer_and_records_its_transfer(live_server, shop, approved, browser_page, settings):  # noqa: F811
    from aftersales.assessments.tests.test_insurer_invoice import _insured_ready

    s = shop
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    order = _insured_ready(s, approved)
    cashier = s.world.staff["cashier"]
    cashier.language = "zh-hans"
    cashier.save(update_fields=["language"])
    page = browser_page
    page.set_viewport_size(DESK)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", cashier.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(f"{base}/billing/orders/{order.pk}/")
    page.click("[data-testid=issue-invoice]")
    page.wait_for_selector("[data-testid=invoice-number]")
    customer_invoice = Invoice.objects.get(order=order)
    claim = Invoice.objects.get(claim_of=customer_invoice)
    page.goto(f"{base}/billing/orders/{order.pk}/")
    page.wait_for_selector("[data-testid=insurer-invoice-section]")
    assert page.inner_text("[data-testid=order-balance]") == "¥505.44"
    assert page.inner_text("[data-testid=insurer-invoice-total]") == "¥1,234.56"
    assert "中国人保财险" in page.inner_text("[data-testid=insurer-invoice-section]")
    _shot(page, "order-both-invoices")

    # the customer pays their share by WeChat Pay: the car can go home
    page.click("[data-testid=invoice-link]")
    page.select_option("#id_method", "wechat_pay")
    page.fill("#id_amount", "505.44")
    page.fill("#id_reference", "4200000001")
    page.click("[data-testid=pay-submit]")
    page.wait_for_selector("[data-testid=invoice-status]")
    customer_invoice.refresh_from_db()
    assert customer_invoice.status == "paid"

    # the receivables list from the cashier's nav
    page.goto(f"{base}/billing/cashier/?store={s.world.a.pk}")
    page.click("[data-testid=nav-receivables]")
    page.wait_for_selector("[data-testid=receivables]")
    assert page.locator("[data-testid=receivable-row]").count() == 1
    assert page.inner_text("[data-testid=receivable-balance]") == "¥1,234.56"
    assert page.inner_text("[data-testid=receivable-age]") == "0"
    _shot(page, "receivables")
    page.click(f"text={claim.number}")
    page.wait_for_selector("[data-testid=bill-to-insurer]")
    assert page.inner_text("[data-testid=claim-number]") == "RC-1"
    assert page.inner_text("[data-testid=policy-number]") == "PDAA202644010000012345"
    assert page.locator("[data-testid=loyalty-form]").count() == 0 and page.locator("[data-testid=pay-link]").count() == 0
    assert page.input_value("#id_method") == "transfer"

    # a bad amount: named on the form, nothing written
    page.fill("#id_amount", "2000")
    page.fill("#id_reference", "BK-20261207-1")
    page.click("[data-testid=pay-submit]")
    page.wait_for_selector("[data-testid=payment-form] .errorlist")
    assert "1234.56" in page.inner_text("[data-testid=payment-form]")
    assert not Payment.objects.filter(invoice=claim).exists()
    _shot(page, "bad-amount")
    # the insurer's transfer, part of it
    page.fill("#id_amount", "1000")
    page.fill("#id_reference", "BK-20261207-1")
    page.click("[data-testid=pay-submit]")
    page.wait_for_selector("[data-testid=payment-row]")
    assert page.inner_text("[data-testid=balance]") == "¥234.56"
    _shot(page, "insurer-invoice-part-paid")
    page.fill("#id_amount", "234.56")
    page.fill("#id_reference", "BK-20261207-2")
    page.click("[data-testid=pay-submit]")
    page.wait_for_function("document.querySelectorAll('[data-testid=payment-row]').length === 2")
    claim.refresh_from_db()
    assert claim.status == "paid" and claim.paid_amount == claim.total
    page.goto(f"{base}/billing/receivables/?store={s.world.a.pk}")
    assert page.locator("[data-testid=receivable-row]").count() == 0
    # both PDFs open
    for lang in ("zh-hans", "en"):
        r = page.request.get(f"{base}/billing/invoices/{claim.pk}/insurer/{lang}.pdf")
        assert r.status == 200 and r.body().startswith(b"%PDF")
