"""A manager imports visit history (preview with row errors → import → progress polled until done) and builds a
segment whose count updates live, in headless Chromium (Debian's package)."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.common.tests.factories import CustomerFactory, make_vin
from aftersales.engagement.models import ImportedVisit, ImportJob
from aftersales.engagement.services import tier_recompute_all
from aftersales.engagement.tests.helpers import imported

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, user):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_history_import_preview_and_progress(live_server, world, browser_page, tmp_path):
    page = browser_page
    login(page, live_server, world.manager)
    vin = make_vin()
    path = tmp_path / "旧系统.csv"
    path.write_text(
        "日期,手机,姓名,车架号,车牌,品牌,车型,里程,实收金额,项目\n"
        f"2026-03-02,13800138001,张三,{vin},粤A12345,Toyota,Camry,12000,1500.00,保养\n"
        f"2026-06-10,13800138001,张三,{vin},粤A12345,Toyota,Camry,18000,3200.50,刹车片\n"
        "2026-06-11,138001,李四,,,Honda,Fit,,abc,\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/engagement/import/")
    page.set_input_files("#id_file", str(path))
    page.click("[data-testid=import-check]")
    page.wait_for_selector("[data-testid=import-preview]")
    assert page.inner_text("[data-testid=n-new]") == "2"
    assert page.inner_text("[data-testid=n-errors]") == "1"
    errors = page.inner_text("[data-testid=import-errors]")
    assert "4" in errors and "mobile" in errors and "amount" in errors  # row 4: the bad mobile and amount
    assert ImportedVisit.objects.count() == 0
    page.click("[data-testid=import-run]")
    page.wait_for_selector("[data-testid=import-progress][hx-trigger]")  # queued: the page polls
    job = ImportJob.objects.get()
    from aftersales.engagement.tasks import run_import

    run_import(job.pk)  # the worker's part
    page.wait_for_selector("[data-testid=import-progress][data-status=done]")
    assert "2" in page.inner_text("[data-testid=import-counts]")
    assert ImportedVisit.objects.count() == 2


def test_segment_builder_live_count(live_server, world, browser_page):
    page = browser_page
    for i in range(3):
        customer = CustomerFactory(home_store=world.a, name=f"忠诚{i}")
        for day in (dt.date(2026, 3, 1), dt.date(2026, 5, 1), dt.date(2026, 7, 1), dt.date(2026, 11, 1)):
            imported(customer, day, "4000" if i else "100")
    tier_recompute_all(as_of=dt.date(2026, 11, 20))
    login(page, live_server, world.manager)
    page.goto(f"{live_server.url}/engagement/segments/new/")
    page.check("input[name=tiers][value=A]")
    page.wait_for_selector("[data-testid=live-count]:text('2')")
    page.check("input[name=tiers][value=B]")
    page.wait_for_selector("[data-testid=live-count]:text('3')")
    page.fill("#id_name", "A+B")
    page.click("[data-testid=segment-save]")
    page.wait_for_selector("[data-testid=live-count]:text('3')")
    assert "/engagement/segments/" in page.url
