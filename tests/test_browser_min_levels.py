"""A parts clerk reads the suggested minimum levels at desk size (1280 px) and accepts one row and then the selected
ones; the stock items' minimums are what the reorder sweep uses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.analytics import parts_demand
from aftersales.analytics.tests import factories as f
from aftersales.common.tests.factories import make_staff
from aftersales.parts.models import StockItem, StockMovement
from aftersales.parts.tests.helpers_purchasing import make_part, stock_rule
from aftersales.staff.roles import Role, sync_roles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_parts_clerk_accepts_suggested_minimums(live_server, browser_page):
    sync_roles()
    store = f.store(name="广州店")
    clerk = make_staff(Role.PARTS_CLERK, store, language="zh-hans")
    today = timezone.localdate(timezone.now(), f.SH)
    items = []
    for n, per_day in enumerate((1, 2, 3)):
        item = stock_rule(store, make_part(store.group, f"P-{n}", name_en=f"Part {n}"), 1, 2, lead_time_days=3)
        for back in range(1, 15):  # two weeks of the same demand every day
            day = today - dt.timedelta(days=back)
            StockMovement.objects.create(store=store, part_id=item.part_id, stock_item=item, kind="issue",
                                         quantity=Decimal(-per_day), balance_after=0, at=f.at(day.isoformat(), "11:00"))
        items.append(item)
    assert parts_demand.compute_store(store) == 3

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/parts/reorder/")
    page.click("text=建议最低库存")
    page.wait_for_selector("[data-testid=suggestion-P-0]")
    assert page.locator("[data-testid^=suggestion-]").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # σ of a constant history is 0: the minimum is the demand of 3 + 1 days
    assert page.inner_text("[data-testid=suggestion-P-1] strong") == "8"
    page.click("[data-testid=accept-P-1]")
    page.wait_for_selector("[data-testid=suggestion-P-0]")
    assert page.locator("[data-testid=suggestion-P-1]").count() == 0
    assert StockItem.objects.get(pk=items[1].pk).min_qty == 8
    page.check("input[aria-label=P-0]")
    page.check("input[aria-label=P-2]")
    page.click("[data-testid=accept-selected]")
    page.wait_for_load_state()
    assert page.locator("[data-testid^=suggestion-]").count() == 0
    assert [StockItem.objects.get(pk=i.pk).min_qty for i in items] == [4, 8, 12]
    assert not errors
