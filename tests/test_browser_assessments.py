"""Damage assessment in headless Chromium: from the handover sheet the advisor opens an assessment, the crew takes
the standard angles on a 390 px phone, the assessor asks for suggestions, accepts one, changes one, taps a missed
panel on the car diagram, fills the insurance and approves: the repair order opens with the priced jobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.assessments.models import Assessment
from aftersales.assessments.tests.conftest import jpeg, shop  # noqa: F401 - the fixture
from aftersales.workshop.models import RepairJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"assessment-{name}.png"), full_page=True)


def _login(page, base, user, lang="zh-hans"):
    user.language = lang
    user.save(update_fields=["language"])
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_photos_to_suggestions_to_approved_repair_order(live_server, shop, browser_page, tmp_path):  # noqa: F811
    s = shop
    base = live_server.url
    desk = browser_page
    desk.set_viewport_size(DESK)
    desk.on("dialog", lambda d: d.accept())
    _login(desk, base, s.assessor)
    desk.goto(f"{base}/reception/{s.handover.pk}/")
    desk.click("[data-testid=assess-damage]")
    desk.wait_for_selector("[data-testid=car-diagram]")
    a = Assessment.objects.get()

    # the crew on its phone: the front and the front-left angles
    crew_ctx = desk.context.browser.new_context(viewport=PHONE, locale="zh-CN")
    crew = crew_ctx.new_page()
    crew.set_default_timeout(15_000)
    _login(crew, base, s.world.technician)
    crew.goto(f"{base}/assessments/{a.pk}/capture/")
    for n, angle in enumerate(["front", "front_left"]):
        path = tmp_path / f"{angle}.jpg"
        path.write_bytes(jpeg(n + 10))
        with crew.expect_navigation():
            crew.set_input_files(f"[data-testid=angle-{angle}] input[type=file]", str(path))
        crew.wait_for_selector(f"[data-testid=angle-{angle}].done")
    _shot(crew, "capture-phone")
    assert crew.evaluate("document.documentElement.scrollWidth") <= 390
    crew_ctx.close()

    # the assessor: suggestions from the marks, one accepted, one changed, a missed panel tapped
    desk.reload()
    desk.click("[data-testid=propose]")
    desk.wait_for_selector("[data-testid=accept-suggestion]")
    _shot(desk, "desk-suggestions")
    desk.locator("[data-testid=suggestion][data-panel=door_fl]").locator("[data-testid=accept-suggestion]").click()
    desk.wait_for_selector("[data-testid=finding-row]")
    bumper = desk.locator("[data-testid=suggestion][data-panel=front_bumper]")
    bumper.locator("select[name=severity]").select_option("severe")
    bumper.locator("text=修改后采纳").click()
    desk.wait_for_function("() => document.querySelectorAll('[data-testid=finding-row]').length === 2")
    desk.click("[data-testid=panel-bonnet]")
    assert desk.locator("[data-testid=add-panel]").input_value() == "bonnet"
    desk.select_option("[data-testid=add-damage]", "dent")
    desk.click("[data-testid=add-finding]")
    desk.wait_for_function("() => document.querySelectorAll('[data-testid=finding-row]').length === 3")
    desk.fill("[name=insurer]", "平安产险")
    desk.fill("[name=claim_number]", "RDAA2026440300001")
    desk.fill("[name=insurer_approved]", "1500")
    desk.click("[data-testid=save-insurance]")
    desk.wait_for_selector("text=保险信息已保存")
    _shot(desk, "desk-ready")
    desk.click("[data-testid=approve]")
    desk.wait_for_url(f"{base}/orders/**")
    a.refresh_from_db()
    assert a.status == "approved" and a.order_id and a.minutes is not None
    titles = list(RepairJob.objects.filter(order=a.order).order_by("seq").values_list("title", flat=True))
    assert len(titles) == 3 and any("更换" in t or "Replace" in t for t in titles), titles
    assert "前保险杠" in desk.content()
    _shot(desk, "order")
    desk.goto(f"{base}/assessments/{a.pk}/")
    desk.wait_for_selector("[data-testid=customer-share]")
    desk.goto(f"{base}/assessments/?status=approved")
    desk.wait_for_selector("[data-testid=time-figure]")
    _shot(desk, "list")
