"""A store manager works the deletion queue (refuses one request with a reason, applies another after confirming)
and builds a campaign with the segment and voucher pickers, in headless Chromium (Debian's package)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS") or Path(__file__).resolve().parent.parent / "var" / "screenshots")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_manager_refuses_one_request_and_applies_another(live_server, world, browser_page):
    from aftersales.customers.models import Customer
    from aftersales.portal.models import DeletionRequest
    from aftersales.portal.services import owner_deletion_request

    keep = CustomerFactory(group=world.group, home_store=world.a, name="欧阳娜娜")
    gone = CustomerFactory(group=world.group, home_store=world.a, name="司马光明")
    VehicleFactory(group=world.group, owner=gone, plate="粤B7Q2X9")
    owner_deletion_request(customer=keep, reason="不想收短信")
    owner_deletion_request(customer=gone, reason="卖车了")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, live_server, world.manager)
    page.goto(f"{live_server.url}/privacy/deletions/")
    keep_row = page.locator("[data-testid=deletion-row]", has_text="欧阳娜娜")
    keep_row.wait_for()
    _shot(page, "privacy-1-queue")
    keep_row.locator("[data-testid=deletion-refuse]").click()  # no reason: refused with the field named
    page.wait_for_selector("[data-testid=deletion-error]")
    _shot(page, "privacy-2-reason-needed")
    keep_row = page.locator("[data-testid=deletion-row]", has_text="欧阳娜娜")
    keep_row.locator("[data-testid=refuse-reason]").fill("维修纠纷尚在处理中")
    keep_row.locator("[data-testid=deletion-refuse]").click()
    page.wait_for_selector("[data-testid=deletions-done] >> text=维修纠纷尚在处理中")
    page.once("dialog", lambda dialog: dialog.accept())  # "this cannot be undone": confirmed
    page.locator("[data-testid=deletion-row]", has_text="司马光明").locator("[data-testid=deletion-apply]").click()
    page.wait_for_selector("[data-testid=deletions-open] >> text=司马光明", state="detached")
    _shot(page, "privacy-3-handled")
    assert DeletionRequest.objects.get(customer=keep).status == "refused"
    assert Customer.objects.get(pk=keep.pk).name == "欧阳娜娜"
    erased = Customer.objects.get(pk=gone.pk)
    assert erased.anonymised_at and erased.name == f"#{gone.pk:06d}"
    assert "司马光明" not in page.content()


def test_manager_picks_a_segment_and_a_voucher(live_server, world, browser_page):
    from aftersales.care.models import Playbook
    from aftersales.engagement.models import Segment
    from aftersales.loyalty.tests.factories import template

    Segment.objects.create(group=world.group, name="宝马车主", criteria={"make": "BMW"})
    Segment.objects.create(group=world.group, store=world.b, name="B 店专属", criteria={})
    voucher = template(world.group, "battery", name_zh="电瓶检测券", name_en="Battery check voucher")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, live_server, world.manager)
    page.goto(f"{live_server.url}/care/playbooks/new/?campaign=1&store={world.a.pk}")
    page.fill("[name=name]", "冬季电瓶")
    page.select_option("[name=trigger]", "scheduled")
    page.fill("[name=starts_at]", "2026-12-20T09:00")
    options = page.locator("[name=segment_id] option").all_inner_texts()
    assert "宝马车主" in options and "B 店专属" not in options
    page.select_option("[name=segment_id]", label="宝马车主")
    page.click("[data-testid=playbook-form] button[type=submit]")
    page.wait_for_selector("[data-testid=step-form]")
    campaign = Playbook.objects.get(name="冬季电瓶")
    assert campaign.segment_id == Segment.objects.get(name="宝马车主").pk
    assert page.input_value("[name=starts_at]") == "2026-12-20T09:00"  # the start time shows when edited
    assert page.locator("[name=segment_id] option:checked").inner_text() == "宝马车主"
    page.select_option("[data-testid=step-form] [name=kind]", "voucher")
    voucher_label = page.locator(f"[name=voucher_template_id] option[value='{voucher.pk}']").inner_text()
    page.select_option("[name=voucher_template_id]", label=voucher_label)
    page.click("[data-testid=step-form] button")
    page.wait_for_selector(f"[data-testid=steps] >> text={voucher_label}")
    _shot(page, "care-pickers")
    assert campaign.steps.filter(kind="voucher", voucher_template_id=voucher.pk).exists()
