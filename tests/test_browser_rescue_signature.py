"""The crew's phone page takes the customer's signature drawn on the canvas (issue 20), in headless Chromium at
390 px: the same signature pad as the handover sheet (reception/handover.js, pointer events, no inline script);
confirming an empty pad is refused with the message in the crew's language; the drawn signature is stored as a
PNG and shown on the crew's page and the dispatcher's case page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.rescue import services
from aftersales.rescue.models import RescueCase
from aftersales.rescue.tests.conftest import CAR, rescue  # noqa: F401 - the fixture

from .test_browser_reception import sign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
PHONE = {"width": 390, "height": 844}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"rescue-signature-{name}.png"), full_page=True)


def _login(page, base, user, lang):
    user.language = lang
    user.save(update_fields=["language"])
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_crew_takes_a_drawn_signature_on_a_phone(live_server, rescue, browser_page, settings, tmp_path, lang):  # noqa: F811
    r = rescue
    settings.MEDIA_ROOT = str(tmp_path)
    case = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=CAR[0], lng=CAR[1],
                                vehicle=r.vehicle, caller_name="张伟")
    services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    services.case_crew_accept(actor=r.crew, case=case)
    services.case_on_scene(actor=r.crew, case=case, lat=CAR[0], lng=CAR[1])
    base = live_server.url
    page = browser_page
    page.set_viewport_size(PHONE)
    _login(page, base, r.crew, lang)
    page.goto(f"{base}/rescue/crew/{case.pk}/")
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
    box = pad.bounding_box()
    assert box["width"] >= 300  # a usable pad across the phone's width

    # an empty pad: refused before anything is sent, in the crew's language
    page.click("[data-testid=sign]")
    message = page.locator("[data-empty-message]")
    message.wait_for(state="visible")
    expected = "请先在框内签名再确认。" if lang == "zh-hans" else "Please sign in the box before confirming."
    assert message.inner_text() == expected
    case.refresh_from_db()
    assert case.signed_at is None

    # drawn with the mouse (pointer events), cleared, drawn again, confirmed
    sign(page)
    page.click("[data-clear]")
    sign(page)
    _shot(page, f"drawn-{lang}")
    page.click("[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed]")
    case = RescueCase.objects.get(pk=case.pk)
    assert case.signed_at is not None and case.signer_name == "张伟"
    content = case.signature.read()
    assert content.startswith(b"\x89PNG")
    assert page.locator("[data-testid=signature-image]").is_visible()
    _shot(page, f"signed-{lang}")

    # the dispatcher's case page shows it
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1366, "height": 900})
    _login(page, base, r.dispatcher, lang)
    page.goto(f"{base}/rescue/cases/{case.pk}/")
    page.wait_for_selector("[data-testid=case-signature]")
    img = page.locator("[data-testid=case-signature] img")
    assert page.evaluate("(el) => el.complete && el.naturalWidth > 0", img.element_handle())
    assert "张伟" in page.inner_text("[data-testid=case-signature]")
