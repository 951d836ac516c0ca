"""The Content-Security-Policy holds on the screens people use (issue 13, item 8): the main staff pages, the owner
app (/app/) and the pages customers open from signed links load in headless Chromium without one CSP violation
on the console (``browser_page`` fails any browser test that logs one), and htmx still swaps content under it."""

from __future__ import annotations

import os

import pytest

from aftersales.estimates import services
from aftersales.estimates.tests.conftest import shop  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("AFTERSALES_SHOTS", "")

STAFF_PAGES = [
    "/", "/customers/", "/customers/new/", "/appointments/", "/appointments/week/", "/billing/cashier/", "/care/",
    "/care/playbooks/", "/inspections/", "/inspections/checklists/", "/inspections/qc/", "/workshop/board/",
    "/workshop/my-jobs/", "/orders/", "/parts/", "/feedback/", "/feedback/followups/", "/feedback/report/",
    "/cockpit/", "/cockpit/targets/", "/messages/", "/message-templates/", "/channel-settings/", "/tokens/",
    "/data-quality/", "/engagement/", "/loyalty/", "/reception/", "/admin/",
]


def _visit(page, url: str, name: str) -> int:
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"csp-{name}.png"), full_page=True)
    return response.status if response else 0


def test_staff_pages_owner_app_and_signed_links_keep_the_policy(live_server, world, shop, browser_page, settings):  # noqa: F811
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.oil_service)
    estimate = services.estimate_send(actor=world.advisor, order=shop.order, note="按时保养")
    world.manager.is_staff = world.manager.is_superuser = True
    world.manager.save(update_fields=["is_staff", "is_superuser"])
    page = browser_page

    # the customer's pages, from the links in their messages, on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    for name, url in (("approval", services.approval_url(estimate)), ("status", services.status_url(shop.order)),
                      ("app", f"{live_server.url}/app/")):
        assert _visit(page, url.replace("http://localhost:8000", live_server.url), name) == 200, url
    assert "content-security-policy" in page.goto(f"{live_server.url}/app/").all_headers()

    # staff at the desk
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.manager.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    for path in STAFF_PAGES:
        status = _visit(page, f"{live_server.url}{path}", path.strip("/").replace("/", "-") or "home")
        assert status < 500, (path, status)
    # htmx still works under the policy: the search box swaps results in without inline script
    page.goto(f"{live_server.url}/")
    box = page.locator("input[name=q]").first
    if box.count():
        box.fill(shop.customer.name[:2])
        page.wait_for_load_state("networkidle")
    assert page.csp_violations == []
