"""A crash reported by a connected car, in headless Chromium at the dispatcher's desk (1280 px): the car's reading with
the crash flag opens a critical alert and at once a draft case at the car's last position; the board shows it at the
top ("From connected cars: call the owner") with the reason; the dispatcher confirms it and it waits for a unit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.rescue import services
from aftersales.rescue.choices import CaseStatus
from aftersales.rescue.models import RescueCase
from aftersales.rescue.tests.conftest import rescue  # noqa: F401 - the fixture
from aftersales.telematics.tests.conftest import tel  # noqa: F401 - the connected car

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
DESK = {"width": 1280, "height": 900}


def test_the_dispatcher_sees_and_confirms_a_crash_draft(live_server, rescue, tel, browser_page):  # noqa: F811
    r = rescue
    tel.send(1, gps={"lat": 22.561234, "lon": 114.071234}, speed_kmh=58)
    result = tel.send(2, crash=True, airbag=True, speed_kmh=0)
    assert {a.kind for a in result.opened} == {"crash", "airbag"}
    services.telematics_intake_sweep()  # (the handler ran on commit; the sweep is idempotent)
    case = RescueCase.objects.get(vehicle=tel.vehicle)
    assert case.status == CaseStatus.DRAFT and not case.approximate

    browser = browser_page.context.browser
    ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    desk = ctx.new_page()
    desk.set_default_timeout(120_000)
    desk.set_default_navigation_timeout(120_000)
    base = live_server.url
    desk.goto(f"{base}/login/")
    desk.fill("#id_username", r.dispatcher.username)
    desk.fill("#id_password", "pw-for-tests-123")
    desk.click("button[type=submit]")
    desk.wait_for_url(f"{base}/")
    desk.goto(f"{base}/rescue/?store={r.store.pk}")
    drafts = desk.wait_for_selector("[data-testid=telematics-drafts]")
    text = drafts.inner_text()
    assert case.number in text and tel.owner.mobile in text
    assert "检测到碰撞" in text or "crash detected" in text  # the draft's reason, in the page's language
    assert desk.evaluate("document.documentElement.scrollWidth") <= 1280
    SHOTS.mkdir(parents=True, exist_ok=True)
    desk.screenshot(path=str(SHOTS / "rescue-crash-1-board.png"), full_page=True)
    desk.click(f"[data-testid=confirm-{case.pk}]")
    desk.wait_for_selector("[data-testid=open-cases]")
    assert desk.query_selector("[data-testid=telematics-drafts]") is None
    case.refresh_from_db()
    assert case.status == CaseStatus.REQUESTED
    desk.screenshot(path=str(SHOTS / "rescue-crash-2-confirmed.png"), full_page=True)
    ctx.close()
