"""Roadside rescue in headless Chromium: the owner asks for help on a 390 px phone with the phone's GPS, the
dispatcher sends the suggested tow truck from the board, the crew accepts on its phone and posts positions, the
owner sees the ETA fall, the car is towed to the store and checked in at reception."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from aftersales.rescue.models import RescueCase
from aftersales.rescue.tests.conftest import png, rescue  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"rescue-{name}.png"), full_page=True)


def _staff_login(page, base, user):
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _minutes(page) -> int:
    return int(re.search(r"(\d+)", page.inner_text("[data-testid=eta-minutes]")).group(1))


def test_owner_asks_dispatcher_sends_crew_moves_car_checked_in(live_server, rescue, browser_page, settings, tmp_path):  # noqa: F811
    from aftersales.messaging.models import Message

    r = rescue
    base = live_server.url
    browser = browser_page.context.browser

    # the owner, on a phone whose GPS says the car is at CAR
    owner_ctx = browser.new_context(viewport=PHONE, locale="zh-CN", geolocation={"latitude": 22.59, "longitude": 114.08},
                                    permissions=["geolocation"])
    owner = owner_ctx.new_page()
    owner.set_default_timeout(30_000)
    owner.goto(f"{base}/app/")
    owner.fill("[data-testid=mobile]", r.customer.mobile[3:])
    owner.click("[data-testid=send-code]")
    owner.wait_for_selector("[data-testid=code]")
    body = Message.objects.filter(kind="portal.sign_in_code").latest("id").body
    owner.fill("[data-testid=code]", re.search(r"\b(\d{6})\b", body).group(1))
    owner.click("[data-testid=verify]")
    owner.wait_for_selector("[data-testid=to-rescue]")
    owner.click("[data-testid=to-rescue]")
    owner.wait_for_selector("[data-testid=rescue-form]")
    owner.click("[data-testid=locate]")
    owner.wait_for_function("document.querySelector('[data-testid=located]').innerText.includes('✓')")
    owner.locator("label.slot", has=owner.locator("[data-testid=incident-accident]")).click()
    owner.locator("label.slot", has=owner.locator("[data-testid=drivable-no]")).click()
    owner.fill("[data-testid=description]", "高架上追尾，车头受损")
    assert owner.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(owner, "1-owner-request")
    owner.click("[data-testid=send-rescue]")
    owner.wait_for_selector("[data-testid=waiting]")
    case = RescueCase.objects.get()
    assert float(case.lat) == pytest.approx(22.59) and case.incident == "accident" and case.drivable is False
    _shot(owner, "2-owner-waiting")

    # the dispatcher at the desk: the board, the case, the suggested tow truck
    desk_ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    desk = desk_ctx.new_page()
    desk.set_default_timeout(30_000)
    _staff_login(desk, base, r.dispatcher)
    desk.click("[data-testid=nav-rescue]")
    desk.wait_for_selector("[data-testid=open-cases]")
    assert case.number in desk.inner_text("[data-testid=open-cases]")
    _shot(desk, "3-board")
    desk.click(f"text={case.number}")
    desk.wait_for_selector("[data-testid=suggestions]")
    _shot(desk, "4-case-suggestions")
    desk.click(f"[data-testid=dispatch-{r.tow.pk}]")
    desk.wait_for_selector(".messages")
    case.refresh_from_db()
    assert case.status == "dispatched" and desk.inner_text("[data-testid=case-status]") in ("已派车", "Unit dispatched")

    # the owner's page follows by itself (htmx polling): the ETA and the crew's first name
    owner.wait_for_selector("[data-testid=eta-minutes]", timeout=20_000)
    assert "伟" in owner.inner_text("[data-testid=crew-name]")
    first = _minutes(owner)

    # the crew on its phone: accept, then the test posts positions closer and closer
    crew_ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    crew = crew_ctx.new_page()
    crew.set_default_timeout(30_000)
    _staff_login(crew, base, r.crew)
    crew.goto(f"{base}/rescue/crew/")
    crew.wait_for_selector("[data-testid=crew-accept]")
    assert crew.get_attribute("[data-testid=navigate]", "href").startswith("geo:22.59")
    _shot(crew, "5-crew-job")
    crew.click("[data-testid=crew-accept]")
    crew.wait_for_selector("[data-testid=position-form]")
    for lat, lng in ((22.56, 114.065), (22.575, 114.072), (22.586, 114.078)):
        crew.fill("[data-testid=pos-lat]", str(lat))
        crew.fill("[data-testid=pos-lng]", str(lng))
        crew.click("[data-testid=post-position]")
        crew.wait_for_selector("[data-testid=crew-eta]")
    assert crew.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(crew, "6-crew-en-route")
    owner.wait_for_function(f"parseInt(document.querySelector('[data-testid=eta-minutes]').innerText.match(/\\d+/)[0]) < {first}",
                            timeout=25_000)
    assert _minutes(owner) < first
    owner.wait_for_selector("[data-testid=km-away]")
    # the unit approaching: a drawing of relative positions (inline SVG) with AMap / Baidu links, no map service
    owner.wait_for_selector("[data-testid=approach] svg [data-testid=approach-unit]")
    assert "coordinate=gaode" in owner.get_attribute("[data-testid=approach-amap]", "href")
    assert "coord_type=bd09ll" in owner.get_attribute("[data-testid=approach-baidu]", "href")
    assert owner.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(owner, "7-owner-eta-falls")

    # on scene, towed in
    crew.click("[data-testid=crew-on-scene]")
    crew.wait_for_selector("[data-testid=work-done]")
    photo = tmp_path / "front.jpg"
    photo.write_bytes(png(fmt="JPEG"))
    crew.set_input_files("[data-testid=crew-photo]", str(photo))
    crew.click("[data-testid=crew-photo-save]")
    crew.wait_for_selector(".photos img")
    # the crew is on scene: the owner's page no longer shows where the unit is
    owner.wait_for_function("!document.querySelector('[data-testid=approach]')", timeout=25_000)
    assert owner.query_selector("[data-testid=km-away]") is None
    _shot(owner, "7b-owner-on-scene")
    crew.fill("[data-testid=work-done]", "车头受损，拖回店内维修")
    crew.click("[data-testid=crew-tow]")
    crew.wait_for_selector("[data-testid=crew-at-store]")
    crew.click("[data-testid=crew-at-store]")
    crew.wait_for_selector("[data-testid=crew-status]")
    case.refresh_from_db()
    assert case.status == "at_store"

    # the dispatcher checks the car in: the reception's handover sheet opens without re-entry
    desk.goto(f"{base}/rescue/cases/{case.pk}/")
    desk.click("[data-testid=check-in]")
    desk.wait_for_url(re.compile(r"/reception/\d+/$"))
    case.refresh_from_db()
    assert case.status == "closed" and case.handover.vehicle_id == r.vehicle.pk
    assert "追尾" in case.handover.customer_words and case.handover.photos.count() == 1
    _shot(desk, "8-handover")

    # the manager's shift editor: a night shift for the van, across midnight
    manager_ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    manager = manager_ctx.new_page()
    manager.set_default_timeout(30_000)
    _staff_login(manager, base, r.world.manager)
    manager.goto(f"{base}/rescue/units/?store={r.store.pk}")
    manager.select_option("[data-testid=shift-editor] select[name=unit]", str(r.van.pk))
    manager.check("[data-testid=shift-editor] input[name=weekdays][value='4']")
    manager.fill("[data-testid=shift-editor] input[name=starts]", "22:00")
    manager.fill("[data-testid=shift-editor] input[name=ends]", "06:00")
    manager.check(f"[data-testid=shift-editor] input[name=shift_crew][value='{r.crew2.pk}']")
    manager.click("[data-testid=shift-save]")
    manager.wait_for_selector("text=22:00–06:00")
    _shot(manager, "9-units-shifts")

    # a connected car's severe alarm: a draft for the call centre at the top of the board
    from aftersales.rescue.services import telematics_draft_open

    draft = telematics_draft_open(alert_id=4242, vehicle_id=r.vehicle.pk, store_id=r.store.pk, kind="nev_alarm", severity="critical")
    desk.goto(f"{base}/rescue/?store={r.store.pk}")
    desk.wait_for_selector("[data-testid=telematics-drafts]")
    assert draft.number in desk.inner_text("[data-testid=telematics-drafts]")
    _shot(desk, "10-board-telematics-draft")
    desk.click(f"[data-testid=confirm-{draft.pk}]")
    desk.wait_for_selector("[data-testid=open-cases]")
    draft.refresh_from_db()
    assert draft.status == "requested"
    manager_ctx.close()
    for ctx in (owner_ctx, desk_ctx, crew_ctx):
        ctx.close()
