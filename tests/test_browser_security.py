"""Issue 13 on the screen, in headless Chromium: the store manager's token page offers only the colleagues they may
act for, and the admin site's sign-in refuses once the attempt limit is reached."""

from __future__ import annotations

import os

import pytest

from aftersales.common import throttle
from aftersales.common.tests.factories import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("AFTERSALES_SHOTS", "")


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def test_manager_token_page_offers_only_allowed_owners(live_server, world, browser_page):
    root = make_staff("group_admin", world.a, is_superuser=True, is_staff=True, username="root")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.manager.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/tokens/")
    options = page.eval_on_selector_all("#id_user option", "els => els.map(e => e.value)")
    assert str(world.advisor.pk) in options and str(world.manager.pk) in options
    assert str(root.pk) not in options and str(world.admin.pk) not in options
    assert str(world.technician.pk) not in options
    page.fill("#id_name", "DMS")
    page.select_option("#id_user", str(world.advisor.pk))
    page.click("form.card button")
    page.wait_for_selector("[data-testid=new-token]")
    _shot(page, "tokens-manager.png")


def test_admin_sign_in_says_wait_after_too_many_attempts(live_server, world, browser_page):
    make_staff("group_admin", world.a, is_superuser=True, is_staff=True, username="root")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    for n in range(throttle.LOGIN_FAILURES_PER_ACCOUNT + 1):
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "wrong" if n < throttle.LOGIN_FAILURES_PER_ACCOUNT else "pw-for-tests-123")
        page.click("input[type=submit]")
    assert "/admin/login/" in page.url
    text = page.inner_text(".errornote, .errorlist")
    assert "尝试次数过多" in text or "Too many attempts" in text  # and how many minutes to wait
    _shot(page, "admin-throttled.png")


def test_demo_banner_on_a_phone(live_server, world, browser_page, settings, tmp_path):
    from aftersales.common.demo_login import mark_demo_install

    settings.DATA_DIR = tmp_path
    mark_demo_install()
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}/login/")
    banner = page.locator("[data-testid=demo-banner]")
    assert banner.is_visible()
    box = banner.bounding_box()
    assert box is not None and box["width"] <= 390
    _shot(page, "demo-banner-phone.png")
