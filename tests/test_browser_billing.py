"""The cashier takes a split payment (bank card + WeChat Pay) and the advisor delivers the car through the
checklist, in headless Chromium (Debian's package)."""

from __future__ import annotations

import pytest

from aftersales.billing.models import Delivery, Invoice
from aftersales.billing.services import invoice_issue
from aftersales.billing.tests.helpers import ready_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base, user):
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_cashier_split_payment_then_delivery(live_server, world, browser_page):
    page = browser_page
    order = ready_order(world)
    invoice = invoice_issue(actor=world.advisor, order=order)

    login(page, live_server.url, world.staff["cashier"])
    page.click("[data-testid=nav-cashier]")
    row = page.locator("[data-testid=collect-row]", has_text=invoice.number)
    row.locator("[data-testid=take-payment]").click()
    page.wait_for_selector("[data-testid=payment-form]")
    page.select_option("#id_method", "card")
    page.fill("#id_amount", "250.00")
    page.fill("#id_reference", "POS 6222****1234")
    page.click("[data-testid=pay-submit]")
    page.wait_for_selector("[data-testid=payment-row]")
    assert "153.00" in page.locator("[data-testid=balance]").inner_text()
    # the rest by WeChat Pay, first forgetting the transaction number: the error names the field
    page.select_option("#id_method", "wechat_pay")
    page.fill("#id_amount", "153.00")
    page.click("[data-testid=pay-submit]")
    page.wait_for_selector("ul.errorlist[data-field=reference]")
    page.fill("#id_reference", "4200001234202612010000001")
    page.click("[data-testid=pay-submit]")
    page.wait_for_function("document.querySelectorAll('[data-testid=payment-row]').length == 2")
    assert "0.00" in page.locator("[data-testid=balance]").inner_text()
    assert "Paid" in page.locator("[data-testid=invoice-status]").inner_text()
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"

    page.context.clear_cookies()  # sign out
    login(page, live_server.url, world.advisor)
    page.goto(f"{live_server.url}/billing/orders/{order.pk}/")
    form = page.locator("[data-testid=delivery-form]")
    form.locator("#id_jobs_explained").check()
    form.locator("#id_parts_shown").check()
    form.locator("#id_warranty_explained").check()
    form.locator("#id_old_parts_handed_over").check()
    page.fill("#id_car_state", "已清洗")
    page.click("[data-testid=deliver-submit]")
    page.wait_for_selector("[data-testid=next-service]")
    assert "km" in page.locator("[data-testid=next-service]").inner_text()
    assert Delivery.objects.get(order=order).old_parts_handed_over
