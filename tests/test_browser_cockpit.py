"""A store manager reads the cockpit at desk size: six headline numbers, trend charts drawn by ECharts from our own
static files, the period changed through htmx (charts disposed and redrawn, none leaked), a drill-down."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.analytics.tests import factories as f
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base, user):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_manager_reads_the_cockpit_and_changes_the_period(live_server, browser_page):
    sync_roles()
    store = f.store(name="广州店")
    manager = make_staff(Role.STORE_MANAGER, store, language="zh-hans")
    today = timezone.localdate(timezone.now(), f.SH)
    for back in range(3):  # answered follow-ups this month and the two before
        day = (today.replace(day=1) - dt.timedelta(days=31 * back)).replace(day=2)
        o = f.order(store, opened=f.at(day.isoformat(), "09:00"), delivered=f.at(day.isoformat(), "12:00"))
        f.invoice(o, total="400")
        f.followup(o, answered=f.at(day.isoformat(), "15:00"), overall=9 - 3 * (back == 1), recommend=10)

    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, live_server.url, manager)
    page.click("[data-testid=nav-cockpit]")
    page.wait_for_selector("[data-testid=chart-csat] canvas")
    tiles = page.locator("[data-testid=headline] .kpi-tile")
    assert tiles.count() == 6
    assert "100.0%" in page.inner_text("[data-testid=tile-csat]")
    assert "rag-green" in (page.get_attribute("[data-testid=tile-csat]", "class") or "")
    assert page.locator("[data-chart] canvas").count() == 6
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    page.select_option("[data-testid=period-select]", "quarter")
    page.wait_for_selector("[data-testid=period-label]:has-text('Q')")
    page.wait_for_selector("[data-testid=chart-csat] canvas")
    assert page.locator("[data-chart] canvas").count() == 6  # redrawn, and only once each
    live = page.evaluate("Array.from(document.querySelectorAll('[data-chart]')).filter(el => echarts.getInstanceByDom(el)).length")
    assert live == 6
    assert "period=quarter" in page.url

    page.click("[data-testid=tile-csat]")
    page.wait_for_selector("[data-testid=drill-table]")
    assert page.locator("[data-testid=drill-table] tbody tr").count() >= 1
    assert not errors


@pytest.fixture
def forecast_shop(transactional_db):
    """Eight weeks of history (busier on Saturdays), a bay and a technician on shift 4 h a day; made before the browser
    starts."""
    from aftersales.appointments.models import Bay, TechnicianShift
    from aftersales.stores.models import OpeningPeriod

    sync_roles()
    store = f.store(name="广州店")
    for wd in range(7):
        OpeningPeriod.objects.get_or_create(store=store, weekday=wd, defaults={"opens": dt.time(8), "closes": dt.time(18)})
    Bay.objects.create(store=store, name="A1")
    tech = make_staff(Role.TECHNICIAN, store)
    for wd in range(7):
        TechnicianShift.objects.create(store=store, user=tech, weekday=wd, start=dt.time(9), end=dt.time(13))
    manager = make_staff(Role.STORE_MANAGER, store, language="zh-hans", email="manager@example.com")
    today = timezone.localdate(timezone.now(), f.SH)
    c = f.customer(store)
    v = f.vehicle(c)
    for back in range(1, 57):
        day = today - dt.timedelta(days=back)
        for _ in range(3 if day.weekday() == 5 else 1):
            o = f.order(store, c, v, opened=f.at(day.isoformat(), "09:00"), status="checked_in")
            f.job(o, job_type="maintenance", standard_hours="2.0", status="authorized")
    return store, manager


def test_manager_reads_the_demand_forecast_and_subscribes_to_the_reviews(forecast_shop, live_server, browser_page, tmp_path):
    store, manager = forecast_shop
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, live_server.url, manager)
    page.click("[data-testid=nav-cockpit]")
    page.click("[data-testid=forecast-link]")
    page.wait_for_selector("[data-testid=forecast-chart] canvas")
    assert "需求预测" in page.inner_text("h1")
    assert page.locator("[data-testid=forecast-days] tbody tr").count() == 28
    assert page.locator("tr.over-capacity").count() >= 4  # the Saturdays: 6 h of work for 4 h on shift
    assert "季节性朴素法" in page.inner_text("[data-testid=backtest]") or "Holt-Winters" in page.inner_text("[data-testid=backtest]")
    page.select_option("#f-weeks", "8")
    page.click("[data-testid=forecast-form] button")
    page.wait_for_selector("[data-testid=forecast-chart] canvas")
    assert page.locator("[data-testid=forecast-days] tbody tr").count() == 56
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=str(tmp_path / "forecast.png"), full_page=True)

    page.goto(f"{live_server.url}/cockpit/")
    page.click("[data-testid=review-mailing-link]")
    page.check(f"input[form=sub-{store.pk}][name=monthly]")
    page.click(f"[data-testid=save-{store.pk}]")
    page.wait_for_selector(".messages")
    assert page.is_checked(f"input[form=sub-{store.pk}][name=monthly]")
    assert not page.is_checked(f"input[form=sub-{store.pk}][name=yearly]")
    page.screenshot(path=str(tmp_path / "review-mailing.png"), full_page=True)
    assert not errors


def test_manager_reads_the_scorecards_from_the_daily_facts(live_server, browser_page, tmp_path):
    """The quarter's scorecards at desk size (1280 px), read from the staff daily facts (past days) and today raw."""
    from aftersales.analytics import facts

    sync_roles()
    store = f.store(name="广州店")
    manager = make_staff(Role.STORE_MANAGER, store, language="zh-hans")
    adv = make_staff(Role.SERVICE_ADVISOR, store, display_name="顾问甲")
    tech = make_staff(Role.TECHNICIAN, store, display_name="技师一")
    now = timezone.now()
    today = timezone.localdate(now, f.SH)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    days = [quarter_start + dt.timedelta(days=i) for i in range((today - quarter_start).days)]
    for i, day in enumerate(days[-4:]):
        o = f.order(store, opened=f.at(day.isoformat(), "09:00"), delivered=f.at(day.isoformat(), "12:00"), advisor=adv)
        j = f.job(o)
        f.clock(j, tech, f.at(day.isoformat(), "09:20"), 60)
        inv = f.invoice(o, total="400")
        f.line(inv, o, j, kind="labour", amount="400", quantity="1")
        f.followup(o, answered=f.at(day.isoformat(), "15:00"), overall=9 if i % 2 else 7)
    facts.write_days(days, now=now, stores=[store])

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, live_server.url, manager)
    page.goto(f"{live_server.url}/cockpit/scorecards/?period=quarter")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "顾问甲" in text and "技师一" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=str(tmp_path / "scorecards-1280.png"), full_page=True)
    print("screenshot:", tmp_path / "scorecards-1280.png")
    assert not errors
