"""A person's path through the staff UI in headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import pytest

from aftersales.common.tests.factories import make_vin
from aftersales.customers.services import customer_create
from aftersales.vehicles.services import vehicle_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_find_by_plate_open_360(live_server, world, browser_page):
    page = browser_page
    customer = customer_create(actor=world.advisor, store=world.a, name="张伟", mobile="13812345678", title="mr")
    vehicle_create(actor=world.advisor, owner=customer, vin=make_vin(), plate="粤B12345", make="Toyota", model="Camry")
    advisor = world.advisor
    advisor.language = "zh-hans"
    advisor.save()

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("#id_username", advisor.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # zh-Hans is the default language for staff
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    page.fill("[data-testid=search-input]", "B12345")
    result = page.locator("[data-testid=search-result]").first
    result.wait_for()
    assert "张伟" in result.inner_text()
    result.click()

    page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")
    assert "张先生" in page.locator("[data-testid=customer-name]").inner_text()
    assert "粤B12345" in page.locator("[data-testid=vehicle]").first.inner_text()
    assert page.locator("[data-testid=customer-phone]").inner_text().strip() == "13812345678"

    # English is one click away
    page.click("[data-testid=lang-switch]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Mr 张" in page.locator("[data-testid=customer-name]").inner_text()


def test_staff_navigation_fits_a_phone(live_server, world, browser_page):
    """Issue 14 item 6: at 390 px every link of a manager's navigation is on screen (none cut off to the right)."""
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.manager.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    links = page.locator("header.top nav a")
    assert links.count() >= 8
    for n in range(links.count()):
        box = links.nth(n).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, links.nth(n).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
