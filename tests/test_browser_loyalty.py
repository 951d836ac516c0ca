"""A manager opens a customer's 360 page, sees the points section load, issues a voucher and adjusts points there
(htmx, no page reload), in headless Chromium (Debian's package)."""

from __future__ import annotations

import pytest

from aftersales.customers.models import Customer
from aftersales.loyalty.models import Voucher
from aftersales.loyalty.services import points_adjust
from aftersales.loyalty.tests.factories import customer_at, template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_issues_a_voucher_from_the_360_page(live_server, world, browser_page):
    page = browser_page
    manager = world.manager
    zhang = customer_at(world.a, name="张伟")
    points_adjust(actor=manager, customer=zhang, store=world.a, points=1500, reason="开户赠送", idempotency_key="o")
    t = template(world.group, code="ac-free", name_zh="免费空调清洗", name_en="Free A/C cleaning", kind="free_item",
                 service_codes=["AC-CLEAN"])

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/customers/{zhang.pk}/")
    section = page.locator("[data-testid=loyalty-section]")
    section.wait_for()
    assert page.locator("[data-testid=points-balance]").inner_text() == "1,500"

    section.locator("summary", has_text="Issue a voucher").click()
    form = page.locator("[data-testid=issue-voucher-form]")
    form.locator("select[name=template]").select_option(str(t.pk))
    form.locator("input[name=reason]").fill("生日礼")
    form.locator("button").click()
    notice = page.locator("[data-testid=loyalty-notice]")
    notice.wait_for()
    voucher = Voucher.objects.get(customer=zhang)
    assert voucher.code in notice.inner_text()
    assert voucher.code in page.locator("[data-testid=voucher-table]").inner_text()
    assert voucher.issued_by_id == manager.pk and voucher.reason == "生日礼"

    # a refusal lands on the field, in place
    page.locator("[data-testid=loyalty-section] summary", has_text="Adjust points").click()
    adjust = page.locator("[data-testid=adjust-form]")
    adjust.locator("input[name=points]").fill("-2000")
    adjust.locator("input[name=reason]").fill("扣减")
    adjust.locator("button").click()
    page.locator("[data-testid=adjust-form] .errorlist[data-field=points]").wait_for()
    assert Customer.objects.get(pk=zhang.pk).points_balance == 1500
    adjust = page.locator("[data-testid=adjust-form]")
    adjust.locator("input[name=points]").fill("-500")
    adjust.locator("button").click()
    page.locator("[data-testid=points-balance]", has_text="1,000").wait_for()
    assert Customer.objects.get(pk=zhang.pk).points_balance == 1000
